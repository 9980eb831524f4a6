"""A small typed user of libextract, as a DESI script would be: `mypy --strict` must
pass on it (CTest python_typing). It is type-checked, not run."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Tuple

import numpy as np
import numpy.typing as npt

import libextract


def extract_frame(psf_path: Path, image: npt.NDArray[np.float32], ivar: npt.NDArray[np.float32],
                  seen: List[Tuple[int, int]]) -> npt.NDArray[np.float64]:
    psf = libextract.Psf(psf_path)
    centre = psf.x(0, 6000.0)
    if isinstance(centre, float):
        assert 0.0 <= centre < psf.npix_x
    out = libextract.extract(image, ivar, psf, "5760.0,5919.2,0.8", nspec=5, bundlesize=5,
                             progress=lambda done, total: seen.append((done, total)))
    model = out.get("modelimage")
    assert model is None
    flux: npt.NDArray[np.float64] = out["specflux"]
    mask: npt.NDArray[np.uint32] = out["specmask"]
    return np.where(mask == 0, flux, 0.0)


def extract_files(preproc: str, psf: str, frame: Path) -> int:
    log: logging.Logger = libextract.get_logger()
    try:
        report = libextract.extract_file(preproc, psf, frame, wavelength=(5760.0, 5919.2, 0.8), threads=2)
    except FileNotFoundError as error:  # also a libextract.Error, naming the argument
        log.error("%s", error)
        return 2
    except libextract.Error as error:
        log.error("%s", error)
        return 1
    log.info("libextract %s: %s patches", libextract.__version__, report["patches"])
    return 0


def simulated(psf_path: str) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    result = libextract.ex2d(np.zeros((10, 10)), np.ones((10, 10)), psf_path, 0, 5, np.arange(5760.0, 5800.0, 0.8))
    assert isinstance(result, tuple)
    return result
