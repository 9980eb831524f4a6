"""The Python API on a synthetic PSF and simulated images (no external data needed):
dict layout, array conventions, bitwise agreement with the CLI, errors, the GIL."""

import os
import pathlib
import re
import threading
import time
import warnings

import numpy as np
import pytest

import libextract
from conftest import (SYNTH_GRID, SYNTH_NSPEC, REPO, assert_bitwise_equal, cli_path, read_frame_astropy,
                      read_preproc_astropy, run_cli)

GPU_SPECTER_KEYS = {"wave", "specflux", "specivar", "specmask", "Rdiags", "chi2pix", "pixmask_fraction", "modelimage"}


# ------------------------------------------------------------------------- package


def test_version_matches_cpp_library():
    from libextract import _libextract

    assert libextract.__version__ == _libextract.__version__
    # PEP 440: X.Y.Z from an sdist, X.Y.Z+g<commit>[.dirty] built from git.
    m = re.fullmatch(r"(\d+\.\d+\.\d+)(\+g[0-9a-f]{4,40}(\.dirty)?)?", libextract.__version__)
    assert m, libextract.__version__
    cmake = REPO / "CMakeLists.txt"
    if cmake.exists():  # the source tree's project(VERSION), which config.hpp is made from
        version = re.search(r"project\(libextract VERSION ([0-9.]+)", cmake.read_text()).group(1)
        assert m.group(1) == version
    if (REPO / ".git").exists():
        assert m.group(2), f"built from git but {libextract.__version__} names no commit"


def test_every_public_function_has_a_docstring():
    for name in libextract.__all__:
        obj = getattr(libextract, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__) > 40, name
    for name in dir(libextract.Psf):
        if not name.startswith("_"):
            assert getattr(libextract.Psf, name).__doc__, name


# ------------------------------------------------------------------------- Psf


def test_psf_properties(synth_psf):
    assert synth_psf.nspec == 50
    assert (synth_psf.npix_y, synth_psf.npix_x) == (4128, 4114)
    assert synth_psf.wavemin < 5760 < 7600 < synth_psf.wavemax
    assert synth_psf.psferr == 0.01
    assert "GHSIGX" in synth_psf.param_names
    assert "50 fibres" in repr(synth_psf)


def test_psf_evaluation_is_vectorised(synth_psf):
    waves = np.linspace(5800.0, 7500.0, 7)
    x = synth_psf.x(3, waves)
    assert x.shape == (7,)
    assert x[2] == synth_psf.x(3, waves[2])  # scalar in, float out, same value
    assert isinstance(synth_psf.y(3, 6000.0), float)
    grid = synth_psf.y(np.arange(4)[:, None], waves)  # numpy broadcasting
    assert grid.shape == (4, 7)
    assert np.array_equal(synth_psf.y(None, waves)[:4], grid)  # None: every fibre
    y = synth_psf.y([0, 1], [6000.0, 7000.0])
    back = synth_psf.wavelength([0, 1], y)
    assert np.allclose(back, [6000.0, 7000.0], atol=1e-6)
    assert synth_psf.wavemin_fiber(None).shape == (50,)
    assert synth_psf.param("GHSIGX", 0, 6000.0) > 0
    assert synth_psf.wdisp(0, 6000.0) > 0


def test_psf_spots(synth_psf):
    stamps, origins, shapes = synth_psf.spots([0, 1, 2], 6000.0, return_shapes=True)
    ny, nx = 2 * synth_psf.hsize_y + 1, 2 * synth_psf.hsize_x + 1
    assert stamps.shape == (3, ny, nx) and origins.shape == (3, 2) and shapes.shape == (3, 2)
    assert np.allclose(stamps.sum(axis=(1, 2)), 1.0, atol=1e-12)  # full stamps sum to 1
    y0, x0 = origins[1]
    assert abs(y0 + synth_psf.hsize_y - synth_psf.y(1, 6000.0)) <= 1.0
    assert abs(x0 + synth_psf.hsize_x - synth_psf.x(1, 6000.0)) <= 1.0
    single, origin = synth_psf.spots(4, 6500.0, compat="gpu_specter")
    assert single.shape == (ny, nx) and origin.shape == (2,)
    empty, origin = synth_psf.spots(0, 1000.0)  # outside the fibre's range: empty stamp
    assert not empty.any() and tuple(origin) == (-1, -1)


