"""How a production desi_proc run selects libextract: LIBEXTRACT_AS_DESI_EXTRACTION=1
in the environment, read by the .pth hook the wheel installs. A fresh interpreter of the
venv, without PYTHONPATH, then imports libextract's gpu_specter and specter."""

import os
import subprocess
import sys

PROBE = ("import gpu_specter.core, gpu_specter.mpi, specter.psf, specter.extract, libextract; "
         "print(gpu_specter.core.extract_frame.__module__, specter.psf.load_psf.__module__, "
         "gpu_specter.__version__ == libextract.__version__, libextract.__file__)")


def run(selected):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LIBEXTRACT_AS_DESI_EXTRACTION")}
    if selected:
        env["LIBEXTRACT_AS_DESI_EXTRACTION"] = "1"
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, cwd="/")


def test_environment_variable_selects_libextract():
    r = run(True)
    assert r.returncode == 0, r.stderr
    core, psf, same_version, where = r.stdout.split()
    assert core == "libextract.desi.gpu_specter_core" and psf == "libextract.desi.specter_psf"
    assert same_version == "True" and where.startswith(sys.prefix)


def test_without_the_variable_nothing_is_installed():
    r = run(False)
    assert r.returncode != 0 and "No module named 'gpu_specter'" in r.stderr
