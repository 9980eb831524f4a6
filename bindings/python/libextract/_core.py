"""Extraction entry points: gpu_specter's ``extract_frame`` convention (:func:`extract`),
specter's ``ex2d`` convention (:func:`ex2d`), the CLI's file-to-file path
(:func:`extract_file`), and the simulator used by the demo and the tests."""

from __future__ import annotations

import warnings
from typing import Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _libextract as _ext
from ._arrays import as_choice, as_input_path, as_int, as_number, as_path, as_real, as_real_image, as_wavelengths
from ._psf import Psf
from ._types import Ex2dResult, ExtractResult, PathLike, Progress, Report, Simulation, Wavelengths

__all__ = ["extract", "ex2d", "extract_file", "simulate", "write_synthetic_psf", "EXTRACT_MASK_BITS"]

# libextract::ExtractOptions as built by C++: the one place the defaults are written.
# The signatures below read theirs from it; validate_options applies the library's
# one validation (options.hpp), naming the Python argument.
_DEFAULTS = _ext.ExtractOptions()

#: The preproc MASK bits that exclude a pixel: desispec's extraction mask value
#: (``desispec.maskbits.extractmaskval``, 767), every ccdmask bit but BADREADNOISE (256).
#: Fold a preproc MASK into ivar as desispec does:
#: ``ivar * ((mask & libextract.EXTRACT_MASK_BITS) == 0)``.
EXTRACT_MASK_BITS = _ext.default_extract_mask_bits


def _as_psf(psf):
    if isinstance(psf, Psf):
        return psf
    if isinstance(psf, str) or hasattr(psf, "__fspath__"):
        return Psf(psf)
    raise TypeError(f"psf: expected a libextract.Psf or a path, got {type(psf).__name__}")


def _choice(value, name):
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a string, got {type(value).__name__}")
    return value


def _options(psf, wavelengths, *, wave_name="wavelengths", allow_grid=True, nspec=None, psferr=None, threads=None,
             **fields):
    """Converts the arguments (TypeError naming a wrong type), fills an ExtractOptions and
    validates it with the library's rules (ValueError naming the argument)."""
    o = _ext.ExtractOptions()
    array, grid = as_wavelengths(wavelengths, wave_name, allow_grid)
    if array is not None:
        o.wavelengths = array.tolist()
    o.grid = grid
    o.nspec = -1 if nspec is None else as_int(nspec, "nspec")
    o.psferr = None if psferr is None else as_number(psferr, "psferr")
    o.threads = _DEFAULTS.threads if threads is None else as_int(threads, "threads")
    for name, value in fields.items():
        default = getattr(_DEFAULTS, name)
        if isinstance(default, bool):
            setattr(o, name, bool(value))
        elif isinstance(default, int):
            setattr(o, name, as_int(value, name))
        elif isinstance(default, float):
            setattr(o, name, as_number(value, name))
        else:
            setattr(o, name, _choice(value, name))
    _ext.validate_options(o, None if psf is None else psf._psf)
    return o


def _as_progress(progress):
    if progress is not None and not callable(progress):
        raise TypeError(f"progress: expected a callable progress(done, total) or None, got {type(progress).__name__}")
    return progress


def _warn_nonfinite(count, what):
    if count:
        warnings.warn(f"libextract: {count} NaN/Inf pixels or ivar outside 0..1e20 in {what} were masked (ivar set to 0)",
                      RuntimeWarning, stacklevel=3)


