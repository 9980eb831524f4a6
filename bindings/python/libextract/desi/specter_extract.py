"""``specter.extract`` on libextract: :func:`ex2d`, libextract's own, which has
specter's signature, defaults and return convention."""

from .._core import ex2d

__all__ = ["ex2d"]
