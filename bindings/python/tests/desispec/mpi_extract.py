"""Run under mpirun by test_desispec_mpi.py, in the inputs' folder: desispec's own
extraction on libextract with an mpi4py communicator.
  mpi_extract.py {serial|parallel|specter} PSF PREPROC OUT"""

import sys

from mpi4py import MPI

from libextract import desi

desi.install_all()
from desispec.scripts import extract  # noqa: E402

mode, psf, preproc, out = sys.argv[1:5]
assert "Open MPI" in MPI.Get_library_version(), MPI.Get_library_version()
argv = ["-i", preproc, "-p", psf, "-o", out, "-w", "5760.0,5919.2,0.8", "-n", "25", "--mpi"]
if mode == "specter":
    argv.append("--use-specter")
args = extract.parse(argv)
if mode == "parallel":
    import gpu_specter.mpi

    extract.main_gpu_specter(args, coordinator=gpu_specter.mpi.ParallelIOCoordinator(MPI.COMM_WORLD))
else:
    extract.main(args)
