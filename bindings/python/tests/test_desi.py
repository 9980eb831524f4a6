"""libextract as desispec's extraction: desispec's masking (extractmaskval 767)."""

import numpy as np
import pytest
from astropy.io import fits

import libextract
from conftest import SYNTH_GRID, SYNTH_NSPEC, read_frame_astropy

BADREADNOISE, BAD = 256, 1


@pytest.fixture(scope="module")
def flagged_preproc(tmp_path_factory, synth_psf, synth_psf_path):
    """A simulated preproc with a band of BADREADNOISE rows across the fibres' traces,
    and BAD pixels whose IVAR is left positive."""
    sim = libextract.simulate(synth_psf, SYNTH_GRID, nspec=SYNTH_NSPEC, seed=5)
    mask = sim["mask"].copy()
    ivar = sim["ivar"].copy()
    y0, y1 = (int(synth_psf.y(0, w)) for w in (5800.0, 5830.0))
    band = np.zeros(mask.shape, bool)
    band[y0:y1] = ivar[y0:y1] > 0
    mask[band] |= BADREADNOISE
    bad = np.zeros(mask.shape, bool)
    bad[y1:y1 + 20] = ivar[y1:y1 + 20] > 0
    bad[bad] = np.arange(bad.sum()) % 5 == 0
    mask[bad] |= BAD
    path = tmp_path_factory.mktemp("masking") / "preproc.fits"
    fits.HDUList([fits.PrimaryHDU(sim["image"].astype(np.float32), fits.Header({"EXTNAME": "IMAGE"})),
                  fits.ImageHDU(ivar.astype(np.float32), name="IVAR"),
                  fits.ImageHDU(mask.astype(np.int32), name="MASK")]).writeto(path)
    return path, band, bad


def test_extract_mask_bits_is_desispecs():
    assert libextract.EXTRACT_MASK_BITS == 767  # desispec.maskbits.extractmaskval


def test_extract_file_uses_badreadnoise_pixels_and_not_bad_ones(tmp_path, flagged_preproc, synth_psf,
                                                                synth_psf_path):
    path, band, bad = flagged_preproc
    assert band.sum() > 1000 and bad.sum() > 50
    kw = dict(wavelength=SYNTH_GRID, nspec=SYNTH_NSPEC, bundlesize=5, backend="cpu", dtype="f8")
    libextract.extract_file(path, synth_psf_path, tmp_path / "default.fits", **kw)
    libextract.extract_file(path, synth_psf_path, tmp_path / "strict.fits", mask_bits=1023, **kw)
    default = read_frame_astropy(tmp_path / "default.fits")
    strict = read_frame_astropy(tmp_path / "strict.fits")
    with fits.open(path) as h:
        image, ivar, mask = (h[n].data.astype(np.float64) for n in ("IMAGE", "IVAR", "MASK"))
    mask = mask.astype(np.int64)
    x = dict(nspec=SYNTH_NSPEC, bundlesize=5, backend="cpu")
    # desispec's ivar * ((mask & 767) == 0): the frame extract_file wrote, bit for bit.
    desispec = libextract.extract(image, ivar * ((mask & 767) == 0), synth_psf, SYNTH_GRID, **x)
    np.testing.assert_array_equal(default["specflux"], desispec["specflux"])
    np.testing.assert_array_equal(default["specivar"], desispec["specivar"])
    # mask_bits=1023 leaves the band out; keeping the BAD pixels would change the frame.
    np.testing.assert_array_equal(strict["specflux"],
                                  libextract.extract(image, ivar * ((mask & 1023) == 0), synth_psf, SYNTH_GRID,
                                                     **x)["specflux"])
    assert strict["specivar"].sum() < 0.9 * default["specivar"].sum()
    with_bad = libextract.extract(image, ivar * ((mask & (767 & ~BAD)) == 0), synth_psf, SYNTH_GRID, **x)
    assert not np.array_equal(with_bad["specflux"], default["specflux"])
    with pytest.raises(ValueError, match="mask_bits"):
        libextract.extract_file(path, synth_psf_path, tmp_path / "never.fits", mask_bits=-1, **kw)
    assert not (tmp_path / "never.fits").exists()


# ------------------------------------------------------------------ gpu_specter / specter stand-ins

import inspect  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402

from libextract import desi  # noqa: E402

# desi-interfaces.md: gpu_specter.core.extract_frame's signature, in order, with defaults.
EXTRACT_FRAME = [("img", None), ("psf", None), ("bundlesize", None), ("specmin", None), ("nspec", None),
                 ("wavelength", None), ("nwavestep", 50), ("nsubbundles", 1), ("model", None), ("regularize", 0),
                 ("psferr", None), ("comm", None), ("gpu", None), ("loglevel", None), ("timing", None),
                 ("wavepad", 10), ("pixpad_frac", 0.8), ("wavepad_frac", 0.2), ("batch_subbundle", True),
                 ("ranks_per_bundle", None)]
