"""The Python bindings on the shared reference cases (../shared/data; skipped when absent):
bitwise identical to the CLI's --dtype f8 frames, and within the engine's tolerances of
the specter and gpu_specter references (tests/test_extract_reference.cpp's criteria)."""

import json

import numpy as np
import pytest

import libextract
from conftest import assert_bitwise_equal, read_frame_astropy, read_preproc_astropy, run_cli, shared_data_dir

DATA = shared_data_dir()
PSF = DATA / "psf-r0-00051060.fits"

# (folder, reference file, compat, bundlesize, decorrelate_fibers), as the C++ reference test.
CASES = [
    ("case-small", "gpu_specter", "gpu_specter", 5, False),
    ("case-small", "specter", "specter", 25, False),
    ("case-bundle", "gpu_specter", "gpu_specter", 25, False),
    ("case-bundle", "specter", "specter", 25, False),
    ("case-decorr", "gpu_specter-ndecorr", "gpu_specter", 5, True),
    ("case-decorr", "specter-ndecorr", "specter", 25, True),
]
IDS = [f"{c[0]}/{c[1]}" for c in CASES]

pytestmark = pytest.mark.skipif(not PSF.exists(), reason=f"shared reference data not found in {DATA}")

EPS = 2.220446049250313e-16


@pytest.fixture(scope="module")
def psf():
    return libextract.Psf(PSF)


_images = {}


def preproc(folder):
    """IMAGE and IVAR of a case as astropy gives them (big-endian float32), read once
    (3 cases x 2 x 68 MB)."""
    if folder not in _images:
        _images[folder] = read_preproc_astropy(DATA / folder / "preproc.fits.gz")
    return _images[folder]


def read_reference(path):
    from astropy.io import fits

    with fits.open(path, memmap=False) as h:
        ref = {k: np.array(h[k].data, dtype=np.float64) for k in
               ("FLUX", "IVAR", "WAVELENGTH", "RESOLUTION", "CHI2PIX", "PIXMASK_FRACTION", "MODEL")}
        ref["MODEL_RECT"] = tuple(h["MODEL"].header[k] for k in ("XMIN", "XMAX", "YMIN", "YMAX"))
    return ref


def truth_pull(wave, flux, ivar, res, pmf, truth_wave, truth_flux):
    """(mean, std, count) of (FLUX - R·truth)·sqrt(IVAR), as the data README defines it."""
    nspec, nd, nwave = res.shape
    ndiag = nd // 2
    dw = wave[1] - wave[0]
    offset = int(round((wave[0] - truth_wave[0]) / dw))
    pulls = []
    for s in range(nspec):
        t = truth_flux[s, offset:offset + nwave]
        for i in range(ndiag, nwave - ndiag):
            if not (ivar[s, i] > 0 and pmf[s, i] < 0.5):
                continue
            conv = sum(res[s, d, i - d + ndiag] * t[i - d + ndiag] for d in range(nd))
            pulls.append((flux[s, i] - conv) * np.sqrt(ivar[s, i]))
    pulls = np.array(pulls)
    return pulls.mean(), pulls.std(), len(pulls)


