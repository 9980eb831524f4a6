"""The MPI path of the gpu_specter stand-in's ``extract_frame``: rank 0's image, ivar
and PSF are broadcast; every rank solves a contiguous share of the plan's patches
(``_libextract.FrameParts``, libextract::ExtractionParts); rank 0 stitches the shares
in plan order, so its frame is bitwise that of a one-rank run."""

import numpy as np

from .. import _core

__all__ = ["extract", "share"]


def share(npatches, size, rank):
    """(first, count): rank `rank`'s contiguous share of `npatches` over `size` ranks."""
    base, extra = divmod(npatches, size)
    return rank * base + min(rank, extra), base + (1 if rank < extra else 0)


def extract(comm, img, psf, wavelength, options, host, psf_of, timing, stamp):
    """Runs on every rank of `comm`; returns the result dict on rank 0, None elsewhere."""
    rank = comm.rank
    header = None
    if rank == 0:
        # float64 as the engine converts (exact), so every rank's copy has the same bits.
        image = np.ascontiguousarray(host(img["image"], "img['image']"), dtype=np.float64)
        ivar = np.ascontiguousarray(host(img["ivar"], "img['ivar']"), dtype=np.float64)
        header = (image.shape, psf_of(psf))
    shape, lpsf = comm.bcast(header, root=0)
    if rank != 0:
        image = np.empty(shape, dtype=np.float64)
        ivar = np.empty(shape, dtype=np.float64)
    comm.Bcast(image, root=0)
    comm.Bcast(ivar, root=0)
    stamp(timing, "inputs")
    parts = _core._ext.FrameParts(lpsf._psf, image, ivar, _core._options(lpsf, wavelength, **options))
    first, count = share(parts.patch_count, comm.size, rank)
    blocks = comm.gather(parts.solve(first, count), root=0)
    stamp(timing, "extracted")
    if rank != 0:
        return None
    for block in blocks:
        parts.stitch(block)
    return parts.finish()