EX2D = [("image", None), ("imageivar", None), ("psf", None), ("specmin", None), ("nspec", None),
        ("wavelengths", None), ("xyrange", None), ("regularize", 0.0), ("ndecorr", False), ("bundlesize", 25),
        ("nsubbundles", 1), ("wavesize", 50), ("full_output", False), ("verbose", False), ("debug", False),
        ("psferr", None), ("pixpad_frac", 0.8), ("wavepad_frac", 0.2)]


def _signature(function):
    empty = inspect.Parameter.empty
    return [(p.name, None if p.default is empty else p.default) for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)]


@pytest.fixture()
def installed():
    """Both installs, undone afterwards (the shims stay importable as libextract.desi.*)."""
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in ("gpu_specter", "specter")}
    # PyPI's unrelated `specter`, imported before: the install must replace it.
    sys.modules["specter"] = types.ModuleType("specter")
    sys.modules["specter.unrelated"] = types.ModuleType("specter.unrelated")
    desi.install_all()
    yield
    for k in [k for k in sys.modules if k.split(".")[0] in ("gpu_specter", "specter")]:
        del sys.modules[k]
    sys.modules.update(saved)


def test_imports_give_libextracts_modules(installed):
    import gpu_specter
    import gpu_specter.core
    import gpu_specter.io
    import gpu_specter.mpi
    import specter
    import specter.extract
    import specter.psf
    from specter.extract import ex2d
    from specter.psf import load_psf

    assert gpu_specter.__version__ == specter.__version__ == libextract.__version__
    assert gpu_specter.core.extract_frame.__module__ == "libextract.desi.gpu_specter_core"
    assert "specter.unrelated" not in sys.modules and specter.psf.load_psf is load_psf
    assert ex2d is libextract.ex2d
    assert {"NoMPIIOCoordinator", "SerialIOCoordinator", "ParallelIOCoordinator"} <= set(dir(gpu_specter.mpi))
    assert _signature(gpu_specter.core.extract_frame) == EXTRACT_FRAME
    assert _signature(ex2d) == EX2D
    assert list(inspect.signature(gpu_specter.io.read_psf).parameters) == ["filename"]


def test_install_functions_at_the_package_top(monkeypatch):
    """libextract.install_as_gpu_specter() and install_as_specter(), as the issue names them
    (in the manner of PyMySQL's install_as_MySQLdb()), are libextract.desi's installs."""
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in ("gpu_specter", "specter")}
    sys.modules["specter"] = types.ModuleType("specter")
    try:
        libextract.install_as_gpu_specter()
        libextract.install_as_specter()
        import gpu_specter.core
        import specter.extract

        assert gpu_specter.core.extract_frame.__module__ == "libextract.desi.gpu_specter_core"
        assert specter.extract.ex2d is libextract.ex2d
        assert {"install_as_gpu_specter", "install_as_specter"} <= set(libextract.__all__)
    finally:
        for k in [k for k in sys.modules if k.split(".")[0] in ("gpu_specter", "specter")]:
            del sys.modules[k]
        sys.modules.update(saved)


class FakeCupy:
    """What extract_frame sees of a CuPy array: __cuda_array_interface__ and .get()."""

    def __init__(self, array):
        self._array = array
        self.__cuda_array_interface__ = {"shape": array.shape}

    def get(self):
        return self._array.copy()


def test_extract_frame_is_libextracts_extract(installed, synth_psf_path, synth_image, caplog):
    import gpu_specter.core
    import gpu_specter.io

    psf = gpu_specter.io.read_psf(synth_psf_path)
    assert psf["PSF"].meta["WAVEMIN"] == libextract.Psf(synth_psf_path).wavemin
    assert psf["PSF"].meta["PSFERR"] == 0.01 and "WAVEMAX" in psf["YTRACE"].meta
    grid = (5760.0, 5919.2, 0.8)
    img = {"image": FakeCupy(synth_image["image"]), "ivar": synth_image["ivar"], "fibermap": None, "meta": {}}
    timing = {}
    with caplog.at_level("INFO", logger="libextract.desi"):
        # desispec's call: 13 positional arguments, then loglevel, timing and the fractions by name.
        r = gpu_specter.core.extract_frame(img, psf, 5, 0, SYNTH_NSPEC, grid, 50, 5, True, 0.0, None, None,
                                           not libextract.cuda_available(), loglevel=None, timing=timing,
                                           wavepad_frac=0.2, pixpad_frac=0.8)
    if not libextract.cuda_available():
        assert "on the CPU" in caplog.text
    assert list(timing) == ["start", "inputs", "extracted", "done"]
    assert timing["start"] <= timing["done"]
    ours = libextract.extract(synth_image["image"], synth_image["ivar"], synth_psf_path, grid, nspec=SYNTH_NSPEC,
                              bundlesize=5, nsubbundles=5, model=True, backend="cpu")
    assert set(r) == {"specflux", "specivar", "specmask", "wave", "Rdiags", "pixmask_fraction", "chi2pix",
                      "modelimage"}
    for key in ("specflux", "specivar", "wave", "Rdiags", "pixmask_fraction", "chi2pix", "modelimage"):
        np.testing.assert_array_equal(r[key], ours[key], err_msg=key)
    np.testing.assert_array_equal(r["specmask"], (ours["specivar"] == 0).astype(int))
    # The defaults are gpu_specter's (nsubbundles 1), not libextract's own (5).
    one = gpu_specter.core.extract_frame(img, psf, 5, 0, SYNTH_NSPEC, grid)
    np.testing.assert_array_equal(one["specflux"], libextract.extract(
        synth_image["image"], synth_image["ivar"], synth_psf_path, grid, nspec=SYNTH_NSPEC, bundlesize=5,
        nsubbundles=1, backend="cpu")["specflux"])
    assert one["modelimage"] is None


