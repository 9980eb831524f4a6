"""Pictures of an extraction (``pip install 'libextract[plot]'``: matplotlib, astropy).

The ``libextract-plot`` console script (``python -m libextract.plot``) writes them as
PNG files. Every drawing function writes one picture and returns the data it drew, so
tests (and users) can check a picture against the frame, the model and the plan; it
raises :class:`BlankPictureError` rather than write a picture that shows nothing.

draw_ccd(image, psf, plan, path)
    the CCD image with the traces of the extracted fibres and the patch windows
draw_residual(image, ivar, model, plan, path)
    (data − model)·√ivar in the patch windows, its histogram and robust width
draw_resolution(frame, path, row=None)
    one fibre's resolution matrix and its band in RESOLUTION
draw_quality(frame, path)
    chi2pix and pixmask_fraction maps, fibre against wavelength
draw_spectra(frame, truth, path, rows=None)
    extracted spectra against the resolution-convolved truth, with a zoom and pulls
draw_stages(timing, path)
    stage times of ``libextract extract --timing``
draw_bench(benches, path)
    CPU against GPU (and threads, fibres, wavelengths) from ``libextract bench --json``
robust_width(residual, ivar, plan)
    1.4826 × MAD of the residuals over the pixels with ivar > 0 in the patch windows
"""

from ._bench import draw_bench
from ._ccd import draw_ccd
from ._cli import main
from ._inputs import InputError, frame_plan, read_frame, read_json, read_model, read_preproc, read_truth
from ._quality import draw_quality
from ._residual import draw_residual
from ._resolution import draw_resolution
from ._spectra import draw_spectra, truth_on_grid
from ._stats import convolve_resolution, inner_patches, residual_image, resolution_matrix, robust_width, window_mask
from ._style import BlankPictureError, check_drawn
from ._timing import draw_stages

__all__ = [
    "draw_ccd", "draw_residual", "draw_resolution", "draw_quality", "draw_spectra", "draw_stages", "draw_bench",
    "robust_width", "inner_patches", "residual_image", "window_mask", "resolution_matrix", "convolve_resolution", "truth_on_grid",
    "frame_plan", "read_frame", "read_preproc", "read_model", "read_truth", "read_json", "InputError",
    "BlankPictureError", "check_drawn", "main",
]