def extract(image: npt.ArrayLike, ivar: npt.ArrayLike, psf: Union[Psf, PathLike], wavelengths: Wavelengths = None,
            specmin: int = _DEFAULTS.specmin, nspec: Optional[int] = None, bundlesize: int = _DEFAULTS.bundlesize,
            nsubbundles: int = _DEFAULTS.nsubbundles, nwavestep: int = _DEFAULTS.nwavestep,
            regularize: float = _DEFAULTS.regularize, psferr: Optional[float] = _DEFAULTS.psferr,
            pixpad_frac: float = _DEFAULTS.pixpad_frac, wavepad_frac: float = _DEFAULTS.wavepad_frac,
            decorrelate_fibers: bool = _DEFAULTS.decorrelate_fibers, model: bool = _DEFAULTS.model,
            compat: str = _DEFAULTS.compat, backend: str = _DEFAULTS.backend,
            threads: Optional[int] = _DEFAULTS.threads, *, wavepad: int = _DEFAULTS.wavepad,
            device: int = _DEFAULTS.device, batch_patches: int = _DEFAULTS.batch_patches, diagnostics: bool = False,
            progress: Optional[Progress] = None) -> ExtractResult:
    """Extracts the spectra of a CCD image by spectroperfectionism (gpu_specter's
    ``extract_frame`` convention; DESI's defaults, those of libextract::ExtractOptions,
    shown in the signature).

    Parameters
    ----------
    image, ivar : 2-D array, float32 or float64, shape (NPIX_Y, NPIX_X)
        The whole CCD, ``[y, x]``, in electrons, and its inverse variance; ivar = 0
        marks a masked pixel (fold a preproc MASK in first, as desispec does:
        ``ivar * ((mask & libextract.EXTRACT_MASK_BITS) == 0)``).
        C- or Fortran-ordered, strided or big-endian (astropy FITS data) arrays all give
        identical results: they are converted once, to native float64. NaN/Inf pixels
        (or ivar) are masked, with a RuntimeWarning.
    psf : libextract.Psf or path
    wavelengths : str, tuple, array or None
        ``"wmin,wmax,dw"`` or ``(wmin, wmax, dw)``: the grid
        ``numpy.arange(wmin, wmax + dw/2, dw)`` (what ``libextract extract -w`` takes);
        a 1-D array or list: these wavelengths (must be linear). Only the grid's values
        count: every form becomes that array first and the padding steps by
        ``wave[1] - wave[0]``, so a triple and the array numpy builds from it give the
        same result bit for bit (the frame header keeps a triple's WAVESTEP); None: the
        PSF's WAVEMIN..WAVEMAX with dw = 0.8.
    specmin, nspec : int
        Fibres ``[specmin, specmin + nspec)``; nspec None: to the PSF's last fibre.
    bundlesize, nsubbundles, nwavestep : int
        Fibres per independent bundle, sub-bundles per bundle (the sub-bundle size must
        divide the bundle in gpu_specter mode), core wavelength bins per patch.
    regularize : float
        Ridge regularisation added to the normal equations.
    psferr : float or None
        Fractional PSF error used in chi2pix; None: the PSF's PSFERR, else 0.01.
    pixpad_frac, wavepad_frac : float
        Padding controls, as in desi_extract_spectra.
    decorrelate_fibers : bool
        Decorrelate the noise across fibres (full iCov^1/2) instead of per fibre.
    model : bool
        Also return the model image (``modelimage``).
    compat : {'gpu_specter', 'specter'}
        Decomposition rules: DESI production (gpu_specter) or classic specter.
    backend : {'auto', 'cpu', 'cuda'}
        'auto' uses CUDA when it was compiled and a GPU answers.
    threads : int or None
        CPU threads (None or 0: OpenMP's default). Results never depend on it.
    wavepad, device, batch_patches : int, keyword-only
        gpu_specter's base wavelength padding in bins; CUDA device; patches per
        backend batch (0: one bundle). Results never depend on batch_patches.
    progress : callable or None, keyword-only
        Called as ``progress(done, total)`` (patches) after each batch, with the GIL
        held; an exception it raises stops the extraction and propagates.
    diagnostics : bool, keyword-only
        Add a ``diagnostics`` entry: patch counts, per-stage timings and, per patch,
        the fibres and columns it stored, its reciprocal condition number and status.

    Returns
    -------
    dict
        gpu_specter's keys, ``nspec`` rows each, float64 unless noted:
        ``wave`` [nwave]; ``specflux`` [nspec, nwave] (electrons/Angstrom);
        ``specivar`` [nspec, nwave]; ``specmask`` [nspec, nwave] uint32, desispec's
        spectrum mask bits as in the frame file (gpu_specter returns ivar == 0 as int
        there; desispec recomputes its mask either way); ``Rdiags`` [nspec, 2*ndiag+1,
        nwave] (resolution band, DIA layout); ``chi2pix``, ``pixmask_fraction``
        [nspec, nwave]; ``modelimage`` [NPIX_Y, NPIX_X] with ``model=True``, else None.
        The arrays own the C++ results (no copy).

    Raises
    ------
    TypeError
        An argument of the wrong type (e.g. an integer image); the message names it.
    ValueError
        A wrong shape or value: image not the PSF's CCD size, ivar shaped unlike image,
        negative ivar, an image without any finite pixel of ivar > 0, options out of
        range; the message names the argument.
    libextract.Error
        Raised by the C++ library (``code``, ``message``); its 'invalid_argument'
        code is a :class:`libextract.InvalidArgumentError`, also a ValueError (e.g. a
        wavelength grid that leaves the CCD).

    Notes
    -----
    The GIL is released during the extraction; Ctrl-C stops it between batches.
    """
    psf = _as_psf(psf)
    img = as_real_image(image, "image")
    iv = as_real_image(ivar, "ivar")
    args = _options(psf, wavelengths, specmin=specmin, nspec=nspec, bundlesize=bundlesize, nsubbundles=nsubbundles,
                    nwavestep=nwavestep, regularize=regularize, psferr=psferr, pixpad_frac=pixpad_frac,
                    wavepad_frac=wavepad_frac, decorrelate_fibers=decorrelate_fibers, model=model, compat=compat,
                    backend=backend, threads=threads, wavepad=wavepad, device=device, batch_patches=batch_patches)
    result, nonfinite = _ext.extract(psf._psf, img, iv, None, args, bool(diagnostics), _as_progress(progress))
    _warn_nonfinite(nonfinite, "image/ivar")
    return result


