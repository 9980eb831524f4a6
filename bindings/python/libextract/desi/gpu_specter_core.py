"""``gpu_specter.core`` on libextract: :func:`extract_frame`, with gpu_specter's
signature, positional order, defaults and result keys."""

import logging
import time

import numpy as np

from .. import _core
from .._psf import Psf
from . import gpu_specter_io

__all__ = ["extract_frame"]

log = logging.getLogger("libextract.desi")


def _stamp(timing, name):
    if isinstance(timing, dict):
        timing[name] = time.time()


def _host(array, name):
    """A numpy array of `array`; device arrays (``__cuda_array_interface__``, e.g. CuPy)
    are copied to the host."""
    if hasattr(array, "__cuda_array_interface__"):
        if not hasattr(array, "get"):
            raise TypeError(f"{name}: a device array without .get() (expected a CuPy array)")
        return array.get()
    return np.asarray(array)


def _psf_of(psf):
    if isinstance(psf, gpu_specter_io.PsfTables):
        return psf.psf
    if isinstance(psf, Psf):
        return psf
    return Psf(psf)  # a path (or an error naming psf)


def _backend(gpu):
    """gpu_specter's ``gpu``: true asks for the GPU, which libextract uses when CUDA is
    compiled in and a device answers; otherwise the CPU, with a log line saying so."""
    if not gpu:
        return "cpu"
    from .. import cuda_available

    if cuda_available():
        return "cuda"
    log.info("libextract: gpu=True but no CUDA device is usable (this build: %s); extracting on the CPU",
             "CUDA compiled" if _core._ext.cuda_compiled() else "CPU only")
    return "cpu"


def extract_frame(img, psf, bundlesize, specmin, nspec, wavelength=None, nwavestep=50, nsubbundles=1, model=None,
                  regularize=0, psferr=None, comm=None, gpu=None, loglevel=None, timing=None, wavepad=10,
                  pixpad_frac=0.8, wavepad_frac=0.2, batch_subbundle=True, ranks_per_bundle=None):
    """Extracts fibres ``[specmin, specmin + nspec)`` of a whole-CCD image, as
    gpu_specter's ``extract_frame`` does, with libextract's engine (gpu_specter rules).

    ``img`` is a dict with ``'image'`` and ``'ivar'`` (numpy or CuPy arrays; other keys
    ignored), ``psf`` what :func:`gpu_specter.io.read_psf` returned (or a
    :class:`libextract.Psf`, or a path), ``wavelength`` a ``(wmin, wmax, dw)`` tuple
    (the grid ``numpy.arange(wmin, wmax + dw/2, dw)``) or None for the PSF's range.
    ``loglevel``, ``batch_subbundle`` and ``ranks_per_bundle`` are accepted and do not
    change the result. ``timing``, when a dict, receives ``time.time()`` stamps under
    the stage names ``start``, ``inputs``, ``extracted`` and ``done``.

    With an mpi4py communicator ``comm``, every rank calls this; the ranks other than 0
    may pass ``img`` and ``psf`` as None (they are broadcast from rank 0), every rank
    solves a share of the patches, and rank 0 stitches them: it returns the result,
    bitwise equal to a one-rank run; the others return None.

    Returns gpu_specter's dict: ``specflux``, ``specivar`` [nspec, nwave]
    (electrons/Angstrom), ``specmask`` (``specivar == 0`` as int, as gpu_specter
    returns it), ``wave``, ``Rdiags`` [nspec, 2*ndiag+1, nwave], ``pixmask_fraction``,
    ``chi2pix`` [nspec, nwave] and ``modelimage`` (the CCD image, or None).
    """
    del loglevel, batch_subbundle, ranks_per_bundle
    _stamp(timing, "start")
    options = dict(specmin=specmin, nspec=nspec, bundlesize=bundlesize, nsubbundles=nsubbundles,
                   nwavestep=nwavestep, regularize=regularize, psferr=psferr, pixpad_frac=pixpad_frac,
                   wavepad_frac=wavepad_frac, model=bool(model), backend=_backend(gpu), wavepad=wavepad)
    if comm is not None and comm.size > 1:
        from . import mpi_extract

        result = mpi_extract.extract(comm, img, psf, wavelength, options, _host, _psf_of, timing, _stamp)
    else:
        image, ivar = _host(img["image"], "img['image']"), _host(img["ivar"], "img['ivar']")
        lpsf = _psf_of(psf)
        _stamp(timing, "inputs")
        result = _core.extract(image, ivar, lpsf, wavelength, **options)
        _stamp(timing, "extracted")
    if result is not None:
        result["specmask"] = (result["specivar"] == 0).astype(np.int32)
    _stamp(timing, "done")
    return result
