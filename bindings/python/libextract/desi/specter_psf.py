"""``specter.psf`` on libextract: :func:`load_psf`."""

from .._psf import Psf

__all__ = ["load_psf"]


def load_psf(filename):
    """Reads a GAUSS-HERMITE PSF file. The :class:`libextract.Psf` it returns has what
    desispec reads of a specter PSF (``nspec``, ``npix_y``, ``wmin_all``, ``wmax_all``,
    ``wavelength(ispec, y=...)``) and is what :func:`specter.extract.ex2d` takes."""
    return Psf(filename)
