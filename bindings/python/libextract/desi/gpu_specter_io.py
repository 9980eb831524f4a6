"""``gpu_specter.io`` on libextract: :func:`read_psf`."""

from .._psf import Psf

__all__ = ["read_psf", "PsfTables"]


class _Meta:
    """What desispec reads of an astropy Table here: its ``.meta``."""

    def __init__(self, meta):
        self.meta = meta


class PsfTables(dict):
    """gpu_specter's PSF: a dict keyed ``'PSF'``, ``'XTRACE'`` and ``'YTRACE'`` whose
    ``.meta`` carry the keywords desispec reads (``psf['PSF'].meta['WAVEMIN']``, ...),
    with the loaded :class:`libextract.Psf` as ``.psf``. Pickles as its path (an MPI
    broadcast re-reads the file on each rank)."""

    def __init__(self, psf):
        super().__init__()
        self.psf = psf
        self["PSF"] = _Meta({"WAVEMIN": psf.wavemin, "WAVEMAX": psf.wavemax, "PSFERR": psf.psferr,
                             "NPIX_X": psf.npix_x, "NPIX_Y": psf.npix_y, "HSIZEX": psf.hsize_x,
                             "HSIZEY": psf.hsize_y, "FIBERMIN": 0, "FIBERMAX": psf.nspec - 1})
        trace = {"WAVEMIN": psf._psf.trace_wavemin, "WAVEMAX": psf._psf.trace_wavemax}
        self["XTRACE"] = _Meta(dict(trace))
        self["YTRACE"] = _Meta(dict(trace))

    def __reduce__(self):
        return (read_psf, (self.psf.path,))


def read_psf(filename):
    """Reads a GAUSS-HERMITE PSF file; returns a :class:`PsfTables`."""
    return PsfTables(Psf(filename))
