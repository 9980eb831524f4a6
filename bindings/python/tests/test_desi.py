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