def ex2d(image: npt.ArrayLike, imageivar: npt.ArrayLike, psf: Union[Psf, PathLike], specmin: int, nspec: int,
         wavelengths: npt.ArrayLike, xyrange: Optional[Tuple[int, int, int, int]] = None, regularize: float = 0.0,
         ndecorr: bool = False, bundlesize: int = 25, nsubbundles: int = 1, wavesize: int = 50,
         full_output: bool = False, verbose: bool = False, debug: bool = False, psferr: Optional[float] = None,
         pixpad_frac: float = 0.8, wavepad_frac: float = 0.2, *, backend: str = "auto",
         threads: Optional[int] = None) -> Ex2dResult:
    """Extracts spectra with specter's ``ex2d`` arguments, defaults and return
    convention, and specter's decomposition rules (``compat='specter'``).

    Parameters
    ----------
    image, imageivar : 2-D array, float32 or float64
        The whole CCD ``[y, x]`` or, with ``xyrange``, the cut-out it covers; ivar = 0
        marks a bad pixel. Any order or byte order (converted once to native float64).
    psf : libextract.Psf or path
    specmin, nspec : int
        Fibres ``[specmin, specmin + nspec)``.
    wavelengths : 1-D array
        Linear wavelength grid (Angstrom).
    xyrange : (xmin, xmax, ymin, ymax), optional
        CCD rectangle that a cut-out ``image`` covers (``image.shape == (ymax - ymin,
        xmax - xmin)``). The engine works on the whole CCD, so the cut-out is embedded
        in a zero image of CCD size with ivar = 0 outside it. Pixels outside carry no
        information, as in specter; but specter also clips each patch's pixel rows (and
        hence its wavelength padding) to xyrange while here patches keep their usual
        size, so results can differ slightly from specter's for patches that reach past
        the cut-out. They are identical to extracting the embedded whole-CCD image.
    regularize : float
        Ridge term (specter adds regularize**2 to the diagonal).
    ndecorr : bool
        Decorrelate the noise across fibres (full-matrix square root).
    bundlesize, nsubbundles, wavesize : int
        25, 1 (specter's default; DESI uses 5), 50 core wavelengths per patch.
    full_output : bool
        Return the dictionary below instead of the tuple.
    verbose, debug : bool
        Accepted for compatibility; ignored.
    psferr : float or None
        Fractional PSF error for chi2pix; None: the PSF's PSFERR, else 0.01.
    pixpad_frac, wavepad_frac : float
        Padding controls (0.8, 0.2).
    backend : {'auto', 'cpu', 'cuda'}, keyword-only
    threads : int or None, keyword-only

    Returns
    -------
    (flux, ivar, Rdata)
        flux and ivar [nspec, nwave] in electrons/Angstrom, Rdata [nspec, 2*ndiag+1,
        nwave]; or with ``full_output`` the dict ``{flux, ivar, resolution_data,
        modelimage, pixmask_fraction, chi2pix}``, where modelimage has the shape of
        ``image`` (the cut-out when xyrange is given).

    Raises
    ------
    TypeError, ValueError, libextract.Error
        As :func:`extract`; a cut-out whose shape does not match xyrange, or an
        xyrange outside the CCD, is a ValueError naming ``xyrange``.
    """
    del verbose, debug
    psf = _as_psf(psf)
    img = as_real_image(image, "image")
    iv = as_real_image(imageivar, "imageivar")
    if iv.shape != img.shape:
        raise ValueError(f"imageivar: shape {iv.shape} differs from image's {img.shape}")
    origin = None
    if xyrange is not None:
        try:
            xmin, xmax, ymin, ymax = (as_int(v, "xyrange") for v in xyrange)
        except TypeError:
            raise TypeError("xyrange: expected (xmin, xmax, ymin, ymax) integers") from None
        except ValueError:
            raise ValueError("xyrange: expected (xmin, xmax, ymin, ymax)") from None
        if img.shape != (ymax - ymin, xmax - xmin):
            raise ValueError(f"xyrange: ({xmin}, {xmax}, {ymin}, {ymax}) covers {ymax - ymin} x {xmax - xmin} "
                             f"pixels but image has shape {img.shape}")
        origin = (ymin, xmin)
    if wavelengths is None:
        raise TypeError("wavelengths: ex2d needs a 1-D array of wavelengths")
    if nspec is None:
        raise TypeError("nspec: ex2d needs the number of fibres")
    args = _options(psf, wavelengths, allow_grid=False, specmin=specmin, nspec=nspec, bundlesize=bundlesize,
                    nsubbundles=nsubbundles, nwavestep=wavesize, regularize=regularize, psferr=psferr,
                    pixpad_frac=pixpad_frac, wavepad_frac=wavepad_frac, decorrelate_fibers=ndecorr,
                    model=full_output, compat="specter", backend=backend, threads=threads)
    try:
        result, nonfinite = _ext.extract(psf._psf, img, iv, origin, args, False)
    except ValueError as e:  # the engine says "ivar"; ex2d's argument is imageivar
        text = str(e)
        if text.startswith("ivar:"):
            raise ValueError("imageivar:" + text[len("ivar:"):]) from None
        raise
    _warn_nonfinite(nonfinite, "image/imageivar")
    if not full_output:
        return result["specflux"], result["specivar"], result["Rdiags"]
    return {
        "flux": result["specflux"],
        "ivar": result["specivar"],
        "resolution_data": result["Rdiags"],
        "modelimage": result["modelimage"],
        "pixmask_fraction": result["pixmask_fraction"],
        "chi2pix": result["chi2pix"],
    }


