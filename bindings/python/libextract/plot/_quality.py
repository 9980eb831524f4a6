"""The quality picture: chi2pix and pixmask_fraction maps, fibre against wavelength."""

from __future__ import annotations

import numpy as np

from ._style import new_figure, require_data, save

__all__ = ["draw_quality"]


def draw_quality(frame, path):
    """Draws CHI2PIX and PIXMASK_FRACTION as maps (fibre against wavelength); writes
    ``path``. Returns ``chi2pix``, ``pixmask_fraction`` (the arrays drawn), ``wave``,
    ``fibers`` and ``chi2_range`` (the colour range of the chi2pix map)."""
    chi2 = require_data("CHI2PIX", frame["chi2pix"])
    pmf = require_data("PIXMASK_FRACTION", frame["pixmask_fraction"], allow_constant=True)
    wave = frame["wave"]
    nspec = chi2.shape[0]
    fibers = frame["specmin"] + np.arange(nspec)
    dw = wave[1] - wave[0]
    extent = (wave[0] - dw / 2, wave[-1] + dw / 2, fibers[0] - 0.5, fibers[-1] + 0.5)
    good = frame["ivar"] > 0
    chi2_range = (0.0, max(2.0, float(np.percentile(chi2[good], 99))) if good.any() else 2.0)

    fig = new_figure(12.5, 7.0)
    top, bottom = fig.subplots(2, 1, sharex=True)
    shown = top.imshow(chi2, origin="lower", aspect="auto", cmap="viridis", vmin=chi2_range[0], vmax=chi2_range[1],
                       interpolation="nearest", extent=extent)
    fig.colorbar(shown, ax=top, label="chi2pix", extend="max")
    top.set_ylabel("fibre")
    top.set_title(f"CHI2PIX (χ² per pixel of each bin's footprint): median {np.median(chi2[good]):.3f} "
                  f"over bins with ivar > 0", fontsize=10)
    shown = bottom.imshow(pmf, origin="lower", aspect="auto", cmap="magma_r", vmin=0.0, vmax=1.0,
                          interpolation="nearest", extent=extent)
    fig.colorbar(shown, ax=bottom, label="pixmask_fraction")
    bottom.set_xlabel("wavelength [Å]")
    bottom.set_ylabel("fibre")
    bottom.set_title(f"PIXMASK_FRACTION (masked share of each bin's pixels): {int(np.sum(pmf > 0))} bins > 0, "
                     f"{int(np.sum(pmf > 0.5))} > 0.5", fontsize=10)
    save(fig, path)
    return {"chi2pix": chi2, "pixmask_fraction": pmf, "wave": wave, "fibers": fibers, "chi2_range": chi2_range}
