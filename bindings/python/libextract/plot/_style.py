"""What every picture shares: an off-screen figure (no pyplot state, no display
needed), one look, and the refusal to write a picture that shows nothing."""

from __future__ import annotations

import os
import tempfile

import numpy as np

__all__ = ["BlankPictureError", "new_figure", "require_data", "check_drawn", "save", "GUIDE"]

DPI = 110
# gid of lines that only guide the eye (zero lines, N(0,1) curves): they do not make a
# panel count as drawn.
GUIDE = "guide"


class BlankPictureError(ValueError):
    """A picture would show nothing: its data are empty, not finite or constant."""


def new_figure(width, height):
    """A matplotlib Figure with constrained layout (labels never overlap), Agg canvas."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("libextract.plot needs matplotlib: pip install 'libextract[plot]'") from None
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.set_dpi(DPI)
    return fig


def require_data(what, values, allow_constant=False):
    """Raises BlankPictureError unless ``values`` has finite entries that are not all
    equal (``allow_constant``: a constant is information, e.g. "no pixel masked")."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        raise BlankPictureError(f"{what}: nothing to draw (no finite value)")
    if not allow_constant and finite.size > 1 and np.ptp(finite) == 0:
        raise BlankPictureError(f"{what}: nothing to draw (every value is {finite[0]:g})")
    return v


def _artist_has_data(artist):
    if artist.get_gid() == GUIDE:
        return False
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    if isinstance(artist, AxesImage):
        a = np.ma.filled(np.ma.asarray(artist.get_array(), dtype=float), np.nan)
        return bool(np.any(np.isfinite(a)))
    if isinstance(artist, Line2D):
        x, y = (np.asarray(v, dtype=float) for v in artist.get_data())
        return int(np.sum(np.isfinite(x) & np.isfinite(y))) >= 2
    if isinstance(artist, Rectangle):
        return artist.get_width() != 0 and artist.get_height() != 0
    if isinstance(artist, Patch):  # e.g. a histogram's StepPatch
        vertices = artist.get_path().vertices
        return vertices.size > 0 and np.ptp(vertices[:, 1]) > 0
    if isinstance(artist, Collection):
        return len(artist.get_paths()) > 0 or len(artist.get_offsets()) > 0
    return False


def check_drawn(fig):
    """Raises BlankPictureError when a panel of ``fig`` (colour bars aside) holds no data."""
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    if not panels:
        raise BlankPictureError("the figure has no panel")
    for ax in panels:
        artists = list(ax.images) + list(ax.lines) + list(ax.patches) + list(ax.collections)
        if not any(_artist_has_data(a) for a in artists):
            raise BlankPictureError(f"panel '{ax.get_title() or ax.get_ylabel()}' is blank")


def save(fig, path):
    """Checks the figure is drawn, then writes it as PNG through a temporary name in the
    same folder renamed into place, so a failure never leaves a partial picture."""
    check_drawn(fig)
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".libextract-plot-", suffix=".png", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", dpi=DPI)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp's 0600 is for the temporary only
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise
    return path