def extract_file(preproc_path: PathLike, psf_path: PathLike, output_path: PathLike, *, wavelength: Wavelengths = None,
                 specmin: int = _DEFAULTS.specmin, nspec: Optional[int] = None,
                 regularize: float = _DEFAULTS.regularize, bundlesize: int = _DEFAULTS.bundlesize,
                 nsubbundles: int = _DEFAULTS.nsubbundles, nwavestep: int = _DEFAULTS.nwavestep,
                 wavepad: int = _DEFAULTS.wavepad, pixpad_frac: float = _DEFAULTS.pixpad_frac,
                 wavepad_frac: float = _DEFAULTS.wavepad_frac, psferr: Optional[float] = _DEFAULTS.psferr,
                 decorrelate_fibers: bool = _DEFAULTS.decorrelate_fibers, compat: str = _DEFAULTS.compat,
                 backend: str = _DEFAULTS.backend, device: int = _DEFAULTS.device,
                 threads: Optional[int] = _DEFAULTS.threads, batch_patches: int = _DEFAULTS.batch_patches,
                 dtype: str = "f4", model: Optional[PathLike] = None, mask_bits: int = EXTRACT_MASK_BITS,
                 progress: Optional[Progress] = None) -> Report:
    """Extracts a preproc file into a frame file, as ``libextract extract`` does.

    Reads ``preproc_path`` (IMAGE, IVAR, MASK HDUs, .fits.gz too; ivar set to 0 where
    ``MASK & mask_bits != 0``, as desispec does) and ``psf_path``, extracts, and writes desispec's frame layout (FLUX,
    IVAR, MASK, WAVELENGTH, RESOLUTION, FIBERMAP when the input has one, CHI2PIX,
    PIXMASK_FRACTION) through a temporary name, so a failure leaves no partial file.

    Parameters
    ----------
    preproc_path, psf_path, output_path : str or os.PathLike
    wavelength : str, tuple, array or None
        As ``-w``: ``"wmin,wmax,dw"`` or ``(wmin, wmax, dw)``, an explicit linear grid,
        or None (the PSF's range, dw 0.8).
    specmin, nspec, regularize, bundlesize, nsubbundles, nwavestep, wavepad,
    pixpad_frac, wavepad_frac, psferr, decorrelate_fibers, compat, backend, device,
    threads, batch_patches :
        The CLI's options of the same names, with its defaults (see :func:`extract`).
    dtype : {'f4', 'f8'}
        Float type of the output HDUs ('f8' for validation).
    model : str or os.PathLike, optional
        Also write the model image to this file.
    mask_bits : int
        Preproc MASK bits that exclude a pixel (``libextract extract --mask-bits``);
        default :data:`EXTRACT_MASK_BITS`, desispec's 767: a pixel flagged only
        BADREADNOISE (256) is extracted.
    progress : callable or None
        ``progress(done, total)`` after each batch of patches, as in :func:`extract`.

    Returns
    -------
    dict
        The run's report: patches, retried_patches, failed_patches, backend, threads,
        seconds, stages (per-stage timings), per-patch diagnostics, nonfinite_pixels.

    Raises
    ------
    TypeError, ValueError
        A bad argument, named.
    libextract.Error
        Unreadable or malformed files ('io_error', 'format_error'), inconsistent
        options ('invalid_argument'), ...; the message names the file, HDU or keyword.
    """
    pre = as_path(preproc_path, "preproc_path")
    psf = as_path(psf_path, "psf_path")
    out = as_path(output_path, "output_path")
    model_path = None if model is None else as_path(model, "model")
    as_choice(dtype, "dtype", ("f4", "f8"))
    args = _options(None, wavelength, wave_name="wavelength", specmin=specmin, nspec=nspec, bundlesize=bundlesize,
                    nsubbundles=nsubbundles, nwavestep=nwavestep, regularize=regularize, psferr=psferr,
                    pixpad_frac=pixpad_frac, wavepad_frac=wavepad_frac, decorrelate_fibers=decorrelate_fibers,
                    model=model_path is not None, compat=compat, backend=backend, threads=threads, wavepad=wavepad,
                    device=device, batch_patches=batch_patches)
    as_input_path(psf, "psf_path")
    try:
        report = _ext.extract_file(pre, psf, out, model_path, args, dtype, as_int(mask_bits, "mask_bits"),
                                   _as_progress(progress))
    except _ext.FileError:
        # The options are checked against the PSF before the preproc is read; a missing
        # preproc is then a FileNotFoundError naming the argument.
        as_input_path(pre, "preproc_path")
        raise
    _warn_nonfinite(report["nonfinite_pixels"], pre)
    return report


