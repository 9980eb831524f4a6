"""Inputs and checks shared by the desispec tests: a `libextract simulate` preproc (one
bundle of 25 fibres x 200 wavelengths, a 500-fibre PSF, bad pixels, cosmics and a band
of BADREADNOISE rows) and desispec's own entry points, run with warnings as errors."""

import contextlib
import os
import pathlib
import re
import subprocess
import sys
import warnings

import numpy as np
from astropy.io import fits

import libextract

GRID = "5760.0,5919.2,0.8"
NSPEC = 25
PSF, PREPROC = "psf-r0.fits", "preproc-r0.fits"  # relative to the inputs' folder
BADREADNOISE = 256
ARRAYS = ("FLUX", "IVAR", "MASK", "RESOLUTION", "CHI2PIX")


def check_wheel():
    """The tests run on the installed wheel, not on a build tree."""
    assert pathlib.Path(libextract.__file__).resolve().is_relative_to(pathlib.Path(sys.prefix).resolve()), \
        libextract.__file__


def cli():
    path = os.environ.get("LIBEXTRACT_CLI")
    assert path and os.access(path, os.X_OK), "LIBEXTRACT_CLI must name the libextract executable"
    return path


def make_inputs(folder):
    """Writes PSF and PREPROC into `folder`; returns it."""
    folder = pathlib.Path(folder)
    libextract.write_synthetic_psf(folder / PSF, camera="r", seed=2, nspec=500)
    subprocess.run([cli(), "simulate", "--psf", PSF, "-o", PREPROC, "--truth", "truth.fits", "-w", GRID, "-n",
                    str(NSPEC), "--seed", "4", "--badpix", "20", "--cosmics", "2"], cwd=folder, check=True)
    # Rows across the traces flagged BADREADNOISE only: desispec extracts them.
    with fits.open(folder / PREPROC, mode="update") as h:
        p = libextract.Psf(folder / PSF)
        y0, y1 = int(p.y(0, 5820.0)), int(p.y(0, 5840.0))
        h["MASK"].data[y0:y1] |= BADREADNOISE
    return folder


@contextlib.contextmanager
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


LOG_PROBLEM = re.compile(r"^(WARNING|ERROR|CRITICAL)\b", re.M)


def log_problems(text):
    """desiutil's WARNING, ERROR and CRITICAL lines in `text`."""
    return [line for line in text.splitlines() if LOG_PROBLEM.match(line)]


def frame_arrays(path):
    with fits.open(path) as h:
        return {name: h[name].data.copy() for name in ARRAYS}, h["FLUX"].header.copy(), [x.name for x in h]


def assert_frames_equal(ours, theirs, rows=None):
    """FLUX, IVAR, MASK, RESOLUTION and CHI2PIX equal bit for bit (in `ours`' first `rows`
    fibres when given)."""
    a, _, _ = frame_arrays(ours)
    b, _, _ = frame_arrays(theirs)
    if rows is not None:
        a = {name: value[:rows] for name, value in a.items()}
    for name in ARRAYS:
        assert a[name].dtype == b[name].dtype, (name, a[name].dtype, b[name].dtype)
        np.testing.assert_array_equal(a[name], b[name], err_msg=f"{name}: {ours} vs {theirs}")


def cli_frame(folder, out, *extra):
    """`libextract extract`'s own float32 frame of the inputs in `folder`; returns `out`."""
    subprocess.run([cli(), "extract", "-i", PREPROC, "-p", PSF, "-o", out, "-w", GRID, "-n", str(NSPEC), "-q",
                    *extra], cwd=folder, check=True)
    return out
