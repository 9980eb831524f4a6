"""The numbers the pictures show, without matplotlib: residuals inside the patch
windows and their robust width, the dense resolution matrix, R·truth."""

from __future__ import annotations

import numpy as np

__all__ = ["MAD_TO_SIGMA", "window_mask", "inner_patches", "residual_image", "robust_width", "resolution_matrix",
           "convolve_resolution"]

# 1 / Φ⁻¹(3/4): the median absolute deviation of N(0, σ²) is σ / 1.4826.
MAD_TO_SIGMA = 1.4826


def window_mask(shape, plan):
    """Boolean image of ``shape``: True inside any patch window of ``plan``
    (:func:`libextract.plan_patches`), the pixels the extraction read and modelled."""
    inside = np.zeros(shape, bool)
    for x0, x1, y0, y1 in zip(plan["xmin"], plan["xmax"], plan["ymin"], plan["ymax"]):
        inside[y0:y1, x0:x1] = True
    return inside


def inner_patches(plan):
    """The plan cut to the patches whose solved bins (padding included) all lie inside
    the frame's grid. Their windows see light of the grid's wavelengths only; the
    windows of the first and last patches of each bundle also see light from beyond
    the grid, which no model image holds (gpu_specter's is built from the core bins,
    specter's from the solved bins)."""
    wave = plan["wave"]
    keep = (plan["wave_first"] >= wave[0]) & (plan["wave_last"] <= wave[-1])
    return {k: (v[keep] if isinstance(v, np.ndarray) and k != "wave" else v) for k, v in plan.items()}


def residual_image(image, ivar, model):
    """(image − model)·√ivar, NaN where ivar is 0 (masked pixels)."""
    image, ivar, model = (np.asarray(a, dtype=np.float64) for a in (image, ivar, model))
    if not image.shape == ivar.shape == model.shape:
        raise ValueError(f"image {image.shape}, ivar {ivar.shape} and model {model.shape} differ in shape")
    with np.errstate(invalid="ignore"):
        out = (image - model) * np.sqrt(ivar)
    out[~(ivar > 0)] = np.nan
    return out


def robust_width(residual, ivar, plan):
    """1.4826 × the median absolute deviation of ``residual`` over the pixels with
    ivar > 0 inside the patch windows of ``plan``; returns ``(width, npixels)``.

    For residuals (data − model)·√ivar of a model that explains the data down to the
    noise this is 1; unlike the standard deviation it ignores the few pixels a cosmic
    ray or a bad column left unmasked. Raises ValueError when no pixel qualifies.
    """
    residual = np.asarray(residual, dtype=np.float64)
    ivar = np.asarray(ivar)
    if residual.shape != ivar.shape:
        raise ValueError(f"residual {residual.shape} and ivar {ivar.shape} differ in shape")
    values = residual[window_mask(residual.shape, plan) & (ivar > 0)]
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("robust_width: no pixel with ivar > 0 inside the patch windows")
    mad = np.median(np.abs(values - np.median(values)))
    return MAD_TO_SIGMA * float(mad), int(values.size)


def resolution_matrix(rdata):
    """The dense nwave × nwave matrix of one fibre's RESOLUTION band ``rdata``
    [2·ndiag+1, nwave] (desispec's DIA layout: R[j + d − ndiag, j] = rdata[d, j])."""
    rdata = np.asarray(rdata, dtype=np.float64)
    nd, nwave = rdata.shape
    ndiag = (nd - 1) // 2
    dense = np.zeros((nwave, nwave))
    for d in range(nd):
        j = np.arange(nwave)
        i = j + d - ndiag
        ok = (i >= 0) & (i < nwave)
        dense[i[ok], j[ok]] = rdata[d, j[ok]]
    return dense


def convolve_resolution(rdata, values):
    """R·t for one fibre: its RESOLUTION band ``rdata`` [2·ndiag+1, nwave] applied to
    ``values`` on the frame's grid [nwave] (what the extraction's flux estimates)."""
    rdata = np.asarray(rdata, dtype=np.float64)
    nd, nwave = rdata.shape
    ndiag = (nd - 1) // 2
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (nwave,):
        raise ValueError(f"convolve_resolution: expected {nwave} values, got shape {values.shape}")
    out = np.zeros(nwave)
    j = np.arange(nwave)
    for d in range(nd):
        i = j + d - ndiag  # column j of diagonal d is R[i, j]
        ok = (i >= 0) & (i < nwave)
        out[i[ok]] += rdata[d, j[ok]] * values[j[ok]]
    return out
