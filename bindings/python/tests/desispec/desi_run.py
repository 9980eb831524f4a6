"""Run by test_desispec.py in a fresh interpreter, in the folder of the inputs (short
relative paths, as production's are): desispec's read_image, its own
desi_extract_spectra main (after libextract's installs) and read_frame, each with
warnings made errors.  desi_run.py {gpu_specter|specter} PSF PREPROC OUT"""

import sys
import warnings

from libextract import desi

desi.install_all()  # before desispec.scripts.extract, which imports specter at module level
import desispec.io  # noqa: E402
from desispec.scripts import extract  # noqa: E402

path, psf, preproc, out = sys.argv[1:5]
argv = ["-i", preproc, "-p", psf, "-o", out, "-w", "5760.0,5919.2,0.8", "-n", "25"]
if path == "specter":
    argv.append("--use-specter")
with warnings.catch_warnings():
    warnings.simplefilter("error")
    image = desispec.io.read_image(preproc)
    assert image.camera == "r0" and image.meta["FLAVOR"] == "science", (image.camera, image.meta["FLAVOR"])
    extract.main(extract.parse(argv))
    frame = desispec.io.read_frame(out)
    assert frame.flux.shape == (25, 200), frame.flux.shape
print("desi_run: done")