def simulate(psf: Union[Psf, PathLike], wavelength: Wavelengths = (5760.0, 5919.2, 0.8), specmin: int = 0,
             nspec: int = 25, seed: int = 1, readnoise: float = 3.0, cosmics: int = 0, badpix: int = 0,
             noiseless: bool = False, backend: str = "auto") -> Simulation:
    """Simulates a DESI preproc image with known truth, as the shared reference cases
    were made: spectra on a lattice with the grid's step and phase (62 bins beyond the
    grid on each side), projected through ``psf`` with specter's stamps, Poisson plus
    Gaussian read noise, ivar = 1 / (readnoise**2 + model), masked defects.

    Parameters
    ----------
    psf : libextract.Psf or path
    wavelength : str or (wmin, wmax, dw)
        The extraction grid the truth lines up with.
    specmin, nspec : int
        Fibres to simulate.
    seed : int
        Random seed (the result is a pure function of the arguments).
    readnoise : float
        Gaussian read noise in electrons (> 0).
    cosmics, badpix : int
        Numbers of cosmic-ray tracks and bad pixels (ivar = 0 there, MASK 16 / 1).
    noiseless : bool
        Image = model exactly.
    backend : {'auto', 'cpu', 'cuda'}
        Where the stamps are evaluated (results identical).

    Returns
    -------
    dict
        ``image``, ``ivar`` [NPIX_Y, NPIX_X] float64 (ivar already 0 on defects),
        ``mask`` int32 (preproc MASK bits), ``truth_wave`` [nsim] lattice wavelengths,
        ``truth_flux`` / ``truth_phot`` [nspec, nsim] (electrons/Angstrom, electrons per
        bin), ``grid_offset`` (lattice bin of the grid's first bin), ``footprint`` and
        ``pack_window`` (xmin, xmax, ymin, ymax).
    """
    psf = _as_psf(psf)
    _, grid = as_wavelengths(wavelength, "wavelength", True)
    if grid is None:
        raise TypeError("wavelength: expected 'wmin,wmax,dw' or (wmin, wmax, dw)")
    specmin = as_int(specmin, "specmin", 0, psf.nspec - 1)
    nspec = as_int(nspec, "nspec", 1, psf.nspec - specmin)
    return _ext.simulate(psf._psf, grid, specmin, nspec, as_int(seed, "seed", 0), _positive(readnoise, "readnoise"),
                         as_int(cosmics, "cosmics", 0), as_int(badpix, "badpix", 0), bool(noiseless),
                         _choice(backend, "backend"))


def _positive(value, name):
    v = as_real(value, name)
    if not v > 0:
        raise ValueError(f"{name}: must be > 0, got {v}")
    return v


def write_synthetic_psf(path: PathLike, camera: str = "r", seed: int = 1, nspec: int = 500) -> str:
    """Writes a synthetic DESI-like GAUSS-HERMITE PSF (v3 layout: XTRACE, YTRACE, PSF)
    for camera 'b', 'r' or 'z', with smooth traces, realistic widths and small Hermite
    terms drawn from ``seed``; for demos and tests without real data. Returns the path.
    """
    p = as_path(path, "path")
    as_choice(camera, "camera", ("b", "r", "z"))
    _ext.write_synthetic_psf(p, camera, as_int(seed, "seed", 0), as_int(nspec, "nspec", 1))
    return p
