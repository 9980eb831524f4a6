"""The Gauss-Hermite PSF of a DESI spectrograph camera, with vectorised evaluation."""

from __future__ import annotations

from typing import List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _libextract as _ext
from ._arrays import as_choice, as_fibers, as_input_path
from ._types import FloatArray, FloatOrArray, IntArray, PathLike

#: spots(): the stamps and their origins (ylo, xlo).
SpotsResult = Tuple[FloatArray, IntArray]
#: spots(return_shapes=True): also each stamp's valid size (ny, nx).
SpotsWithShapes = Tuple[FloatArray, IntArray, IntArray]

__all__ = ["Psf"]

_COMPATS = ("gpu_specter", "specter")
_BACKENDS = ("auto", "cpu", "cuda")


def _broadcast(psf, fiber, values, name):
    """Broadcasts fibre indices against ``values`` (numpy rules); ``fiber=None`` is every
    fibre, as a leading axis. Returns (fibres int64, values float64, shape, scalar)."""
    vals = np.asarray(values)
    if vals.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected real numbers, got dtype {vals.dtype}")
    vals = vals.astype(np.float64, copy=False)
    if fiber is None:
        fib = np.arange(psf.nspec, dtype=np.int64).reshape((psf.nspec,) + (1,) * vals.ndim)
    else:
        fib = as_fibers(fiber, "fiber", psf.nspec)
    try:
        fib_b, vals_b = np.broadcast_arrays(fib, vals)
    except ValueError:
        raise ValueError(f"fiber {fib.shape} and {name} {vals.shape} cannot be broadcast together") from None
    shape = fib_b.shape
    scalar = shape == ()
    return (np.ascontiguousarray(fib_b.ravel(), dtype=np.int64), np.ascontiguousarray(vals_b.ravel()), shape, scalar)


