"""Types of the public signatures (the package is typed: py.typed, and the extension
module has nanobind's stubs, _libextract.pyi)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Callable, Dict, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

if sys.version_info >= (3, 8):
    from typing import TypedDict
else:  # pragma: no cover
    from typing_extensions import TypedDict

__all__ = ["PathLike", "FloatArray", "UIntArray", "IntArray", "Wavelengths", "Progress", "ExtractResult",
           "Ex2dResult", "Report", "Simulation", "FloatOrArray"]

#: A file-system path.
if TYPE_CHECKING:
    PathLike = Union[str, os.PathLike[str]]
else:  # os.PathLike is subscriptable at run time from Python 3.9 only
    PathLike = Union[str, os.PathLike]
#: float64 results.
FloatArray = npt.NDArray[np.float64]
#: The spectrum mask (desispec's bits).
UIntArray = npt.NDArray[np.uint32]
IntArray = npt.NDArray[np.int32]
#: A scalar where the arguments were scalars, else an array.
FloatOrArray = Union[float, FloatArray]
#: "wmin,wmax,dw", (wmin, wmax, dw), explicit wavelengths, or None (the PSF's range).
Wavelengths = Union[None, str, Tuple[float, float, float], npt.ArrayLike]
#: progress(done, total), after each batch of patches.
Progress = Callable[[int, int], object]
#: A run's report: counts, backend, threads, seconds, stages, per-patch arrays.
Report = Dict[str, object]
#: libextract.simulate's arrays and truth.
Simulation = Dict[str, FloatArray]


class ExtractResult(TypedDict, total=False):
    """:func:`libextract.extract`'s dictionary (gpu_specter's keys)."""

    wave: FloatArray
    specflux: FloatArray
    specivar: FloatArray
    specmask: UIntArray
    Rdiags: FloatArray
    chi2pix: FloatArray
    pixmask_fraction: FloatArray
    modelimage: Optional[FloatArray]
    diagnostics: Report


#: :func:`libextract.ex2d`: (flux, ivar, Rdata), or the full_output dictionary.
Ex2dResult = Union[Tuple[FloatArray, FloatArray, FloatArray], Dict[str, Optional[FloatArray]]]