def test_psf_errors(synth_psf, tmp_path):
    with pytest.raises(ValueError, match="fiber"):
        synth_psf.x(50, 6000.0)
    with pytest.raises(ValueError, match="fiber"):
        synth_psf.y([-1, 0], 6000.0)
    with pytest.raises(TypeError, match="fiber"):
        synth_psf.x(1.5, 6000.0)
    with pytest.raises(TypeError, match="wavelength"):
        synth_psf.x(0, "6000")
    with pytest.raises(ValueError, match="name"):
        synth_psf.param("NOPE", 0, 6000.0)
    with pytest.raises(ValueError, match="compat"):
        synth_psf.spots(0, 6000.0, compat="desi")
    with pytest.raises(ValueError, match="waves"):
        synth_psf.spots(0, np.nan)
    with pytest.raises(TypeError, match="path"):
        libextract.Psf(3)
    with pytest.raises(libextract.Error) as err:
        libextract.Psf(tmp_path / "missing.fits")
    assert err.value.code == "io_error" and "missing.fits" in err.value.message
    notpsf = tmp_path / "not-a-psf.fits"
    notpsf.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    with pytest.raises(libextract.Error) as err:
        libextract.Psf(notpsf)
    assert err.value.code in ("io_error", "format_error")


# ------------------------------------------------------------------------- extract