class Psf:
    """A specex GAUSS-HERMITE PSF (layouts v2 and v3, ``.fits.gz`` too).

    Parameters
    ----------
    path : str or os.PathLike
        The PSF file.

    Raises
    ------
    libextract.Error
        The file cannot be read (``code`` 'io_error') or lacks an HDU or keyword
        ('format_error'); the message names the file and what is missing.

    Notes
    -----
    Fibres are 0-based rows of the PSF. Pixel centres sit at integer coordinates, images
    are indexed ``[y, x]``. The evaluation methods take a fibre index (or array) and a
    value (or array) and broadcast them with numpy's rules; ``fiber=None`` means every
    fibre, as a new leading axis. Scalars in give a float out.

    Examples
    --------
    >>> psf = libextract.Psf("psf-r0.fits")
    >>> psf.x(0, 6000.0), psf.y([0, 1, 2], 6000.0)
    >>> psf.x(None, np.arange(5760, 5800, 0.8)).shape    # (nspec, 50)
    """

    def __init__(self, path: PathLike) -> None:
        self._psf = _ext.Psf.load(as_input_path(path, "path"))

    def __reduce__(self):
        # Pickled as its path (an MPI broadcast re-reads the file on each rank).
        return (type(self), (self.path,))

    # -- scalar properties ------------------------------------------------------------
    @property
    def path(self) -> str:
        """The file the PSF was read from."""
        return self._psf.path

    @property
    def format_version(self) -> int:
        """PSF layout version (PSFVER): 2 or 3."""
        return self._psf.format_version

    @property
    def nspec(self) -> int:
        """Number of fibres (FIBERMAX - FIBERMIN + 1)."""
        return self._psf.nspec

    @property
    def npix_x(self) -> int:
        """CCD columns (NPIX_X)."""
        return self._psf.npix_x

    @property
    def npix_y(self) -> int:
        """CCD rows (NPIX_Y)."""
        return self._psf.npix_y

    @property
    def hsize_x(self) -> int:
        """Stamp half width: stamps have 2*hsize_x+1 columns."""
        return self._psf.hsize_x

    @property
    def hsize_y(self) -> int:
        """Stamp half height: stamps have 2*hsize_y+1 rows."""
        return self._psf.hsize_y

    @property
    def psferr(self) -> float:
        """Fractional PSF model error used in chi2pix (PSFERR, else 0.01)."""
        return self._psf.psferr

    @property
    def wavemin(self) -> float:
        """Lower end of the Legendre domain of the PSF parameters (Angstrom)."""
        return self._psf.wavemin

    @property
    def wavemax(self) -> float:
        """Upper end of the Legendre domain of the PSF parameters (Angstrom)."""
        return self._psf.wavemax

    @property
    def wmin(self) -> float:
        """Smallest wavelength any fibre brings onto the CCD (specter's psf.wmin)."""
        return self._psf.wmin

    @property
    def wmax(self) -> float:
        """Largest wavelength any fibre brings onto the CCD (specter's psf.wmax)."""
        return self._psf.wmax

    @property
    def wmin_all(self) -> float:
        """Smallest wavelength every fibre brings onto the CCD (specter's psf.wmin_all)."""
        return self._psf.wmin_all

    @property
    def wmax_all(self) -> float:
        """Largest wavelength every fibre brings onto the CCD (specter's psf.wmax_all)."""
        return self._psf.wmax_all

    @property
    def param_names(self) -> List[str]:
        """Names of the PSF table's parameters ('GHSIGX', 'GH-1-0', 'TAILAMP', ...)."""
        return list(self._psf.param_names())

    def __repr__(self) -> str:
        return (f"libextract.Psf({self.path!r}: {self.nspec} fibres, {self.npix_y} x {self.npix_x} CCD, "
                f"{self.wavemin:g}..{self.wavemax:g} A)")

    # -- vectorised evaluation --------------------------------------------------------
    def _eval(self, what, fiber, values, name):
        fib, vals, shape, scalar = _broadcast(self, fiber, values, name)
        out = self._psf.eval(what, fib, vals).reshape(shape)
        return float(out) if scalar else out

    def x(self, fiber: Optional[npt.ArrayLike], wavelength: npt.ArrayLike) -> FloatOrArray:
        """Trace centre x (CCD column, pixel centres at integers) of ``fiber`` at
        ``wavelength`` (Angstrom); fibre and wavelength broadcast."""
        return self._eval("x", fiber, wavelength, "wavelength")

    def y(self, fiber: Optional[npt.ArrayLike], wavelength: npt.ArrayLike) -> FloatOrArray:
        """Trace centre y (CCD row) of ``fiber`` at ``wavelength`` (Angstrom); fibre and
        wavelength broadcast."""
        return self._eval("y", fiber, wavelength, "wavelength")

    def wavelength(self, fiber: Optional[npt.ArrayLike], y: npt.ArrayLike) -> FloatOrArray:
        """Wavelength (Angstrom) at CCD row ``y`` of ``fiber``: specter's least-squares
        Legendre fit of the inverse trace; fibre and y broadcast."""
        return self._eval("wavelength", fiber, y, "y")

    def angstroms_per_pixel(self, fiber: Optional[npt.ArrayLike], wavelength: npt.ArrayLike) -> FloatOrArray:
        """Angstrom per CCD row along the trace (specter's angstroms_per_pixel)."""
        return self._eval("angstroms_per_pixel", fiber, wavelength, "wavelength")

    def wdisp(self, fiber: Optional[npt.ArrayLike], wavelength: npt.ArrayLike) -> FloatOrArray:
        """Line width in Angstrom: angstroms_per_pixel x GHSIGY (specter's wdisp)."""
        return self._eval("wdisp", fiber, wavelength, "wavelength")

    def param(self, name: str, fiber: Optional[npt.ArrayLike], wavelength: npt.ArrayLike) -> FloatOrArray:
        """Any PSF table parameter (see :attr:`param_names`) at (fiber, wavelength)."""
        if not isinstance(name, str):
            raise TypeError(f"name: expected a parameter name, got {type(name).__name__}")
        if name not in self.param_names:
            raise ValueError(f"name: {name!r} is not a parameter of {self.path}")
        return self._eval(name, fiber, wavelength, "wavelength")

    def wavemin_fiber(self, fiber: Optional[npt.ArrayLike] = None) -> FloatOrArray:
        """Smallest wavelength whose trace is on the CCD (y = -0.5) for ``fiber``
        (None: every fibre)."""
        return self._eval("wavemin_fiber", fiber, 0.0, "fiber")

    def wavemax_fiber(self, fiber: Optional[npt.ArrayLike] = None) -> FloatOrArray:
        """Largest wavelength whose trace is on the CCD (y = NPIX_Y - 0.5) for ``fiber``
        (None: every fibre)."""
        return self._eval("wavemax_fiber", fiber, 0.0, "fiber")

    def spots(self, fibers: Optional[npt.ArrayLike], waves: npt.ArrayLike, compat: str = "specter",
              window: Optional[Tuple[int, int, int, int]] = None, backend: str = "auto",
              return_shapes: bool = False) -> Union[SpotsResult, SpotsWithShapes]:
        """Pixel-integrated PSF stamps of (fibre, wavelength) pairs.

        Parameters
        ----------
        fibers : int or array of int
            Fibre indices; broadcast against ``waves`` (None: every fibre, leading axis).
        waves : float or array of float
            Wavelengths in Angstrom.
        compat : {'specter', 'gpu_specter'}
            'specter': stamps cut at the CCD (or ``window``) edge, specter's rounding of
            the stamp origin; 'gpu_specter': full stamps at floor() origins, never cut.
        window : (xmin, xmax, ymin, ymax), optional
            Half-open CCD rectangle the stamps are cut to (default: the whole CCD).
        backend : {'auto', 'cpu', 'cuda'}
            Where the stamps are evaluated; results are bitwise identical on all.
        return_shapes : bool
            Also return each stamp's valid size.

        Returns
        -------
        stamps : ndarray, float64, shape ``S + (2*hsize_y+1, 2*hsize_x+1)``
            ``S`` is the broadcast shape of fibers and waves. ``stamps[..., j, i]`` is
            the value of CCD pixel ``(y = origins[..., 0] + j, x = origins[..., 1] + i)``;
            cells beyond a cut stamp's valid size are 0.
        origins : ndarray, int32, shape ``S + (2,)``
            ``(ylo, xlo)`` of each stamp, in array-index order; ``(-1, -1)`` for an
            empty stamp (outside the fibre's valid range or the window).
        shapes : ndarray, int32, shape ``S + (2,)``
            Only with ``return_shapes``: ``(ny, nx)`` valid rows and columns.
        """
        as_choice(compat, "compat", _COMPATS)
        as_choice(backend, "backend", _BACKENDS)
        if window is not None:
            try:
                window = tuple(int(v) for v in window)
            except (TypeError, ValueError):
                raise TypeError("window: expected (xmin, xmax, ymin, ymax) integers") from None
            if len(window) != 4:
                raise ValueError("window: expected (xmin, xmax, ymin, ymax)")
        fib, vals, shape, _ = _broadcast(self, fibers, waves, "waves")
        if not np.all(np.isfinite(vals)):
            raise ValueError("waves: contains NaN or Inf")
        values, xlo, ylo, nx, ny, _x, _y = self._psf.spots(fib, vals, compat, backend, window)
        stamps = values.reshape(shape + values.shape[1:])
        origins = np.stack([ylo, xlo], axis=-1).reshape(shape + (2,))
        if return_shapes:
            return stamps, origins, np.stack([ny, nx], axis=-1).reshape(shape + (2,))
        return stamps, origins
