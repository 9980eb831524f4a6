"""The resolution picture: one fibre's resolution matrix around a wavelength, its
band as stored in RESOLUTION, and a few rows as line profiles."""

from __future__ import annotations

import numpy as np

from ._stats import resolution_matrix
from ._style import GUIDE, new_figure, require_data, save

__all__ = ["draw_resolution"]

BLOCK = 40  # bins of the dense block shown


def draw_resolution(frame, path, row=None):
    """Draws frame row ``row`` (default: the middle fibre)'s resolution: the dense
    matrix R over BLOCK bins at the middle of the grid, the band RESOLUTION[row]
    (diagonal against wavelength) and the rows R[i, :] at the grid's start, middle and
    end; writes ``path``. Returns ``row``, ``fiber`` (its PSF number), ``band``
    (RESOLUTION[row]), ``block`` ((first, last + 1) bins), ``matrix`` (the dense block),
    ``profiles`` {bin i: R[i, i−ndiag..i+ndiag]}."""
    from matplotlib.colors import SymLogNorm

    nspec, nd, nwave = frame["resolution"].shape
    ndiag = (nd - 1) // 2
    row = nspec // 2 if row is None else int(row)
    if not 0 <= row < nspec:
        raise ValueError(f"fibre row {row}: the frame has rows 0..{nspec - 1}")
    band = require_data(f"RESOLUTION of row {row}", frame["resolution"][row])
    wave = frame["wave"]
    dw = wave[1] - wave[0]
    fiber = frame["specmin"] + row
    dense = resolution_matrix(band)
    c0 = max(0, nwave // 2 - BLOCK // 2)
    c1 = min(nwave, c0 + BLOCK)
    block = dense[c0:c1, c0:c1]
    bins = [b for b in (ndiag, nwave // 2, nwave - 1 - ndiag) if 0 <= b < nwave]
    profiles = {b: dense[b, b - ndiag:b + ndiag + 1] for b in bins}

    fig = new_figure(15.0, 5.0)
    ax_m, ax_b, ax_p = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1.5, 1]})
    norm = SymLogNorm(linthresh=1e-3, vmin=-0.05, vmax=1.0, base=10)
    lo, hi = wave[c0] - dw / 2, wave[c1 - 1] + dw / 2
    shown = ax_m.imshow(block, origin="upper", cmap="viridis", norm=norm, interpolation="nearest",
                        extent=(lo, hi, hi, lo))
    ax_m.set_xlabel("true wavelength (column j) [Å]")
    ax_m.set_ylabel("extracted wavelength (row i) [Å]")
    ax_m.set_title(f"fibre {fiber}: R[i, j], {c1 - c0} bins", fontsize=10)
    fig.colorbar(shown, ax=ax_m, label="R[i, j] (symmetric log)", shrink=0.9)

    shown = ax_b.imshow(band, origin="lower", cmap="viridis", norm=norm, interpolation="nearest", aspect="auto",
                        extent=(wave[0] - dw / 2, wave[-1] + dw / 2, -ndiag - 0.5, ndiag + 0.5))
    ax_b.set_xlabel("wavelength of column j [Å]")
    ax_b.set_ylabel("diagonal i − j [bins]")
    ax_b.set_title(f"RESOLUTION[{row}]: the {nd} stored diagonals", fontsize=10)
    fig.colorbar(shown, ax=ax_b, label="R[i, j] (symmetric log)", shrink=0.9)

    offsets = np.arange(-ndiag, ndiag + 1) * dw
    for b, values in profiles.items():
        ax_p.plot(offsets, values, marker="o", ms=3, lw=1.0, label=f"row at {wave[b]:.1f} Å")
    ax_p.axhline(0.0, color="0.6", lw=0.6, gid=GUIDE)
    ax_p.set_xlabel(r"$\lambda_j - \lambda_i$ [Å]")
    ax_p.set_ylabel("R[i, j]")
    ax_p.set_title("rows of R: the resolution kernels", fontsize=10)
    ax_p.legend(fontsize=8)
    save(fig, path)
    return {"row": row, "fiber": fiber, "band": band, "block": (c0, c1), "matrix": block, "profiles": profiles}