def test_parts_split_equals_one_run(synth_psf, synth_image):
    # The MPI path's building block: any split of the patches, stitched in order, is extract().
    from libextract import _core
    from libextract.desi.mpi_extract import share

    opts = _core._options(synth_psf, SYNTH_GRID, nspec=SYNTH_NSPEC, bundlesize=5, model=True, backend="cpu")
    whole = libextract.extract(synth_image["image"], synth_image["ivar"], synth_psf, SYNTH_GRID,
                               nspec=SYNTH_NSPEC, bundlesize=5, model=True, backend="cpu")
    parts = _core._ext.FrameParts(synth_psf._psf, synth_image["image"], synth_image["ivar"], opts)
    n = parts.patch_count
    assert n >= 3
    blocks = [parts.solve(*share(n, 3, rank)) for rank in range(3)]
    assert [share(n, 3, r)[1] for r in range(3)] != [0, 0, n]
    for block in blocks:
        parts.stitch(block)
    split = parts.finish()
    for key in ("specflux", "specivar", "Rdiags", "chi2pix", "pixmask_fraction", "modelimage", "specmask"):
        np.testing.assert_array_equal(split[key], whole[key], err_msg=key)


def test_coordinators_without_mpi():
    from libextract.desi import gpu_specter_mpi as mpi

    c = mpi.NoMPIIOCoordinator()
    assert (c.rank, c.size, c.work_comm) == (0, 1, None)
    assert c.read(lambda: "read", None) == "read" and c.write(lambda p: p + "!", "w") == "w!"

    class Comm:  # rank 1 of 2
        rank, size = 1, 2

    s = mpi.SerialIOCoordinator(Comm())
    assert s.work_comm is not None and not s.is_reader(1) and s.is_worker(1) and s.is_worker_root(0)
    assert s.read(lambda: "read", "placeholder") == "placeholder"
    assert s.process(lambda: "work", None) == "work"
    assert s.write(lambda p: "written", "payload") == "payload"
    assert mpi.ParallelIOCoordinator.is_worker_root(2) and not mpi.ParallelIOCoordinator.is_worker(1)
    with pytest.raises(ValueError, match="3 ranks"):
        mpi.ParallelIOCoordinator(Comm())


def test_specter_psf_and_ex2d(installed, synth_psf_path, synth_image):
    import pickle

    from specter.extract import ex2d
    from specter.psf import load_psf

    psf = load_psf(synth_psf_path)
    assert psf.nspec == 50 and psf.npix_y == synth_image["image"].shape[0]
    assert psf.wmin_all < psf.wmax_all
    lo = psf.wavelength(list(range(0, 5)), y=-0.5)
    assert lo.shape == (5,) and np.all(lo < 5760.0)
    assert pickle.loads(pickle.dumps(psf)).path == psf.path
    wave = np.arange(5760.0, 5919.2 + 0.4, 0.8)
    flux, ivar, rdata = ex2d(synth_image["image"], synth_image["ivar"], psf, 0, SYNTH_NSPEC, wave, bundlesize=5)
    full = ex2d(synth_image["image"], synth_image["ivar"], psf, 0, SYNTH_NSPEC, wave, bundlesize=5,
                full_output=True)
    assert set(full) == {"flux", "ivar", "resolution_data", "modelimage", "pixmask_fraction", "chi2pix"}
    np.testing.assert_array_equal(full["flux"], flux)
    np.testing.assert_array_equal(full["resolution_data"], rdata)


def test_console_script_names_pip_install_without_desispec(monkeypatch, capsys):
    import importlib.util

    from libextract.desi import extract_script

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "desispec" else real(name, *a))
    assert extract_script.main(["-i", "x", "-p", "y", "-o", "z"]) == 1
    assert "pip install desispec" in capsys.readouterr().err
