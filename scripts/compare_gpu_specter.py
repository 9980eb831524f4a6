#!/usr/bin/env python3
"""Side by side: gpu_specter's CPU path against libextract on the same one-bundle case.

gpu_specter cannot be installed from the package registries of our build machines, so
this script is for any host where it is installed (DESI's environment at NERSC, or a
checkout on PYTHONPATH). It extracts ../shared/data/case-bundle (25 fibres x 500
wavelengths, r0-00051060 PSF) with gpu_specter.core.extract_frame(gpu=False) and with
`libextract extract --compat gpu_specter`, both with the options of the reference file,
prints both wall times, the speed-up, and the agreement of the two outputs.

Usage: compare_gpu_specter.py [--data ../shared/data] [--bin build/libextract/apps/libextract]
                              [--threads N] [--repeat 3]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from astropy.io import fits


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    parser.add_argument("--bin", default=os.path.join(here, "..", "build", "libextract", "apps", "libextract"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        from gpu_specter.core import extract_frame
        from gpu_specter.io import read_psf
    except ImportError:
        print("gpu_specter is not installed here: nothing to compare (see the README for reference timings)")
        return 2

    case = os.path.join(args.data, "case-bundle")
    preproc = os.path.join(case, "preproc.fits.gz")
    psf_path = os.path.join(args.data, "psf-r0-00051060.fits")
    wave = (5760.0, 6159.2, 0.8)
    with fits.open(preproc) as f:
        image = f["IMAGE"].data.astype(np.float64)
        ivar = f["IVAR"].data.astype(np.float64) * (f["MASK"].data == 0)
    img = {"image": image, "ivar": ivar}
    psf = read_psf(psf_path)

    def run_gpu_specter():
        return extract_frame(img, psf, 25, 0, 25, wavelength=wave, nwavestep=50, nsubbundles=5, model=True,
                             regularize=0, psferr=None, gpu=False)

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = run_gpu_specter()
        times.append(time.perf_counter() - t0)
    t_gpu_specter = min(times)

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "frame.fits")
        cmd = [args.bin, "extract", "-i", preproc, "-p", psf_path, "-o", out, "-w", ",".join(map(str, wave)), "-n",
               "25", "--threads", str(args.threads), "--dtype", "f8", "--timing", os.path.join(tmp, "t.json"), "-q"]
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True)
            times.append(time.perf_counter() - t0)
        t_libextract = min(times)
        with fits.open(out) as f:
            flux = f["FLUX"].data
            ivar_out = f["IVAR"].data
    ref_flux = result["specflux"][:25]
    ref_ivar = result["specivar"][:25]
    rel = np.max(np.abs(flux - ref_flux) / np.abs(ref_flux))
    pull = np.max(np.abs(flux - ref_flux) * np.sqrt(1.0 / (1.0 / ivar_out + 1.0 / ref_ivar)))
    print(f"gpu_specter CPU (extract_frame, gpu=False): {t_gpu_specter:8.2f} s  (in-process, inputs in memory)")
    print(f"libextract extract (whole process, I/O incl.): {t_libextract:8.2f} s")
    print(f"speed-up: {t_gpu_specter / t_libextract:.1f}x")
    print(f"agreement: flux max relative {rel:.2e}, max |pull| {pull:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
