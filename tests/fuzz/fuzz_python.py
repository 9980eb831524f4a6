#!/usr/bin/env python3
"""The Python family of the bad-input campaign (run by fuzz_campaign.py in a child
interpreter under RLIMIT_AS): every argument of libextract.extract, ex2d and Psf
replaced by values of wrong types and shapes. One JSON line per case on stdout.

A case passes ("clean errors") when it raises TypeError, ValueError or
libextract.Error whose message names the argument, or ("valid outputs") when it
returns finite arrays. Anything else (another exception, a message naming nothing) is
recorded as "unnamed"; a crash ends this process, which the campaign counts.

usage: fuzz_python.py PSF PREPROC SEED
"""
import json
import random
import sys
import warnings

import numpy as np

import libextract
from astropy.io import fits

GRID = (6000.0, 6039.2, 0.8)


def wrong_values(rng, good):
    values = [None, "x", 1.5, -1, 0, 10 ** 30, [], {}, [1, 2], float("nan"), float("inf"), True, b"\x00",
              np.zeros(5), np.zeros((2, 2)), np.zeros((3, 3, 3)), np.array(["a", "b"]),
              np.zeros((4, 4), dtype=np.complex128), object()]
    if isinstance(good, np.ndarray):
        values += [good[:-1], good.T, good.astype(np.int32), good[::2], np.full_like(good, np.nan),
                   good.reshape(-1), good[None]]
    rng.shuffle(values)
    return values


def finite_result(result):
    arrays = result.values() if isinstance(result, dict) else (result if isinstance(result, tuple) else [result])
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            return False
    return True


def run(name, call, arg, value=None):
    """`arg` is "name=kind"; the message must name the argument (or its CLI spelling,
    "wavelength" for "wavelengths"), or the value when that is a non-empty string."""
    argname = arg.split("=")[0]
    names = [argname, argname.rstrip("s"), argname.replace("_", "-")]
    if isinstance(value, str):
        names.append(value if value else "empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
        outcome = "valid outputs" if finite_result(result) else "unnamed"
        return {"outcome": outcome, "detail": f"{name}({arg}) returned non-finite values"}
    except (TypeError, ValueError, libextract.Error) as e:
        text = str(e)
        named = any(n in text for n in names)
        return {"outcome": "clean errors" if named else "unnamed", "detail": f"{name}({arg}): {type(e).__name__}: {text}"}
    except Exception as e:  # noqa: BLE001: anything else is the finding
        return {"outcome": "unnamed", "detail": f"{name}({arg}): {type(e).__name__}: {e}"}


def main():
    psf_path, preproc_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    psf = libextract.Psf(psf_path)
    with fits.open(preproc_path) as h:
        image = h["IMAGE"].data.astype(np.float64)
        ivar = h["IVAR"].data.astype(np.float64)
    wave = np.arange(GRID[0], GRID[1] + GRID[2] / 2, GRID[2])

    extract_good = dict(image=image, ivar=ivar, psf=psf, wavelengths=GRID, specmin=0, nspec=5, bundlesize=25,
                        nsubbundles=5, nwavestep=50, regularize=0.0, psferr=None, pixpad_frac=0.8, wavepad_frac=0.2,
                        threads=1)
    for arg, good in extract_good.items():
        for bad in wrong_values(rng, good)[:6]:
            kwargs = dict(extract_good, **{arg: bad})
            print(json.dumps(run("extract", lambda: libextract.extract(**kwargs), f"{arg}={type(bad).__name__}", bad)))

    ex2d_good = dict(image=image, imageivar=ivar, psf=psf, specmin=0, nspec=5, wavelengths=wave)
    for arg, good in ex2d_good.items():
        for bad in wrong_values(rng, good)[:4]:
            kwargs = dict(ex2d_good, **{arg: bad})
            print(json.dumps(run("ex2d", lambda: libextract.ex2d(**kwargs), f"{arg}={type(bad).__name__}", bad)))

    for bad in [None, 1, b"psf.fits", "", "/no/such/psf.fits", "x[1].fits", preproc_path]:
        print(json.dumps(run("Psf", lambda: libextract.Psf(bad), f"path={bad!r}", bad)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
