"""The residual picture: (data − model)·√ivar inside the patch windows, and its
histogram against N(0, 1) with the robust width."""

from __future__ import annotations

import numpy as np

from ._region import zoom_box
from ._stats import inner_patches, residual_image, robust_width, window_mask
from ._style import GUIDE, new_figure, require_data, save

__all__ = ["draw_residual"]

CLIP = 5.0  # colour range of the map, in σ
HIST_RANGE = 6.0  # histogram range, in σ


def draw_residual(image, ivar, model, plan, path, label=None):
    """Draws (image − model)·√ivar over the plan's patch windows (pixels with ivar > 0)
    and its histogram with N(0, 1) and the robust width (:func:`robust_width`); writes
    ``path``. Returns ``residual`` (the whole image, NaN outside the windows or where
    ivar = 0), ``values`` (the pixels counted), ``counts``/``edges`` (the histogram,
    counts per bin), ``robust_width``, ``npixels``, ``inner_width`` (the robust width
    over :func:`inner_patches`), ``beyond`` (pixels outside ±6σ) and
    ``zoom`` (the part of the CCD shown)."""
    residual = residual_image(image, ivar, model)
    inside = window_mask(residual.shape, plan) & (np.asarray(ivar) > 0)
    residual[~inside] = np.nan
    values = require_data("residuals inside the patch windows", residual[inside])
    width, npix = robust_width(residual, ivar, plan)
    inner = inner_patches(plan)
    inner_width = robust_width(residual, ivar, inner)[0] if len(inner["bundle"]) else float("nan")
    edges = np.linspace(-HIST_RANGE, HIST_RANGE, 121)
    counts, _ = np.histogram(values, bins=edges)
    beyond = int(np.sum(np.abs(values) > HIST_RANGE))

    fig = new_figure(12.5, 5.6)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    x0, x1, y0, y1 = zoom_box(plan, rows=None)
    shown = left.imshow(residual[y0:y1, x0:x1], origin="lower", cmap="RdBu_r", vmin=-CLIP, vmax=CLIP,
                        interpolation="nearest", extent=(x0 - 0.5, x1 - 0.5, y0 - 0.5, y1 - 0.5), aspect="auto")
    left.set_facecolor("0.85")
    left.set_xlabel("x [pixel]")
    left.set_ylabel("y [pixel]")
    left.set_title(f"(data − model)·√ivar inside the patch windows{'' if label is None else ', ' + label}\n"
                   "grey: outside the windows or masked", fontsize=10)
    fig.colorbar(shown, ax=left, label="residual [σ]", extend="both")

    centres = 0.5 * (edges[1:] + edges[:-1])
    step = edges[1] - edges[0]
    right.stairs(counts, edges, color="C0", lw=1.2, label="pixels")
    for sigma, style in ((1.0, dict(color="k", lw=1.0, ls="--")), (width, dict(color="C3", lw=0.8))):
        expected = values.size * step * np.exp(-0.5 * (centres / sigma)**2) / (sigma * np.sqrt(2 * np.pi))
        right.plot(centres, expected, gid=GUIDE, label=f"N(0, {sigma:.3g}²)", **style)
    right.set_yscale("log")
    right.set_ylim(0.5, max(counts.max(), 1) * 3)
    right.set_xlim(-HIST_RANGE, HIST_RANGE)
    right.set_xlabel("residual [σ]")
    right.set_ylabel(f"pixels per {step:.1f} σ")
    right.set_title(f"robust width 1.4826·MAD = {width:.3f} over {npix} pixels\n"
                    f"({beyond} beyond ±{HIST_RANGE:.0f} σ); {inner_width:.3f} without the patches\n"
                    "at the grid's ends, which also see light from beyond the grid", fontsize=9)
    right.legend(fontsize=9, loc="upper right")
    save(fig, path)
    return {"residual": residual, "values": values, "counts": counts, "edges": edges, "robust_width": width,
            "npixels": npix, "inner_width": inner_width, "beyond": beyond, "zoom": (x0, x1, y0, y1)}
