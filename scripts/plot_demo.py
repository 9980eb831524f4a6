#!/usr/bin/env python3
"""Summary and plot of an extracted frame against its simulation truth.

Prints fibres x wavelengths, the per-stage times of the extraction (from the
--timing JSON), the median S/N, the pull against the truth and chi2pix, and writes
a PNG with a few extracted spectra over the resolution-convolved truth and their
pulls. The pull is the data README's: (FLUX - R.truth) * sqrt(IVAR) over bins with
IVAR > 0 and PIXMASK_FRACTION < 0.5, the first and last ndiag bins excluded.
"""
import argparse
import json
import sys

import numpy as np
from astropy.io import fits


def resolution_times(rdata, truth_on_grid_padded, ndiag):
    """R.truth for one fibre; truth_on_grid_padded has ndiag extra bins on each side."""
    nd, nwave = rdata.shape
    out = np.zeros(nwave)
    for i in range(nwave):
        total = 0.0
        for d in range(nd):
            j = i - d + ndiag  # column j stores R[j + d - ndiag, j]
            if 0 <= j < nwave:
                total += rdata[d, j] * truth_on_grid_padded[j + ndiag]
        out[i] = total
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frame", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--timing")
    parser.add_argument("--png", required=True)
    parser.add_argument("--fibers", default="0,1,2", help="fibres (frame rows) to plot")
    args = parser.parse_args()

    with fits.open(args.frame) as f:
        flux = f["FLUX"].data.astype(float)
        ivar = f["IVAR"].data.astype(float)
        wave = f["WAVELENGTH"].data.astype(float)
        res = f["RESOLUTION"].data.astype(float)
        chi2 = f["CHI2PIX"].data.astype(float)
        pmf = f["PIXMASK_FRACTION"].data.astype(float)
    with fits.open(args.truth) as t:
        twave = t["WAVELENGTH"].data.astype(float)
        tflux = t["FLUX"].data.astype(float)
    nspec, nwave = flux.shape
    ndiag = (res.shape[1] - 1) // 2
    dw = wave[1] - wave[0]
    offset = int(round((wave[0] - twave[0]) / dw))

    conv = np.zeros_like(flux)
    for s in range(nspec):
        padded = tflux[s, offset - ndiag: offset + nwave + ndiag]
        conv[s] = resolution_times(res[s], padded, ndiag)
    good = (ivar > 0) & (pmf < 0.5)
    good[:, :ndiag] = False
    good[:, nwave - ndiag:] = False
    pull = (flux - conv) * np.sqrt(ivar)
    sn = flux * np.sqrt(ivar)

    print(f"frame ............... {args.frame}")
    print(f"size ................ {nspec} fibres x {nwave} wavelengths ({wave[0]:.1f}..{wave[-1]:.1f} A)")
    if args.timing:
        with open(args.timing) as fh:
            timing = json.load(fh)
        print(f"backend ............. {timing['backend']}, {timing['patches']} patches")
        print(f"wall time ........... read {timing['read_seconds']:.2f} s, extract {timing['extract_seconds']:.2f} s, "
              f"write {timing['write_seconds']:.2f} s, total {timing['total_seconds']:.2f} s")
        for stage in timing["stages"]:
            print(f"  {stage['name']:<18} {stage['backend']:<5} {stage['seconds']:8.3f} s")
    print(f"median S/N per bin .. {np.median(sn[good]):.1f}")
    print(f"pull vs truth ....... mean {pull[good].mean():+.4f}  std {pull[good].std():.4f}  "
          f"max |pull| {np.abs(pull[good]).max():.2f}  ({good.sum()} bins)")
    print(f"chi2pix ............. median {np.median(chi2[ivar > 0]):.3f}")
    print(f"masked bins ......... {(pmf > 0.5).sum()} with pixmask_fraction > 0.5")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fibers = [int(v) for v in args.fibers.split(",") if int(v) < nspec]
    fig, axes = plt.subplots(len(fibers) + 1, 1, figsize=(11, 2.6 * (len(fibers) + 1)), sharex=False)
    for ax, s in zip(axes, fibers):
        ax.plot(wave, conv[s], color="0.3", lw=1.5, label="truth (R-convolved)")
        ax.plot(wave, flux[s], color="C0", lw=0.7, label="extracted")
        ax.set_ylabel("electrons/A")
        ax.set_title(f"fibre {s}", fontsize=9, loc="left")
        ax.legend(fontsize=8, loc="upper right")
    ax = axes[-1]
    for s in fibers:
        ok = good[s]
        ax.plot(wave[ok], pull[s][ok], ".", ms=2, label=f"fibre {s}")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("pull")
    ax.set_xlabel("wavelength [A]")
    ax.set_title(f"pull mean {pull[good].mean():+.3f}, std {pull[good].std():.3f} over all fibres", fontsize=9,
                 loc="left")
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)
    print(f"plot ................ {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
