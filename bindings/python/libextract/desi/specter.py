"""libextract's stand-in for the ``specter`` package (see :mod:`libextract.desi`)."""

from .. import __version__  # desispec writes it to the frame's SPECTER keyword

__all__ = ["__version__"]
