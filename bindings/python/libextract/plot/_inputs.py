"""Reading what the pictures are drawn from: a frame, a preproc image, a model image,
a simulation truth, timing and bench JSON; and libextract's plan for the frame.

Every reader raises :class:`InputError` naming the file and the HDU or keyword at fault.
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["InputError", "masked_pixels", "read_frame", "read_preproc", "read_model", "read_truth", "read_json", "frame_plan"]


class InputError(ValueError):
    """An input file that cannot be drawn from; the message names the file and HDU."""


def _open(path):
    from astropy.io import fits

    try:
        return fits.open(os.fspath(path), memmap=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read as FITS ({exc})") from None


def _hdu_data(hdus, path, name, ndim=None):
    try:
        data = hdus[name].data
    except KeyError:
        raise InputError(f"{path}: no {name} HDU") from None
    if data is None or (ndim is not None and data.ndim != ndim):
        raise InputError(f"{path}, HDU {name}: expected a {ndim}-D array, got "
                         f"{None if data is None else data.shape}")
    return np.array(data, dtype=np.float64)


def read_frame(path):
    """A frame file (desispec's layout): float64 arrays ``flux``, ``ivar``, ``wave``,
    ``resolution`` [nspec, 2·ndiag+1, nwave], ``chi2pix``, ``pixmask_fraction``, and the
    header values ``compat``, ``specmin``, ``wavegrid`` (None when absent), ``in_psf``."""
    with _open(path) as hdus:
        out = {"path": os.fspath(path)}
        for key, hdu, ndim in (("flux", "FLUX", 2), ("ivar", "IVAR", 2), ("wave", "WAVELENGTH", 1),
                               ("resolution", "RESOLUTION", 3), ("chi2pix", "CHI2PIX", 2),
                               ("pixmask_fraction", "PIXMASK_FRACTION", 2)):
            out[key] = _hdu_data(hdus, path, hdu, ndim)
        header = hdus["FLUX"].header
        out["compat"] = str(header.get("COMPAT", "gpu_specter"))
        out["specmin"] = int(header.get("SPECMIN", header.get("FIBERMIN", 0)))
        out["wavegrid"] = header.get("WAVEGRID")
        out["in_psf"] = header.get("IN_PSF")
    nspec, nwave = out["flux"].shape
    for key in ("ivar", "chi2pix", "pixmask_fraction"):
        if out[key].shape != (nspec, nwave):
            raise InputError(f"{path}: {key.upper()} has shape {out[key].shape}, FLUX {(nspec, nwave)}")
    if out["wave"].shape != (nwave,) or out["resolution"].shape[::2] != (nspec, nwave):
        raise InputError(f"{path}: WAVELENGTH {out['wave'].shape} or RESOLUTION {out['resolution'].shape} "
                         f"does not match FLUX {(nspec, nwave)}")
    return out


def masked_pixels(mask):
    """The pixels the extraction masks: MASK & libextract.EXTRACT_MASK_BITS (desispec's
    rule) where the package has that constant, else any MASK bit."""
    import libextract

    bits = getattr(libextract, "EXTRACT_MASK_BITS", None)
    mask = np.asarray(mask).astype(np.int64)
    return mask != 0 if bits is None else (mask & int(bits)) != 0


def read_preproc(path):
    """A preproc image: ``image`` and ``ivar`` (0 on :func:`masked_pixels`, as the
    extraction reads it), float64."""
    with _open(path) as hdus:
        image = _hdu_data(hdus, path, "IMAGE", 2)
        ivar = _hdu_data(hdus, path, "IVAR", 2)
        mask = _hdu_data(hdus, path, "MASK", 2) if "MASK" in hdus else np.zeros_like(ivar)
    if not image.shape == ivar.shape == mask.shape:
        raise InputError(f"{path}: IMAGE {image.shape}, IVAR {ivar.shape} and MASK {mask.shape} differ in shape")
    ivar[masked_pixels(mask)] = 0.0
    return {"path": os.fspath(path), "image": image, "ivar": ivar}


def read_model(path):
    """A model image (``libextract extract -m``): the MODEL HDU, electrons per pixel."""
    with _open(path) as hdus:
        return _hdu_data(hdus, path, "MODEL", 2)


def read_truth(path):
    """A simulation truth (``libextract simulate --truth``): ``wave`` [nsim] and
    ``flux`` [nspec, nsim] (electrons/Angstrom), ``specmin``."""
    with _open(path) as hdus:
        wave = _hdu_data(hdus, path, "WAVELENGTH", 1)
        flux = _hdu_data(hdus, path, "FLUX", 2)
        specmin = int(hdus["WAVELENGTH"].header.get("SPECMIN", 0))
    if flux.shape[1] != wave.size:
        raise InputError(f"{path}: FLUX has {flux.shape[1]} wavelengths, WAVELENGTH {wave.size}")
    return {"path": os.fspath(path), "wave": wave, "flux": flux, "specmin": specmin}


def read_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read as JSON ({exc})") from None


def frame_plan(frame, psf, **options):
    """libextract's plan for ``frame`` (:func:`read_frame`): its header's COMPAT,
    SPECMIN and WAVEGRID (else its WAVELENGTH values) with its number of fibres, and
    ``options`` (bundlesize, nsubbundles, nwavestep, ...: those the frame was extracted
    with when not DESI's defaults). The plan must reproduce the frame's grid."""
    import libextract

    nspec, nwave = frame["flux"].shape
    wavelengths = frame["wavegrid"] if frame["wavegrid"] else frame["wave"]
    options = {k: v for k, v in options.items() if v is not None}
    try:
        plan = libextract.plan_patches(psf, wavelengths, specmin=frame["specmin"], nspec=nspec,
                                       compat=frame["compat"], **options)
    except (ValueError, libextract.Error) as exc:
        raise InputError(f"{frame['path']}: no plan for its options ({exc})") from None
    if plan["wave"].shape != (nwave,) or np.max(np.abs(plan["wave"] - frame["wave"])) > 1e-3:
        raise InputError(f"{frame['path']}: WAVELENGTH differs from the plan's grid "
                         f"({plan['wave'][0]:.2f}..{plan['wave'][-1]:.2f}, {plan['wave'].size} bins)")
    return plan
