#!/usr/bin/env python3
"""Full-frame CPU benchmark of `libextract extract`, I/O included, recorded as markdown.

Simulates DESI-like frames once (a real PSF when given and present, else a synthetic
one of the same geometry), then times whole `libextract extract` processes with
/usr/bin/time (wall and peak memory) and reads their --timing JSON (per-stage times,
patch count). Cases:
  frame   : 500 fibres, r grid 5760,7620,0.8 (4700 patches, checked), both threads
  cameras : b, r, z grids on synthetic PSFs of each camera (time vs wavelengths)
  threads : 1 and 2 threads on the r frame (parallel efficiency)
  nspec   : 25, 100, 500 fibres on the r grid (time vs fibres)
Usage: frame_benchmark.py --bin build/libextract/apps/libextract [--psf PSF] [--cases frame,threads,...]
       [--out bench/results/frame-cpu-DATE.md] [--work DIR]
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

GRIDS = {"b": "3600.0,5800.0,0.8", "r": "5760.0,7620.0,0.8", "z": "7520.0,9824.0,0.8"}
PATCHES_R_FRAME = 4700  # 20 bundles x 5 subbundles x 47 wavelength chunks


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def timed_extract(binary, preproc, psf, grid, nspec, threads, work, tag):
    frame = os.path.join(work, f"frame-{tag}.fits")
    timing = os.path.join(work, f"timing-{tag}.json")
    cmd = ["/usr/bin/time", "-v", binary, "extract", "-i", preproc, "-p", psf, "-o", frame, "-w", grid,
           "-n", str(nspec), "--threads", str(threads), "--timing", timing, "-q"]
    result = run(cmd)
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", result.stderr).group(1)
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    with open(timing) as fh:
        report = json.load(fh)
    os.remove(frame)
    return {"tag": tag, "wall": seconds, "peak_gb": peak_kb / 1024 ** 2, "report": report, "nspec": nspec,
            "threads": threads, "grid": grid}


def simulate(binary, psf, grid, nspec, work, tag):
    preproc = os.path.join(work, f"preproc-{tag}.fits")
    truth = os.path.join(work, f"truth-{tag}.fits")
    if not os.path.exists(preproc):
        run([binary, "simulate", "--psf", psf, "-o", preproc, "--truth", truth, "-w", grid, "-n", str(nspec),
             "--seed", "1", "--badpix", "200", "--cosmics", "20"])
    return preproc


def synthetic_psf(binary, camera, work):
    path = os.path.join(work, f"psf-synthetic-{camera}.fits")
    if not os.path.exists(path):
        run([binary, "psf", "make", "-o", path, "--camera", camera, "--seed", "1"])
    return path


def stage_table(result):
    lines = ["| stage | backend | thread-seconds | GFLOP/s |", "|---|---|---|---|"]
    for s in result["report"]["stages"]:
        rate = f"{s['flops'] / s['seconds'] * 1e-9:.1f}" if s["flops"] > 0 and s["seconds"] > 0 else ""
        lines.append(f"| {s['name']} | {s['backend']} | {s['seconds']:.2f} | {rate} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--psf", help="real r-camera PSF (default: ../shared/data/psf-r0-00051060.fits if present)")
    parser.add_argument("--cases", default="frame,threads,cameras,nspec")
    parser.add_argument("--work", default="/tmp/libextract-frame-bench")
    parser.add_argument("--out")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cases = args.cases.split(",")
    here = os.path.dirname(os.path.abspath(__file__))
    default_psf = os.path.join(here, "..", "..", "shared", "data", "psf-r0-00051060.fits")
    psf = args.psf or (default_psf if os.path.exists(default_psf) else synthetic_psf(args.bin, "r", args.work))
    results = []
    r_preproc = simulate(args.bin, psf, GRIDS["r"], 500, args.work, "r500")
    if "frame" in cases:
        res = timed_extract(args.bin, r_preproc, psf, GRIDS["r"], 500, 0, args.work, "r500")
        assert res["report"]["patches"] == PATCHES_R_FRAME, res["report"]["patches"]
        results.append(("frame", res))
    if "threads" in cases:
        for threads in (1, 2):
            results.append(("threads", timed_extract(args.bin, r_preproc, psf, GRIDS["r"], 500, threads, args.work,
                                                     f"r500-t{threads}")))
    if "nspec" in cases:
        for nspec in (25, 100):
            results.append(("nspec", timed_extract(args.bin, r_preproc, psf, GRIDS["r"], nspec, 0, args.work,
                                                   f"r{nspec}")))
    if "cameras" in cases:
        for camera in "brz":
            cpsf = synthetic_psf(args.bin, camera, args.work)
            pre = simulate(args.bin, cpsf, GRIDS[camera], 500, args.work, f"{camera}500-synthetic")
            results.append(("cameras", timed_extract(args.bin, pre, cpsf, GRIDS[camera], 500, 0, args.work,
                                                     f"{camera}500-synthetic")))

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=here).stdout.strip()
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    out = [f"# Full-frame CPU benchmark ({datetime.date.today().isoformat()})", "",
           f"Machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}. Commit {commit}. PSF: {psf}.",
           "Whole `libextract extract` processes (read, extract, write) timed with /usr/bin/time;",
           "per-stage thread-seconds from `--timing` (summed over threads).", "",
           "| case | fibres | grid | threads | patches | wall s | extract s | peak GB |", "|---|---|---|---|---|---|---|---|"]
    for case, r in results:
        out.append(f"| {case} {r['tag']} | {r['nspec']} | {r['grid']} | {r['threads'] or 'all'} | "
                   f"{r['report']['patches']} | {r['wall']:.2f} | {r['report']['extract_seconds']:.2f} | "
                   f"{r['peak_gb']:.2f} |")
    for case, r in results:
        if case == "frame":
            out += ["", f"Stages of the {r['tag']} frame:", "", stage_table(r)]
    text = "\n".join(out) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
