"""The patch plan of an extraction (:func:`plan_patches`): which fibres and wavelength
bins each patch solves and stores, and the CCD pixels it reads and models."""

from __future__ import annotations

from typing import Dict, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _libextract as _ext
from ._core import _DEFAULTS, _as_psf, _options
from ._psf import Psf
from ._types import PathLike, Wavelengths

__all__ = ["plan_patches"]


def plan_patches(psf: Union[Psf, PathLike], wavelengths: Wavelengths = None, specmin: int = _DEFAULTS.specmin,
                 nspec: Optional[int] = None, bundlesize: int = _DEFAULTS.bundlesize,
                 nsubbundles: int = _DEFAULTS.nsubbundles, nwavestep: int = _DEFAULTS.nwavestep,
                 compat: str = _DEFAULTS.compat, *, wavepad: int = _DEFAULTS.wavepad,
                 pixpad_frac: float = _DEFAULTS.pixpad_frac,
                 wavepad_frac: float = _DEFAULTS.wavepad_frac) -> Dict[str, npt.NDArray[np.generic]]:
    """The patches that :func:`extract` with the same options solves on the PSF's whole
    CCD, in processing order: libextract's own plan, not a re-derivation.

    Parameters
    ----------
    psf : libextract.Psf or path
    wavelengths, specmin, nspec, bundlesize, nsubbundles, nwavestep, compat, wavepad,
    pixpad_frac, wavepad_frac :
        As :func:`extract` (only these options shape the plan).

    Returns
    -------
    dict
        ``compat``, ``specmin``, ``nspec``, ``ndiag`` (resolution half-width), ``wave``
        (the frame's grid, Angstrom), and one int32 array per patch field, each of
        length npatch: ``bundle``; ``fiber_lo``/``fiber_hi`` (fibres solved, padding
        included, PSF fibre numbers, half-open); ``core_fiber_lo``/``core_fiber_hi``
        (fibres stored in the frame); ``wave_lo``/``wave_hi`` (frame columns stored);
        ``nwave`` (bins solved per fibre, padding included); float64 ``wave_first`` /
        ``wave_last`` (their first and last wavelength); ``xmin``, ``xmax``, ``ymin``,
        ``ymax`` (the CCD pixels read and modelled, ``[xmin, xmax) x [ymin, ymax)``).

    Raises
    ------
    TypeError, ValueError, libextract.Error
        As :func:`extract` (e.g. a grid that leaves the CCD).
    """
    psf = _as_psf(psf)
    args = _options(psf, wavelengths, specmin=specmin, nspec=nspec, bundlesize=bundlesize, nsubbundles=nsubbundles,
                    nwavestep=nwavestep, compat=compat, backend="cpu", wavepad=wavepad, pixpad_frac=pixpad_frac,
                    wavepad_frac=wavepad_frac)
    return _ext.plan_patches(psf._psf, args)
