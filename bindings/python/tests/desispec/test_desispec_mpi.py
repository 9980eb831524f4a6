"""desispec's extraction over MPI ranks on libextract (mpi4py built against the
installed OpenMPI, which the run asserts): SerialIOCoordinator on 2 ranks,
ParallelIOCoordinator on 3 and 4 (1 and 2 workers), and the --use-specter path on 2;
each frame equals the one-rank frame (`libextract extract`'s) bit for bit."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402

HERE = pathlib.Path(__file__).parent


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    common.check_wheel()
    folder = common.make_inputs(tmp_path_factory.mktemp("desispec-mpi"))
    for compat in ("gpu_specter", "specter"):
        common.cli_frame(folder, f"cli-{compat}.fits", "--compat", compat)
    return folder


def mpirun(folder, ranks, mode, out):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1")
    r = subprocess.run(["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), sys.executable,
                        str(HERE / "mpi_extract.py"), mode, common.PSF, common.PREPROC, out], cwd=folder, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    # desispec's bundle merge (specter path) warns that 25 of a spectrograph's 500 fibres
    # were extracted: its own message about the partial frame asked for, nothing else.
    problems = [p for p in common.log_problems(r.stdout + r.stderr) if "instead of 500 spectra" not in p]
    assert not problems, problems
    return folder / out


@pytest.mark.parametrize("ranks, mode", [(2, "serial"), (3, "parallel"), (4, "parallel"), (2, "specter")])
def test_ranks_give_the_one_rank_frame(folder, ranks, mode):
    out = mpirun(folder, ranks, mode, f"frame-{mode}-{ranks}.fits")
    compat = "specter" if mode == "specter" else "gpu_specter"
    if mode != "specter":
        common.assert_frames_equal(out, folder / f"cli-{compat}.fits")
        return
    # desispec's MPI specter path merges its bundles into a frame of the FIBERMAP's 500
    # fibres: the 25 extracted are the one-rank frame's, the others carry no data.
    common.assert_frames_equal(out, folder / f"cli-{compat}.fits", rows=common.NSPEC)
    with fits.open(out) as h:
        assert h["FLUX"].data.shape[0] == 500 and not np.any(h["IVAR"].data[common.NSPEC:])
