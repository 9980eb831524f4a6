"""Where the C++ library's log records go in Python: desiutil's logger
(``desiutil.log.get_logger()``) when desiutil is importable, as DESI's codes log, else
``logging.getLogger("libextract")``. Each record keeps the C++ file, line and function,
so desiutil's format reads ``WARNING:preproc_io.cpp:72:read_preproc: message``."""

from __future__ import annotations

import atexit
import logging
from typing import Optional

from . import _libextract as _ext

__all__ = ["get_logger", "set_logger"]

_logger: Optional[logging.Logger] = None


def get_logger() -> logging.Logger:
    """The logger libextract's records go to (found on first use)."""
    global _logger
    if _logger is None:
        try:
            from desiutil.log import get_logger as desi_logger
        except ImportError:
            _logger = logging.getLogger("libextract")
        else:
            _logger = desi_logger()
    return _logger


def set_logger(logger: Optional[logging.Logger]) -> None:
    """Sends libextract's records to ``logger`` (None: back to the default choice)."""
    global _logger
    _logger = logger


def _emit(level: int, file: str, line: int, function: str, message: str) -> None:
    logger = get_logger()
    if logger.isEnabledFor(level):
        logger.handle(logger.makeRecord(logger.name, level, file, line, message, None, None, func=function))


def _install() -> None:
    # The Python logger decides what is shown, so every record crosses over.
    _ext.set_log_sink(_emit)
    _ext.set_log_level(logging.DEBUG)
    # The sink holds a Python function: drop it before the interpreter goes away.
    atexit.register(_ext.set_log_sink, None)


_install()
