"""Argument checks and the one conversion of user arrays at the C++ boundary.

Every public function of :mod:`libextract` goes through these helpers, so that a wrong
type raises :class:`TypeError` and a wrong value or shape raises :class:`ValueError`,
each naming the argument at fault.
"""

from __future__ import annotations

import errno
import math
import numbers
import operator
import os

import numpy as np

__all__ = [
    "as_real_image",
    "as_wavelengths",
    "as_int",
    "as_optional_int",
    "as_real",
    "as_number",
    "as_optional_real",
    "as_choice",
    "as_path",
    "as_fibers",
]


def as_real_image(value, name):
    """Returns ``value`` as a 2-D float32 or float64 numpy array in native byte order.

    C- and Fortran-ordered and strided arrays are passed on as they are (the C++ side
    reads any strides and converts to float64 while copying into the engine's image);
    a big-endian array, as astropy returns FITS data, is byte-swapped here, once. Raises
    TypeError for another dtype and ValueError for another number of dimensions.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # e.g. a ragged list
        raise TypeError(f"{name}: cannot be converted to a numpy array ({exc})") from None
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
        raise TypeError(f"{name}: expected a float32 or float64 array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array [y, x], got shape {arr.shape}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def as_wavelengths(value, name="wavelengths", allow_grid=True):
    """Interprets a wavelength argument.

    Returns ``(array, grid)``, one of them None: ``grid`` is a ``(wmin, wmax, dw)`` tuple
    (from a ``"wmin,wmax,dw"`` string or a 3-tuple; the grid is then
    ``numpy.arange(wmin, wmax + dw/2, dw)``, built in C++ exactly as NumPy does), and
    ``array`` is a 1-D float64 array of explicit wavelengths (a numpy array or a list).
    ``None`` gives ``(None, None)``: the PSF's WAVEMIN..WAVEMAX with dw = 0.8.
    """
    if value is None:
        return None, None
    if allow_grid and isinstance(value, str):
        parts = value.split(",")
        try:
            grid = tuple(float(p) for p in parts)
        except ValueError:
            grid = ()
        if len(grid) != 3:
            raise ValueError(f"{name}: expected 'wmin,wmax,dw', got {value!r}")
        value = grid
    if allow_grid and isinstance(value, tuple):
        if len(value) != 3:
            raise ValueError(f"{name}: a tuple must be (wmin, wmax, dw), got {len(value)} values")
        try:
            grid = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            raise TypeError(f"{name}: (wmin, wmax, dw) must be numbers") from None
        wmin, wmax, dw = grid
        if not all(math.isfinite(v) for v in grid) or not dw > 0 or not wmax >= wmin:
            raise ValueError(f"{name}: (wmin, wmax, dw) = {grid} needs finite values, wmin <= wmax and dw > 0")
        return None, grid
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"{name}: cannot be converted to a numpy array ({exc})") from None
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"{name}: needs at least 2 wavelengths")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or Inf")
    d = np.diff(arr)
    if not (d[0] > 0 and np.allclose(d[0], d)):
        raise ValueError(f"{name}: the grid must be linear and increasing (numpy.allclose of its steps)")
    return arr, None


def as_int(value, name, minimum=None, maximum=None):
    """An integer (Python or numpy, not bool or float) within [minimum, maximum]."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}") from None
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: {v} is less than {minimum}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name}: {v} is greater than {maximum}")
    if not -2**31 < v < 2**31:  # the engine's options are 32-bit
        raise ValueError(f"{name}: {v} is out of range")
    return v


def as_optional_int(value, name, minimum=None, maximum=None):
    """None, or :func:`as_int`."""
    return None if value is None else as_int(value, name, minimum, maximum)


def as_real(value, name, minimum=None, maximum=None):
    """A finite real number within [minimum, maximum]."""
    v = as_number(value, name)
    if not math.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {v}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: {v} is less than {minimum}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name}: {v} is greater than {maximum}")
    return v


def as_number(value, name):
    """A real number (any value, NaN included: the library's validation judges it)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    return float(value)


def as_optional_real(value, name, minimum=None, maximum=None):
    """None, or :func:`as_real`."""
    return None if value is None else as_real(value, name, minimum, maximum)


def as_choice(value, name, choices):
    """One of the strings ``choices``."""
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def as_path(value, name):
    """A file-system path (str or os.PathLike) as str."""
    try:
        return os.fspath(value)
    except TypeError:
        raise TypeError(f"{name}: expected a path (str or os.PathLike), got {type(value).__name__}") from None


def as_input_path(value, name):
    """An input file's path as str; raises libextract.MissingFileError (a
    FileNotFoundError and a libextract.Error) naming the argument when it does not exist
    (CFITSIO also opens ``path.gz`` for ``path``)."""
    path = as_path(value, name)
    if not os.path.exists(path) and not os.path.exists(path + ".gz"):
        from . import _libextract

        message = f"{name}: {path}: no such file"
        error = _libextract.MissingFileError(message)
        error.code, error.code_value, error.message = "io_error", 2, message
        error.errno = errno.ENOENT  # (no filename/strerror: OSError would print those instead of the message)
        raise error
    return path


def as_fibers(value, name, nspec):
    """Fibre indices as an int64 array (any shape), each in 0..nspec-1."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer fibre indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= nspec):
        bad = arr[(arr < 0) | (arr >= nspec)].flat[0]
        raise ValueError(f"{name}: fibre {bad} is outside the PSF's fibres 0..{nspec - 1}")
    return arr
