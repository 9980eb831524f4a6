"""desispec itself (from PyPI) on libextract: its own desi_extract_spectra, in both its
gpu_specter and --use-specter paths, reads a `libextract simulate` preproc and writes
frames whose FLUX, IVAR, MASK, RESOLUTION and CHI2PIX equal `libextract extract`'s own
float32 frames bit for bit; read_image, the extraction and read_frame log no warning
or error and raise no Python warning (desi_run.py, a fresh interpreter each)."""

import os
import pathlib
import subprocess
import sys

import pytest
from astropy.io import fits

import libextract

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402

HERE = pathlib.Path(__file__).parent


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    common.check_wheel()
    return common.make_inputs(tmp_path_factory.mktemp("desispec"))


def run(folder, *command):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([str(c) for c in command], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    problems = common.log_problems(r.stdout + r.stderr)
    assert not problems, problems
    return r


@pytest.mark.parametrize("path", ["gpu_specter", "specter"])
def test_desi_extract_spectra_equals_libextract_extract(folder, path):
    out = f"frame-{path}.fits"
    run(folder, sys.executable, HERE / "desi_run.py", path, common.PSF, common.PREPROC, out)
    theirs = common.cli_frame(folder, f"cli-{path}.fits", "--compat", path)
    common.assert_frames_equal(folder / out, folder / theirs)
    _, header, hdus = common.frame_arrays(folder / out)
    assert header["SPECTER"] == libextract.__version__ and header["FLAVOR"] == "science"
    assert "SCORES" in hdus and "FIBERMAP" in hdus
    # The BADREADNOISE band was extracted: the strict mask gives another frame.
    strict = common.cli_frame(folder, f"strict-{path}.fits", "--compat", path, "--mask-bits", "1023")
    with fits.open(folder / strict) as a, fits.open(folder / out) as b:
        assert (a["IVAR"].data != b["IVAR"].data).any()


def test_console_script_is_desi_extract_spectra(folder):
    script = pathlib.Path(sys.prefix) / "bin" / "libextract-desi-extract"
    run(folder, script, "-i", common.PREPROC, "-p", common.PSF, "-o", "frame-script.fits", "-w", common.GRID, "-n",
        common.NSPEC)
    common.assert_frames_equal(folder / "frame-script.fits", folder / common.cli_frame(folder, "cli-script.fits"))
