"""``libextract-plot``: the pictures of an extraction, one PNG per picture whose
inputs are given, and a summary on stdout."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ._inputs import InputError, frame_plan, read_frame, read_json, read_model, read_preproc, read_truth
from ._style import BlankPictureError

EPILOG = """pictures (each written when its inputs are given):
  ccd.png         --preproc, PSF: the image, the traces of the extracted fibres, the patch windows
  residual.png    --preproc, --model, PSF: (data - model)*sqrt(ivar) and its histogram, robust width
  resolution.png  the frame: one fibre's resolution matrix and its band in RESOLUTION
  quality.png     the frame: chi2pix and pixmask_fraction, fibre against wavelength
  spectra.png     --truth: extracted spectra against the truth, a zoom on an emission line, pulls
  stages.png      --timing: per-stage times of the extraction
  bench.png       --bench: CPU against GPU (and threads, fibres, wavelengths across files)
PSF: --psf, else the frame's IN_PSF when that file exists. The patch windows are
libextract's own plan for the frame's COMPAT, SPECMIN and WAVEGRID and the options below."""


def _parser():
    p = argparse.ArgumentParser(prog="libextract-plot", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frame", required=True, help="frame file (libextract extract -o)")
    p.add_argument("--psf", help="PSF file (default: the frame's IN_PSF)")
    p.add_argument("--model", help="model image (libextract extract -m)")
    p.add_argument("--preproc", help="preproc image the frame was extracted from")
    p.add_argument("--truth", help="simulation truth (libextract simulate --truth)")
    p.add_argument("--timing", help="timing report (libextract extract --timing)")
    p.add_argument("--bench", nargs="+", metavar="BENCH.json", help="libextract bench --json reports")
    p.add_argument("--out", required=True, help="folder for the PNG files (created if needed)")
    p.add_argument("--fiber", type=int, help="frame row of the resolution picture (default: the middle one)")
    p.add_argument("--label", help="text added to the residual picture's title (e.g. the compat mode)")
    p.add_argument("--prefix", default="", help="prefix of every PNG name (e.g. specter-)")
    g = p.add_argument_group("extraction options the frame was made with (default: libextract's)")
    g.add_argument("--bundlesize", type=int)
    g.add_argument("--nsubbundles", type=int)
    g.add_argument("--nwavestep", type=int)
    g.add_argument("--wavepad", type=int)
    g.add_argument("--pixpad-frac", type=float, dest="pixpad_frac")
    g.add_argument("--wavepad-frac", type=float, dest="wavepad_frac")
    return p


def _psf_path(args, frame):
    if args.psf:
        return args.psf
    if frame["in_psf"] and os.path.exists(frame["in_psf"]):
        return frame["in_psf"]
    return None


def _summary(frame):
    good = frame["ivar"] > 0
    with np.errstate(invalid="ignore"):
        sn = frame["flux"] * np.sqrt(frame["ivar"])
    nspec, nwave = frame["flux"].shape
    wave = frame["wave"]
    print(f"frame ............... {frame['path']} ({frame['compat']})")
    print(f"size ................ {nspec} fibres x {nwave} wavelengths ({wave[0]:.1f}..{wave[-1]:.1f} A)")
    print(f"median S/N per bin .. {np.median(sn[good]):.1f}")
    print(f"chi2pix ............. median {np.median(frame['chi2pix'][good]):.3f}")
    print(f"masked bins ......... {int(np.sum(frame['pixmask_fraction'] > 0.5))} with pixmask_fraction > 0.5")


def _draw_all(args, frame, out):
    """Draws every picture whose inputs are given into temporaries; returns
    [(temporary, final path)]."""
    from . import draw_bench, draw_ccd, draw_quality, draw_resolution, draw_residual, draw_spectra, draw_stages

    jobs = []

    def target(name):
        final = os.path.join(out, args.prefix + name)
        temp = os.path.join(out, f".{args.prefix}{name}.partial.png")
        jobs.append((temp, final))
        return temp

    psf_path = _psf_path(args, frame)
    plan = None
    options = {k: getattr(args, k) for k in ("bundlesize", "nsubbundles", "nwavestep", "wavepad", "pixpad_frac",
                                             "wavepad_frac")}
    if psf_path and (args.preproc or args.model):
        import libextract

        plan = frame_plan(frame, libextract.Psf(psf_path), **options)
        print(f"plan ................ {len(plan['bundle'])} patches ({plan['compat']}), PSF {psf_path}")
    preproc = read_preproc(args.preproc) if args.preproc else None
    if preproc is not None and plan is None:
        print("skipped ............. ccd.png (needs a PSF: --psf, or the frame's IN_PSF)")
    if preproc is not None and plan is not None:
        import libextract

        draw_ccd(preproc["image"], libextract.Psf(psf_path), plan, target("ccd.png"))
    if args.model:
        if preproc is None or plan is None:
            raise InputError("--model: the residual picture also needs --preproc and a PSF (--psf or IN_PSF)")
        model = read_model(args.model)
        if model.shape != preproc["image"].shape:
            raise InputError(f"{args.model}: MODEL has shape {model.shape}, the preproc image "
                             f"{preproc['image'].shape}")
        drawn = draw_residual(preproc["image"], preproc["ivar"], model, plan, target("residual.png"), args.label)
        print(f"residuals ........... robust width {drawn['robust_width']:.3f} over {drawn['npixels']} pixels "
              f"with ivar > 0 in the patch windows")
    draw_resolution(frame, target("resolution.png"), args.fiber)
    draw_quality(frame, target("quality.png"))
    if args.truth:
        drawn = draw_spectra(frame, read_truth(args.truth), target("spectra.png"))
        finite = drawn["pull"][np.isfinite(drawn["pull"])]
        print(f"pull vs truth ....... mean {finite.mean():+.4f}  std {finite.std():.4f} over the fibres drawn")
    if args.timing:
        timing = read_json(args.timing)
        drawn = draw_stages(timing, target("stages.png"))
        print(f"wall time ........... total {drawn['phase_seconds'][-1]:.2f} s on {timing.get('backend', '?')}")
    if args.bench:
        draw_bench([(b, read_json(b)) for b in args.bench], target("bench.png"))
    return jobs


def main(argv=None):
    args = _parser().parse_args(argv)
    out = args.out
    inputs = {os.path.realpath(p) for p in (args.frame, args.psf, args.model, args.preproc, args.truth, args.timing,
                                           *(args.bench or [])) if p}
    jobs = []
    try:
        os.makedirs(out, exist_ok=True)
        frame = read_frame(args.frame)
        _summary(frame)
        jobs = _draw_all(args, frame, out)
        clash = [final for _, final in jobs if os.path.realpath(final) in inputs]
        if clash:
            raise InputError(f"{clash[0]}: an output would overwrite an input")
        for temp, final in jobs:  # only once every picture is drawn: no partial set
            os.replace(temp, final)
            print(f"picture ............. {final}")
    except (InputError, BlankPictureError, ValueError, OSError, ImportError, RuntimeError) as exc:
        # RuntimeError: libextract.Error (an unreadable PSF, a grid off the CCD).
        for temp, _ in jobs:
            if os.path.exists(temp):
                os.remove(temp)
        print(f"libextract-plot: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
