"""The spectra picture: extracted spectra (points with 1σ error bars) against the
simulation truth seen through the frame's resolution (a line), a zoom on an emission
line, and the pulls."""

from __future__ import annotations

import numpy as np

from ._inputs import InputError
from ._stats import convolve_resolution
from ._style import GUIDE, new_figure, require_data, save

__all__ = ["truth_on_grid", "draw_spectra"]

ZOOM_HALF_WIDTH = 12.0  # Angstrom either side of the emission line


def truth_on_grid(frame, truth):
    """The truth of the frame's fibres on the frame's grid [nspec, nwave] (the truth
    lattice shares the grid's step and phase and extends beyond it)."""
    wave, twave = frame["wave"], truth["wave"]
    nspec, nwave = frame["flux"].shape
    dw = wave[1] - wave[0]
    offset = int(round((wave[0] - twave[0]) / dw))
    first = frame["specmin"] - truth["specmin"]
    if (offset < 0 or offset + nwave > twave.size or first < 0 or first + nspec > truth["flux"].shape[0]
            or np.max(np.abs(twave[offset:offset + nwave] - wave)) > 1e-3):
        raise InputError(f"{truth['path']}: its lattice and fibres do not cover the frame's grid and fibres")
    return truth["flux"][first:first + nspec, offset:offset + nwave]


def _emission_line(wave, values, ndiag):
    """The bin of the brightest narrow feature above a running median."""
    k = 15
    padded = np.pad(values, k, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1)
    excess = values - np.median(windows, axis=1)
    excess[:ndiag] = excess[-ndiag:] = -np.inf
    return int(np.argmax(excess))


def draw_spectra(frame, truth, path, rows=None):
    """Draws frame rows ``rows`` (default: first, middle, last): the resolution-convolved
    truth R·t as a line, FLUX as points with 1/√IVAR error bars (bins with IVAR > 0),
    a zoom on each fibre's brightest emission line, and the pulls
    (FLUX − R·t)·√IVAR; writes ``path``. Returns ``rows``, ``fibers``, ``wave``,
    ``flux``, ``error`` (NaN where IVAR = 0), ``model`` (R·t; NaN in the first and last
    ndiag bins, whose rows of R miss the columns beyond the grid), ``pull``, ``zoom``
    [(λ_lo, λ_hi)] per row."""
    nspec, nwave = frame["flux"].shape
    ndiag = (frame["resolution"].shape[1] - 1) // 2
    rows = sorted({0, nspec // 2, nspec - 1}) if rows is None else [int(r) for r in rows]
    for r in rows:
        if not 0 <= r < nspec:
            raise ValueError(f"fibre row {r}: the frame has rows 0..{nspec - 1}")
    wave = frame["wave"]
    t = truth_on_grid(frame, truth)
    model = np.array([convolve_resolution(frame["resolution"][r], t[r]) for r in rows])
    flux = np.array([require_data(f"FLUX row {r}", frame["flux"][r]) for r in rows])
    ivar = frame["ivar"][rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.where(ivar > 0, 1.0 / np.sqrt(ivar), np.nan)
        pull = np.where(ivar > 0, (flux - model) * np.sqrt(ivar), np.nan)
    # R's first and last ndiag rows miss the columns beyond the grid, whose light the
    # extraction saw: no R·t to compare with there.
    model[:, :ndiag] = model[:, nwave - ndiag:] = np.nan
    pull[:, :ndiag] = pull[:, nwave - ndiag:] = np.nan
    fibers = [frame["specmin"] + r for r in rows]

    fig = new_figure(13.0, 2.7 * (len(rows) + 1))
    grid = fig.add_gridspec(len(rows) + 1, 2, width_ratios=[3, 1])
    zooms = []
    for k, (r, fiber) in enumerate(zip(rows, fibers)):
        main, zoom = fig.add_subplot(grid[k, 0]), fig.add_subplot(grid[k, 1])
        ok = ivar[k] > 0
        line = _emission_line(wave, np.where(np.isfinite(model[k]), model[k], np.nanmedian(model[k])), ndiag)
        lo, hi = wave[line] - ZOOM_HALF_WIDTH, wave[line] + ZOOM_HALF_WIDTH
        zooms.append((lo, hi))
        for ax, ms in ((main, 1.5), (zoom, 3.0)):
            ax.plot(wave, model[k], color="k", lw=1.0, label="truth, R-convolved", zorder=3)
            ax.errorbar(wave[ok], flux[k][ok], yerr=error[k][ok], fmt="o", ms=ms, color="C0", ecolor="C0",
                        elinewidth=0.5, alpha=0.7, label="extracted ±1σ", zorder=2)
        main.axvspan(lo, hi, color="C1", alpha=0.15, lw=0)
        main.set_ylabel("flux [electron/Å]")
        main.set_title(f"fibre {fiber}", fontsize=10, loc="left")
        main.legend(fontsize=8, loc="upper right")
        inside = (wave >= lo) & (wave <= hi)
        zoom.set_xlim(lo, hi)
        values = np.concatenate([model[k][inside], flux[k][inside & ok]])
        values = values[np.isfinite(values)]
        zoom.set_ylim(values.min() - 0.1 * np.ptp(values), values.max() + 0.15 * np.ptp(values))
        zoom.set_title(f"zoom: line at {wave[line]:.1f} Å (shaded)", fontsize=10, loc="left")
        if k == len(rows) - 1:
            main.set_xlabel("wavelength [Å]")
            zoom.set_xlabel("wavelength [Å]")

    ax = fig.add_subplot(grid[len(rows), 0])
    for k, fiber in enumerate(fibers):
        ax.plot(wave, pull[k], ".", ms=2, color=f"C{k}", label=f"fibre {fiber}")
    ax.axhline(0.0, color="k", lw=0.5, gid=GUIDE)
    finite = pull[np.isfinite(pull)]
    ax.set_ylabel("pull [σ]")
    ax.set_xlabel("wavelength [Å]")
    ax.set_title(f"pull (FLUX − R·truth)·√IVAR: mean {finite.mean():+.3f}, std {finite.std():.3f}", fontsize=10,
                 loc="left")
    ax.legend(fontsize=8, loc="upper right", ncol=len(fibers), markerscale=3)
    hist = fig.add_subplot(grid[len(rows), 1])
    edges = np.linspace(-5, 5, 41)
    hist.hist(finite, bins=edges, color="C0", alpha=0.7)
    centres = 0.5 * (edges[1:] + edges[:-1])
    hist.plot(centres, finite.size * (edges[1] - edges[0]) * np.exp(-0.5 * centres**2) / np.sqrt(2 * np.pi),
              color="k", lw=1.0, ls="--", gid=GUIDE, label="N(0, 1)")
    hist.set_xlabel("pull [σ]")
    hist.set_ylabel("bins")
    hist.legend(fontsize=8)
    save(fig, path)
    return {"rows": rows, "fibers": fibers, "wave": wave, "flux": flux, "error": error, "model": model, "pull": pull,
            "zoom": zooms}
