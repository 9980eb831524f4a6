"""libextract: spectroperfectionism extraction of DESI spectra (Bolton & Schlegel 2010)
on CPUs and GPUs, from Python.

The C++ library does the work; this package converts numpy arrays at the boundary
(float32/float64, any order, big-endian FITS data: converted once to native float64),
releases the GIL while extracting, and returns numpy arrays that own the results.

Main entry points
-----------------
Psf(path)
    A specex GAUSS-HERMITE PSF: traces ``x``, ``y``, inverse ``wavelength``, ``spots``.
extract(image, ivar, psf, wavelengths, ...)
    gpu_specter's ``extract_frame`` convention: a dict with ``wave``, ``specflux``,
    ``specivar``, ``specmask``, ``Rdiags``, ``chi2pix``, ``pixmask_fraction``,
    ``modelimage``.
ex2d(image, imageivar, psf, specmin, nspec, wavelengths, ...)
    specter's ``ex2d`` convention: ``(flux, ivar, Rdata)`` or the full_output dict.
extract_file(preproc_path, psf_path, output_path, **options)
    What ``libextract extract`` does: files in, frame file out.
plan_patches(psf, wavelengths, ...)
    libextract's patch plan for those options: fibres, wavelength bins and CCD pixels
    of every patch.
simulate(psf, ...), write_synthetic_psf(path, ...)
    Test images with known truth, and a synthetic PSF, without external data.
Error, InvalidArgumentError, FormatError, FileError, MissingFileError
    Errors of the C++ library, with ``code`` and ``message``; each kind is also the
    built-in a Python caller expects: ValueError (invalid_argument, format_error),
    OSError (io_error), FileNotFoundError (an input file that does not exist).
get_logger(), set_logger(logger)
    Where the library's log records go: desiutil's logger when desiutil is
    importable, else ``logging.getLogger("libextract")``.
"""

from typing import Dict, Type

try:
    from . import _libextract
except ImportError as exc:  # the source folder, without the compiled module beside it
    raise ImportError(f"libextract: the compiled module _libextract is missing ({exc}); build with "
                      "-DLIBEXTRACT_BUILD_PYTHON=ON and use <build>/bindings/python/package, or pip install .") from exc
from . import _log  # noqa: F401  (routes the C++ log to desiutil's or Python's logger)
from ._core import EXTRACT_MASK_BITS, ex2d, extract, extract_file, simulate, write_synthetic_psf
from ._log import get_logger, set_logger
from ._plan import plan_patches
from ._psf import Psf

__version__ = _libextract.__version__
# The error classes are made by the extension module (so C++ errors map onto them);
# typed here by the built-in each one also is.
Error: Type[RuntimeError] = _libextract.Error
InvalidArgumentError: Type[ValueError] = _libextract.InvalidArgumentError
FormatError: Type[ValueError] = _libextract.FormatError
FileError: Type[OSError] = _libextract.FileError
MissingFileError: Type[FileNotFoundError] = _libextract.MissingFileError


def cuda_available() -> bool:
    """True when this build contains the CUDA backend and a GPU answers."""
    return _libextract.cuda_compiled() and _libextract.cuda_device_count() > 0


def build_info() -> Dict[str, object]:
    """What this build contains: version, CUDA compiled, CUDA devices, OpenMP."""
    return {
        "version": __version__,
        "cuda_compiled": bool(_libextract.cuda_compiled()),
        "cuda_devices": int(_libextract.cuda_device_count()),
        "openmp": bool(_libextract.openmp_enabled()),
    }


def install_as_gpu_specter() -> None:
    """Makes ``import gpu_specter`` (``.io``, ``.core``, ``.mpi``) give libextract's drop-in
    for desispec (:mod:`libextract.desi`), replacing a module of that name already imported."""
    from .desi import install_as_gpu_specter as install

    install()


def install_as_specter() -> None:
    """Makes ``import specter`` (``.psf``, ``.extract``) give libextract's drop-in for desispec
    (:mod:`libextract.desi`), replacing a module of that name already imported (PyPI's
    unrelated ``specter`` included)."""
    from .desi import install_as_specter as install

    install()


__all__ = [
    "Psf",
    "install_as_gpu_specter",
    "install_as_specter",
    "extract",
    "ex2d",
    "extract_file",
    "plan_patches",
    "EXTRACT_MASK_BITS",
    "simulate",
    "write_synthetic_psf",
    "Error",
    "InvalidArgumentError",
    "FormatError",
    "FileError",
    "MissingFileError",
    "cuda_available",
    "build_info",
    "get_logger",
    "set_logger",
    "__version__",
]