def test_extract_dict_layout(synth_result, synth_psf):
    r = synth_result
    assert set(r) == GPU_SPECTER_KEYS
    nwave = len(np.arange(5760.0, 5919.2 + 0.4, 0.8))
    assert r["wave"].shape == (nwave,) and r["wave"].dtype == np.float64
    for key in ("specflux", "specivar", "chi2pix", "pixmask_fraction"):
        assert r[key].shape == (SYNTH_NSPEC, nwave) and r[key].dtype == np.float64, key
        assert r[key].flags["C_CONTIGUOUS"] and r[key].flags["OWNDATA"] is False  # owns the C++ buffer
    assert r["specmask"].shape == (SYNTH_NSPEC, nwave) and r["specmask"].dtype == np.uint32
    nd = r["Rdiags"].shape[1]
    assert r["Rdiags"].shape == (SYNTH_NSPEC, nd, nwave) and nd % 2 == 1
    assert r["modelimage"].shape == (synth_psf.npix_y, synth_psf.npix_x)
    assert np.all(r["specivar"] > 0) and np.all(np.isfinite(r["specflux"]))
    # Rows of R sum to 1 (stored columns do not): check the interior through the band.
    R = r["Rdiags"][0]
    k = nwave // 2
    assert abs(sum(R[d, k + nd // 2 - d] for d in range(nd)) - 1.0) < 1e-4  # the band drops far tails


def test_extract_without_model_and_default_nspec(synth_psf, synth_image):
    r = libextract.extract(synth_image["image"], synth_image["ivar"], synth_psf, (5760.0, 5799.2, 0.8), specmin=0,
                           nspec=None, bundlesize=25, nsubbundles=5, nwavestep=25)
    assert r["modelimage"] is None
    assert r["specflux"].shape == (synth_psf.nspec, 50)  # nspec None: to the PSF's last fibre


def test_extract_diagnostics(synth_psf, synth_image):
    r = libextract.extract(synth_image["image"], synth_image["ivar"], synth_psf, SYNTH_GRID, nspec=SYNTH_NSPEC,
                           bundlesize=5, diagnostics=True)
    d = r.pop("diagnostics")
    assert set(r) == GPU_SPECTER_KEYS
    assert d["patches"] == len(d["patch_rcond"]) > 0 and d["failed_patches"] == 0
    assert {s["name"] for s in d["stages"]} >= {"spots", "solve"}
    assert np.all(d["patch_rcond"] > 0)


def _variants(a):
    """The same values as float64 C, Fortran, big-endian, strided and read-only arrays."""
    f = np.asfortranarray(a)
    big = a.astype(">f8")
    wide = np.zeros((a.shape[0], 2 * a.shape[1]), dtype=a.dtype)
    wide[:, ::2] = a
    ro = a.copy()
    ro.flags.writeable = False
    return {"fortran": f, "big-endian": big, "strided": wide[:, ::2], "read-only": ro}


def test_array_layouts_and_byte_orders_give_identical_results(synth_psf, synth_image):
    # float32 values (as in preproc files), so the float32 variants hold them exactly
    image = synth_image["image"].astype(np.float32).astype(np.float64)
    ivar = synth_image["ivar"].astype(np.float32).astype(np.float64)
    kw = dict(nspec=SYNTH_NSPEC, bundlesize=5, model=True)
    ref = libextract.extract(image, ivar, synth_psf, SYNTH_GRID, **kw)
    variants = {"float32": (image.astype(np.float32), ivar.astype(np.float32)),
                "float32 big-endian Fortran": (np.asfortranarray(image.astype(">f4")),
                                               np.asfortranarray(ivar.astype(">f4")))}
    iv = _variants(ivar)
    for name, a in _variants(image).items():
        variants[name] = (a, iv[name])
    for name, (a, b) in variants.items():
        r = libextract.extract(a, b, synth_psf, SYNTH_GRID, **kw)
        try:
            assert_bitwise_equal(r, ref)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def test_results_do_not_depend_on_threads_or_batches(synth_psf, synth_image, synth_result):
    args = (synth_image["image"], synth_image["ivar"], synth_psf, SYNTH_GRID)
    kw = dict(nspec=SYNTH_NSPEC, bundlesize=5, model=True, backend="cpu")
    assert_bitwise_equal(libextract.extract(*args, threads=1, **kw), synth_result)
    assert_bitwise_equal(libextract.extract(*args, threads=2, batch_patches=3, **kw), synth_result)


def test_nan_pixels_are_masked_with_a_warning(synth_psf, synth_image):
    image = synth_image["image"].copy()
    ivar = synth_image["ivar"].copy()
    y = int(round(synth_psf.y(2, 5800.0)))
    x = int(round(synth_psf.x(2, 5800.0)))
    image[y, x] = np.nan
    with pytest.warns(RuntimeWarning, match="1 NaN/Inf"):
        r = libextract.extract(image, ivar, synth_psf, SYNTH_GRID, nspec=SYNTH_NSPEC, bundlesize=5)
    ivar[y, x] = 0.0
    image[y, x] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        masked = libextract.extract(image, ivar, synth_psf, SYNTH_GRID, nspec=SYNTH_NSPEC, bundlesize=5)
    assert_bitwise_equal(r, masked)


def test_gil_is_released_during_extraction(synth_psf, synth_image):
    done = threading.Event()
    out = {}

    def work():
        out["r"] = libextract.extract(synth_image["image"], synth_image["ivar"], synth_psf, SYNTH_GRID,
                                      nspec=SYNTH_NSPEC, bundlesize=5, model=True, threads=1)
        done.set()

    ticks = 0
    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1  # Python bytecode runs here only while the extraction has released the GIL
        time.sleep(0.0005)
    t.join()
    elapsed = time.perf_counter() - start
    assert "r" in out
    assert ticks >= 20, f"main thread ran {ticks} times in {elapsed:.2f} s"


# ------------------------------------------------------------------------- ex2d


def test_ex2d_returns_specter_conventions(synth_psf, synth_image):
    wave = np.arange(5760.0, 5919.2 + 0.4, 0.8)
    image, ivar = synth_image["image"], synth_image["ivar"]
    flux, fivar, rdata = libextract.ex2d(image, ivar, synth_psf, 0, SYNTH_NSPEC, wave, nsubbundles=5)
    full = libextract.ex2d(image, ivar, synth_psf, 0, SYNTH_NSPEC, wave, nsubbundles=5, full_output=True)
    assert set(full) == {"flux", "ivar", "resolution_data", "modelimage", "pixmask_fraction", "chi2pix"}
    same = libextract.extract(image, ivar, synth_psf, wave, nspec=SYNTH_NSPEC, nsubbundles=5, compat="specter",
                              model=True)
    assert_bitwise_equal({"flux": flux, "ivar": fivar, "resolution_data": rdata},
                         {"flux": same["specflux"], "ivar": same["specivar"], "resolution_data": same["Rdiags"]})
    assert_bitwise_equal(full, {"flux": same["specflux"], "ivar": same["specivar"], "resolution_data": same["Rdiags"],
                                "modelimage": same["modelimage"], "pixmask_fraction": same["pixmask_fraction"],
                                "chi2pix": same["chi2pix"]})
    # specter's default nsubbundles=1 is a different decomposition, still close
    f1, _, _ = libextract.ex2d(image, ivar, synth_psf, 0, SYNTH_NSPEC, wave)
    assert np.allclose(f1, flux, rtol=1e-3, atol=1e-3 * np.abs(flux).max())


def test_ex2d_xyrange_cutout_equals_embedded_image(synth_psf, synth_image):
    wave = np.arange(5760.0, 5919.2 + 0.4, 0.8)
    xmin, xmax, ymin, ymax = synth_image["pack_window"]
    cut = (slice(ymin, ymax), slice(xmin, xmax))
    image = np.zeros_like(synth_image["image"])
    ivar = np.zeros_like(synth_image["ivar"])
    image[cut] = synth_image["image"][cut]
    ivar[cut] = synth_image["ivar"][cut]
    whole = libextract.ex2d(image, ivar, synth_psf, 0, SYNTH_NSPEC, wave, nsubbundles=5, full_output=True)
    part = libextract.ex2d(synth_image["image"][cut], synth_image["ivar"][cut], synth_psf, 0, SYNTH_NSPEC, wave,
                           xyrange=(xmin, xmax, ymin, ymax), nsubbundles=5, full_output=True)
    assert part["modelimage"].shape == (ymax - ymin, xmax - xmin)
    whole["modelimage"] = whole["modelimage"][cut]
    assert_bitwise_equal(part, whole)
    with pytest.raises(ValueError, match="xyrange"):
        libextract.ex2d(synth_image["image"][cut], synth_image["ivar"][cut], synth_psf, 0, SYNTH_NSPEC, wave,
                        xyrange=(xmin, xmax + 1, ymin, ymax))
    with pytest.raises(ValueError, match="xyrange"):
        libextract.ex2d(synth_image["image"][cut], synth_image["ivar"][cut], synth_psf, 0, SYNTH_NSPEC, wave,
                        xyrange=(-1, xmax - xmin - 1, ymin, ymax))


# ------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def args(synth_psf, synth_image):
    return synth_image["image"], synth_image["ivar"], synth_psf


BAD_EXTRACT_CALLS = [
    # (what, exception, message pattern, how to break the call)
    ("integer image", TypeError, "image", lambda a, k: (a[0].astype(np.int32),) + a[1:]),
    ("complex ivar", TypeError, "ivar", lambda a, k: (a[0], a[1].astype(np.complex128), a[2])),
    ("1-D image", ValueError, "image", lambda a, k: (a[0].ravel(),) + a[1:]),
    ("cut-out image", ValueError, "image", lambda a, k: (a[0][:100, :100], a[1][:100, :100], a[2])),
    ("ivar shape", ValueError, "ivar", lambda a, k: (a[0], a[1][:-1], a[2])),
    ("NaN-only image", ValueError, "image", lambda a, k: (np.full_like(a[0], np.nan), a[1], a[2])),
    ("all-masked ivar", ValueError, "ivar", lambda a, k: (a[0], np.zeros_like(a[1]), a[2])),
    ("negative ivar", ValueError, "ivar", lambda a, k: (a[0], a[1] - 1.0, a[2])),
    ("psf type", TypeError, "psf", lambda a, k: (a[0], a[1], 42)),
    ("compat", ValueError, "compat", lambda a, k: k.update(compat="desi")),
    ("backend", ValueError, "backend", lambda a, k: k.update(backend="gpu")),
    ("specmin", ValueError, "specmin", lambda a, k: k.update(specmin=50)),
    ("specmin type", TypeError, "specmin", lambda a, k: k.update(specmin=1.0)),
    ("nspec", ValueError, "nspec", lambda a, k: k.update(specmin=40, nspec=11)),
    ("nsubbundles", ValueError, "nsubbundles", lambda a, k: k.update(nsubbundles=6)),
    ("nwavestep", ValueError, "nwavestep", lambda a, k: k.update(nwavestep=0)),
    ("regularize", ValueError, "regularize", lambda a, k: k.update(regularize=-1.0)),
    ("psferr", ValueError, "psferr", lambda a, k: k.update(psferr=float("nan"))),
    ("pixpad_frac", ValueError, "pixpad_frac", lambda a, k: k.update(pixpad_frac=1.5)),
    ("threads", ValueError, "threads", lambda a, k: k.update(threads=-2)),
    ("grid string", ValueError, "wavelengths", lambda a, k: k.update(wavelengths="5760,5919.2")),
    ("grid tuple", ValueError, "wavelengths", lambda a, k: k.update(wavelengths=(5919.2, 5760.0, 0.8))),
    ("non-linear grid", ValueError, "wavelengths", lambda a, k: k.update(wavelengths=np.geomspace(5760, 5919, 200))),
    ("2-D grid", ValueError, "wavelengths", lambda a, k: k.update(wavelengths=np.ones((2, 3)))),
    ("NaN grid", ValueError, "wavelengths", lambda a, k: k.update(wavelengths=np.array([5760.0, np.nan]))),
]


@pytest.mark.parametrize("what, exc, pattern, breaker", BAD_EXTRACT_CALLS, ids=[c[0] for c in BAD_EXTRACT_CALLS])
def test_bad_extract_arguments_raise(args, what, exc, pattern, breaker):
    kw = dict(wavelengths=SYNTH_GRID, nspec=SYNTH_NSPEC, bundlesize=5)
    new_args = breaker(args, kw)
    with pytest.raises(exc, match=pattern):
        libextract.extract(*(new_args or args), **kw)


def test_library_errors_carry_code_and_message(args):
    # A grid far outside the CCD: rejected by the C++ library (invalid_argument).
    with pytest.raises(libextract.InvalidArgumentError) as err:
        libextract.extract(*args, (9000.0, 9100.0, 0.8), nspec=SYNTH_NSPEC, bundlesize=5)
    e = err.value
    assert isinstance(e, libextract.Error) and isinstance(e, ValueError) and isinstance(e, RuntimeError)
    assert e.code == "invalid_argument" and e.code_value == 1
    assert "leaves the CCD" in e.message and str(e) == e.message


@pytest.mark.skipif(libextract.cuda_available(), reason="a CUDA device answers")
def test_cuda_backend_unavailable(args):
    with pytest.raises(libextract.Error) as err:
        libextract.extract(*args, SYNTH_GRID, nspec=SYNTH_NSPEC, bundlesize=5, backend="cuda")
    assert err.value.code == "backend_unavailable"


def test_bad_ex2d_arguments_raise(args):
    image, ivar, psf = args
    wave = np.arange(5760.0, 5919.2 + 0.4, 0.8)
    with pytest.raises(ValueError, match="imageivar"):
        libextract.ex2d(image, ivar[:10], psf, 0, 5, wave)
    with pytest.raises(TypeError, match="imageivar"):
        libextract.ex2d(image, ivar.astype(np.int64), psf, 0, 5, wave)
    with pytest.raises(TypeError, match="wavelengths"):
        libextract.ex2d(image, ivar, psf, 0, 5, "5760.0,5919.2,0.8")  # specter takes an array
    with pytest.raises(TypeError, match="xyrange"):
        libextract.ex2d(image, ivar, psf, 0, 5, wave, xyrange=("a", 1, 2, 3))
    with pytest.raises(ValueError, match="xyrange"):
        libextract.ex2d(image, ivar, psf, 0, 5, wave, xyrange=(0, 1, 2))


def test_bad_simulate_and_psf_writer_arguments_raise(synth_psf, tmp_path):
    with pytest.raises(ValueError, match="readnoise"):
        libextract.simulate(synth_psf, SYNTH_GRID, nspec=2, readnoise=0.0)
    with pytest.raises(TypeError, match="wavelength"):
        libextract.simulate(synth_psf, np.arange(5760.0, 5800.0, 0.8), nspec=2)
    with pytest.raises(ValueError, match="nspec"):
        libextract.simulate(synth_psf, SYNTH_GRID, specmin=45, nspec=10)
    with pytest.raises(ValueError, match="camera"):
        libextract.write_synthetic_psf(tmp_path / "p.fits", camera="x")


def test_bad_extract_file_arguments_raise(tmp_path, synth_psf_path):
    with pytest.raises(ValueError, match="dtype"):
        libextract.extract_file("a.fits", synth_psf_path, tmp_path / "f.fits", dtype="f2")
    with pytest.raises(TypeError, match="output_path"):
        libextract.extract_file("a.fits", synth_psf_path, None)
    with pytest.raises(libextract.Error) as err:
        libextract.extract_file(tmp_path / "missing.fits", synth_psf_path, tmp_path / "f.fits")
    assert err.value.code == "io_error" and "missing.fits" in err.value.message
    assert not (tmp_path / "f.fits").exists()


# ------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("compat", ["gpu_specter", "specter"])
def test_every_wavelength_form_gives_the_cli_frame(workdir, synth_preproc, synth_psf_path, compat):
    """One grid rule: the CLI's -w, and Python's string, (wmin, wmax, dw) tuple, list and
    numpy array (the frame's own WAVELENGTH HDU) give the CLI's --dtype f8 frame bit for bit;
    the header keeps the requested triple where one was given."""
    from astropy.io import fits

    frame = workdir / f"frame-forms-{compat}.fits"
    run_cli("extract", "-i", synth_preproc, "-p", synth_psf_path, "-o", frame, "-w", SYNTH_GRID, "-n", SYNTH_NSPEC,
            "--bundlesize", 5, "--compat", compat, "--dtype", "f8", "-q")
    cli = read_frame_astropy(frame)
    with fits.open(frame) as hdus:
        header = hdus["FLUX"].header
        assert (header["WAVEMIN"], header["WAVEMAX"], header["WAVESTEP"]) == (5760.0, 5919.2, 0.8)
    wave = cli["wave"]
    assert np.array_equal(wave, np.arange(5760.0, 5919.2 + 0.4, 0.8))  # numpy's own grid
    assert wave[1] - wave[0] != 0.8  # so the array cannot carry the nominal step
    image, ivar = read_preproc_astropy(synth_preproc)
    psf = libextract.Psf(synth_psf_path)
    forms = {"string": SYNTH_GRID, "tuple": (5760.0, 5919.2, 0.8), "list": [float(w) for w in wave],
             "array": wave, "big-endian array": wave.astype(">f8")}
    for name, form in forms.items():
        r = libextract.extract(image, ivar, psf, form, nspec=SYNTH_NSPEC, bundlesize=5, compat=compat)
        try:
            assert_bitwise_equal(r, cli)
        except AssertionError as err:
            raise AssertionError(f"wavelengths given as a {name}: {err}") from None


@pytest.mark.parametrize("compat, bundlesize", [("gpu_specter", 5), ("specter", 25)])
def test_bitwise_identical_to_cli_frame(workdir, synth_preproc, synth_psf_path, compat, bundlesize):
    """Big-endian float32 arrays from astropy in, the CLI's --dtype f8 frame out."""
    frame = workdir / f"frame-synth-{compat}.fits"
    model = workdir / f"model-synth-{compat}.fits"
    run_cli("extract", "-i", synth_preproc, "-p", synth_psf_path, "-o", frame, "-m", model, "-w", SYNTH_GRID,
            "-n", SYNTH_NSPEC, "--bundlesize", bundlesize, "--compat", compat, "--dtype", "f8", "-q")
    image, ivar = read_preproc_astropy(synth_preproc)
    assert image.dtype.byteorder == ">" and ivar.dtype.byteorder == ">"
    r = libextract.extract(image, ivar, libextract.Psf(synth_psf_path), SYNTH_GRID, nspec=SYNTH_NSPEC,
                           bundlesize=bundlesize, compat=compat, model=True)
    assert_bitwise_equal(r, read_frame_astropy(frame))
    from astropy.io import fits

    assert_bitwise_equal({"modelimage": r["modelimage"]}, {"modelimage": fits.getdata(model)})


def test_extract_file_matches_cli(workdir, synth_preproc, synth_psf_path):
    cli_frame = workdir / "frame-synth-cli-f8.fits"
    run_cli("extract", "-i", synth_preproc, "-p", synth_psf_path, "-o", cli_frame, "-w", SYNTH_GRID, "-n",
            SYNTH_NSPEC, "--bundlesize", 5, "--dtype", "f8", "-q")
    py_frame = workdir / "frame-synth-py-f8.fits"
    py_model = workdir / "model-synth-py.fits"
    report = libextract.extract_file(synth_preproc, synth_psf_path, py_frame, wavelength=SYNTH_GRID,
                                     nspec=SYNTH_NSPEC, bundlesize=5, dtype="f8", model=py_model)
    assert report["patches"] > 0 and report["failed_patches"] == 0
    assert_bitwise_equal(read_frame_astropy(py_frame), read_frame_astropy(cli_frame))
    assert py_model.exists()
    from astropy.io import fits

    with fits.open(py_frame) as hdus:
        assert "FIBERMAP" in hdus  # copied from the preproc file, as the CLI does
        assert hdus["FLUX"].data.dtype.itemsize == 8


def test_readme_example_runs(workdir, synth_psf_path, monkeypatch):
    """The README's example, with its PSF replaced by the synthetic one and no display."""
    readme = pathlib.Path(__file__).resolve().parents[1] / "README.md"
    code = re.search(r"```python\n(.*?)```", readme.read_text(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 10
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    monkeypatch.chdir(workdir)
    code = code.replace('"psf-r0.fits"', repr(synth_psf_path))
    exec(compile(code, str(readme), "exec"), {})
    assert (workdir / "spectrum.png").exists()


# ------------------------------------------------------------------------- logs and progress


def _preproc_with_nan(src, dst):
    from astropy.io import fits

    with fits.open(src) as hdus:
        hdus["IMAGE"].data[3, 5] = np.nan
        hdus.writeto(dst, checksum=True)
    return str(dst)


def test_library_warning_reaches_the_python_logger(tmp_path, synth_preproc, synth_psf_path, caplog):
    import logging

    pre = _preproc_with_nan(synth_preproc, tmp_path / "nan-preproc.fits")
    logger = logging.getLogger("libextract.test")
    libextract.set_logger(logger)
    try:
        with caplog.at_level(logging.WARNING, logger="libextract.test"), pytest.warns(RuntimeWarning):
            libextract.extract_file(pre, synth_psf_path, tmp_path / "f.fits", wavelength=SYNTH_GRID,
                                    nspec=SYNTH_NSPEC, bundlesize=5)
    finally:
        libextract.set_logger(None)
    records = [r for r in caplog.records if "NaN/Inf pixels were masked" in r.getMessage()]
    assert len(records) == 1, caplog.records
    r = records[0]
    assert r.levelname == "WARNING" and r.filename == "preproc_io.cpp" and r.funcName.startswith("read_preproc")
    assert r.lineno > 0 and pre in r.getMessage()


def test_library_warning_in_desiutil_format(tmp_path, synth_preproc, synth_psf_path):
    """As a DESI pipeline sees it: desiutil importable, its logger prints the record."""
    pytest.importorskip("desiutil.log")
    import subprocess
    import sys

    pre = _preproc_with_nan(synth_preproc, tmp_path / "nan-preproc.fits")
    code = ("import sys, libextract\n"
            "libextract.extract_file(sys.argv[1], sys.argv[2], sys.argv[3], wavelength=sys.argv[4],"
            " nspec=int(sys.argv[5]), bundlesize=5)\n")
    env = dict(os.environ)
    env.pop("DESI_LOGLEVEL", None)
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code, pre, synth_psf_path,
                           str(tmp_path / "f.fits"), SYNTH_GRID, str(SYNTH_NSPEC)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    # desiutil.log.get_logger(): LEVEL:file:line:function: message, on stdout.
    assert re.search(r"^WARNING:preproc_io\.cpp:\d+:read_preproc\w*: .*1 NaN/Inf pixels were masked", done.stdout,
                     re.M), done.stdout
    env["DESI_LOGLEVEL"] = "ERROR"
    quiet = subprocess.run([sys.executable, "-W", "ignore", "-c", code, pre, synth_psf_path,
                            str(tmp_path / "g.fits"), SYNTH_GRID, str(SYNTH_NSPEC)], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and "NaN/Inf" not in quiet.stdout, quiet.stdout


def test_progress_callback(synth_psf, synth_image):
    calls = []
    libextract.extract(synth_image["image"], synth_image["ivar"], synth_psf, SYNTH_GRID, nspec=SYNTH_NSPEC,
                       bundlesize=5, batch_patches=1, progress=lambda done, total: calls.append((done, total)))
    total = calls[-1][1]
    assert len(calls) == total > 1 and calls[-1] == (total, total)
    assert [d for d, _ in calls] == list(range(1, total + 1))

    def stop(done, total):
        raise ZeroDivisionError("stop here")

    with pytest.raises(ZeroDivisionError, match="stop here"):
        libextract.extract(synth_image["image"], synth_image["ivar"], synth_psf, SYNTH_GRID, nspec=SYNTH_NSPEC,
                           bundlesize=5, batch_patches=1, progress=stop)
    with pytest.raises(TypeError, match="progress"):
        libextract.extract(synth_image["image"], synth_image["ivar"], synth_psf, SYNTH_GRID, progress=3)


# ------------------------------------------------------------------------- Python conventions


def test_errors_are_the_builtin_exceptions_too(tmp_path, synth_psf_path):
    import errno

    missing = tmp_path / "nope.fits"
    with pytest.raises(FileNotFoundError) as err:
        libextract.Psf(missing)
    e = err.value
    assert isinstance(e, libextract.Error) and isinstance(e, libextract.MissingFileError)
    assert e.errno == errno.ENOENT and str(missing) in str(e) and e.code == "io_error"
    assert str(e).startswith("path: ") and "--" not in str(e)  # the Python argument, not a CLI option
    with pytest.raises(FileNotFoundError, match="^psf_path: "):
        libextract.extract_file(synth_psf_path, missing, tmp_path / "f.fits")
    with pytest.raises(FileNotFoundError, match="^preproc_path: "):
        libextract.extract_file(missing, synth_psf_path, tmp_path / "f.fits")
    # A file that is not a PSF: a format error, a ValueError.
    from astropy.io import fits

    fits.HDUList([fits.PrimaryHDU(np.zeros((2, 2)))]).writeto(tmp_path / "not-a-psf.fits")
    with pytest.raises(ValueError) as err:
        libextract.Psf(tmp_path / "not-a-psf.fits")
    assert isinstance(err.value, libextract.FormatError) and err.value.code == "format_error"
    # Writing where no folder exists: an I/O error, an OSError.
    with pytest.raises(OSError) as err:
        libextract.write_synthetic_psf(tmp_path / "no-such-folder" / "p.fits", nspec=25)
    assert isinstance(err.value, libextract.FileError) and err.value.code == "io_error"
    assert not isinstance(err.value, FileNotFoundError)


def test_public_signatures_are_annotated_without_any():
    import inspect
    import typing

    checked = 0
    for name in libextract.__all__:
        obj = getattr(libextract, name)
        members = [obj] if inspect.isfunction(obj) else [
            m for n, m in vars(obj).items() if not n.startswith("_") or n == "__init__"] if inspect.isclass(obj) \
            and obj.__module__.startswith("libextract._") and not issubclass(obj, BaseException) else []
        for f in members:
            f = f.fget if isinstance(f, property) else f
            if not inspect.isfunction(f):
                continue
            hints = typing.get_type_hints(f)  # every annotation resolves
            params = [p for p in inspect.signature(f).parameters if p != "self"]
            assert "return" in hints and all(p in hints for p in params), f"{name}.{f.__name__}: {hints}"
            assert typing.Any not in hints.values(), f"{name}.{f.__name__}: {hints}"
            written = " ".join(str(a) for a in f.__annotations__.values())  # as written (PEP 563 strings)
            assert not re.search(r"\bAny\b", written), f"{name}.{f.__name__}: {written}"
            checked += 1
    assert checked > 20
