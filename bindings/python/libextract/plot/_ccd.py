"""The CCD picture: the preproc image with the traces of the extracted fibres and the
windows of the patches libextract's plan cuts them into."""

from __future__ import annotations

import numpy as np

from ._region import bounding_box, windows, zoom_box
from ._style import new_figure, require_data, save

__all__ = ["draw_ccd"]


def _traces(psf, plan):
    fibers = np.arange(plan["specmin"], plan["specmin"] + plan["nspec"])
    wave = plan["wave"]
    return fibers, psf.x(fibers[:, None], wave[None, :]), psf.y(fibers[:, None], wave[None, :])


def _overview(image, size=1024):
    """The image averaged over square blocks to at most ``size`` pixels a side, and the
    block side: a whole CCD drawn from 17 M pixels costs seconds and shows no more."""
    block = max(1, -(-max(image.shape) // size))
    ny, nx = (-(-n // block) * block for n in image.shape)
    padded = np.full((ny, nx), np.nan)
    padded[:image.shape[0], :image.shape[1]] = image
    with np.errstate(invalid="ignore"):
        return np.nanmean(padded.reshape(ny // block, block, nx // block, block), axis=(1, 3)), block


def _norm(image):
    from matplotlib.colors import SymLogNorm

    finite = image[np.isfinite(image)]
    top = max(float(np.percentile(finite, 99.9)), 10.0)
    return SymLogNorm(linthresh=10.0, vmin=min(float(np.percentile(finite, 0.1)), 0.0), vmax=top, base=10)


def draw_ccd(image, psf, plan, path):
    """Draws ``image`` (the preproc IMAGE, electrons) whole and zoomed, with the traces
    x(λ), y(λ) of the plan's fibres from ``psf`` and the plan's patch windows; writes
    ``path``. Returns what it drew: ``image`` (whole; the left panel shows ``overview``,
    its block means), ``overview``, ``fibers``, ``trace_x``/``trace_y``
    [nfiber, nwave] (at the plan's wavelengths), ``windows`` [npatch, 4] (xmin, xmax,
    ymin, ymax), ``extent`` (the extraction's bounding box) and ``zoom`` (the zoom's)."""
    from matplotlib.patches import Rectangle

    image = require_data("CCD image", image)
    fibers, tx, ty = _traces(psf, plan)
    boxes = windows(plan)
    extent = bounding_box(boxes)
    zoom = zoom_box(plan)
    norm = _norm(image)
    fig = new_figure(13.0, 6.6)
    full, part = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1]})
    ny, nx = image.shape
    overview, block = _overview(image)
    oy, ox = overview.shape
    shown = full.imshow(overview, origin="lower", cmap="gray_r", norm=norm, interpolation="nearest",
                        extent=(-0.5, ox * block - 0.5, -0.5, oy * block - 0.5))
    full.set_xlim(-0.5, nx - 0.5)
    full.set_ylim(-0.5, ny - 0.5)
    for k in range(len(fibers)):
        full.plot(tx[k], ty[k], color="C1", lw=0.3, alpha=0.5)
    x0, x1, y0, y1 = extent
    full.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="C3", lw=1.2))
    zx0, zx1, zy0, zy1 = zoom
    full.add_patch(Rectangle((zx0, zy0), zx1 - zx0, zy1 - zy0, fill=False, ec="C0", lw=1.2, ls="--"))
    full.set_title(f"whole CCD ({block}×{block}-pixel means): fibres {fibers[0]}-{fibers[-1]} extracted\n"
                   "(red box), zoom (blue)", fontsize=10)
    full.set_xlabel("x [pixel]")
    full.set_ylabel("y [pixel]")

    part.imshow(image[zy0:zy1, zx0:zx1], origin="lower", cmap="gray_r", norm=norm, interpolation="nearest",
                extent=(zx0 - 0.5, zx1 - 0.5, zy0 - 0.5, zy1 - 0.5))
    in_zoom = (boxes[:, 0] < zx1) & (boxes[:, 1] > zx0) & (boxes[:, 2] < zy1) & (boxes[:, 3] > zy0)
    sub = plan["core_fiber_lo"]
    colours = {v: f"C{i % 4 + 2}" for i, v in enumerate(np.unique(sub))}
    for i in np.flatnonzero(in_zoom):
        bx0, bx1, by0, by1 = boxes[i]
        part.add_patch(Rectangle((bx0 - 0.5, by0 - 0.5), bx1 - bx0, by1 - by0, fill=False, ec=colours[sub[i]],
                                 lw=1.4, alpha=0.9))
    for k in range(len(fibers)):
        part.plot(tx[k], ty[k], color="C1", lw=0.8, ls=(0, (4, 4)), alpha=0.8)
    part.set_xlim(zx0 - 0.5, zx1 - 0.5)
    part.set_ylim(zy0 - 0.5, zy1 - 0.5)
    part.set_aspect("auto")
    part.set_title(f"zoom: traces (dashed orange) and the {int(in_zoom.sum())} patch windows here\n"
                   f"(of {len(boxes)}; outline colour: sub-bundle)", fontsize=10)
    part.set_xlabel("x [pixel]")
    part.set_ylabel("y [pixel]")
    fig.colorbar(shown, ax=[full, part], label="image [electron/pixel] (symmetric log scale)", shrink=0.85)
    save(fig, path)
    return {"image": image, "overview": overview, "fibers": fibers, "trace_x": tx, "trace_y": ty, "windows": boxes, "extent": extent,
            "zoom": zoom}