@pytest.mark.parametrize("folder, reference, compat, bundlesize, decorrelate", CASES, ids=IDS)
def test_matches_reference_at_engine_tolerances(psf, folder, reference, compat, bundlesize, decorrelate):
    ref_path = DATA / folder / f"{reference}.fits.gz"
    if not ref_path.exists():
        pytest.skip(f"{ref_path} not found")
    ref = read_reference(ref_path)
    image, ivar = preproc(folder)
    r = libextract.extract(image, ivar, psf, ref["WAVELENGTH"], nspec=ref["FLUX"].shape[0], bundlesize=bundlesize,
                           nsubbundles=5, compat=compat, decorrelate_fibers=decorrelate, model=True, backend="cpu",
                           diagnostics=True)
    d = r["diagnostics"]
    # Condition number of the patch that stored each bin: 1e-10 holds for kappa <= 1e6;
    # beyond, both codes' rounding is amplified by kappa (extraction-spec §7.3), so those
    # bins are compared in pull units and ivar/R within kappa·eps.
    kappa = np.zeros(r["specflux"].shape)
    for lo, hi, wlo, whi, rc in zip(d["patch_fiber_lo"], d["patch_fiber_hi"], d["patch_wave_lo"], d["patch_wave_hi"],
                                    d["patch_rcond"]):
        kappa[lo:hi, wlo:whi] = 1.0 / rc
    well = kappa <= 1e6
    flux_rel = np.abs(r["specflux"] - ref["FLUX"]) / np.abs(ref["FLUX"])
    ivar_rel = np.abs(r["specivar"] - ref["IVAR"]) / np.abs(ref["IVAR"])
    r_abs = np.abs(r["Rdiags"] - ref["RESOLUTION"]).max(axis=1)
    chi2_rel = np.abs(r["chi2pix"] - ref["CHI2PIX"]) / np.abs(ref["CHI2PIX"])
    pmf_abs = np.abs(r["pixmask_fraction"] - ref["PIXMASK_FRACTION"])
    assert flux_rel[well].max(initial=0) <= 1e-10
    assert ivar_rel[well].max(initial=0) <= 1e-10
    assert r_abs[well].max(initial=0) <= 1e-12
    assert chi2_rel.max() <= 1e-10
    assert pmf_abs.max() <= 1e-14
    ill = ~well
    if ill.any():
        pull = np.abs(r["specflux"] - ref["FLUX"]) * np.sqrt(1.0 / (1.0 / r["specivar"] + 1.0 / ref["IVAR"]))
        assert pull[ill].max() <= 1e-5
        assert np.all(ivar_rel[ill] <= kappa[ill] * EPS)
        assert np.all(r_abs[ill] <= kappa[ill] * EPS)
    x0, x1, y0, y1 = ref["MODEL_RECT"]
    model = r["modelimage"][y0:y1, x0:x1]
    assert np.abs(model - ref["MODEL"]).max() / np.abs(ref["MODEL"]).max() <= 1e-10

    from astropy.io import fits

    with fits.open(DATA / folder / "truth.fits.gz", memmap=False) as h:
        twave = np.array(h["WAVELENGTH"].data, dtype=np.float64)
        tflux = np.array(h["FLUX"].data, dtype=np.float64)
    ours = truth_pull(r["wave"], r["specflux"], r["specivar"], r["Rdiags"], r["pixmask_fraction"], twave, tflux)
    theirs = truth_pull(ref["WAVELENGTH"], ref["FLUX"], ref["IVAR"], ref["RESOLUTION"], ref["PIXMASK_FRACTION"],
                        twave, tflux)
    assert ours[2] == theirs[2]
    assert abs(ours[0] - theirs[0]) <= 0.01 and abs(ours[1] - theirs[1]) <= 0.01


# The CLI comparison: each compat mode, the bundle case and the decorrelation option.
CLI_CASES = [CASES[0], CASES[1], CASES[2], CASES[4]]


@pytest.mark.parametrize("folder, reference, compat, bundlesize, decorrelate", CLI_CASES,
                         ids=[f"{c[0]}/{c[1]}" for c in CLI_CASES])
def test_bitwise_identical_to_cli(psf, tmp_path, folder, reference, compat, bundlesize, decorrelate):
    case = json.loads((DATA / folder / "case.json").read_text())
    grid, nspec = case["wave"], case["nspec"]
    frame = tmp_path / "frame.fits"
    model = tmp_path / "model.fits"
    cmd = ["extract", "-i", DATA / folder / "preproc.fits.gz", "-p", PSF, "-o", frame, "-m", model, "-w", grid,
           "-n", nspec, "--bundlesize", bundlesize, "--compat", compat, "--dtype", "f8", "-q"]
    if decorrelate:
        cmd.append("--decorrelate-fibers")
    run_cli(*cmd)
    image, ivar = preproc(folder)
    r = libextract.extract(image, ivar, psf, grid, nspec=nspec, bundlesize=bundlesize, compat=compat,
                           decorrelate_fibers=decorrelate, model=True)
    assert_bitwise_equal(r, read_frame_astropy(frame))
    from astropy.io import fits

    assert_bitwise_equal({"modelimage": r["modelimage"]}, {"modelimage": fits.getdata(model)})
