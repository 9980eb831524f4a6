"""Which part of the CCD a picture shows: the patch windows' bounding box, cut to
a readable zoom when the extraction covers much of the CCD."""

from __future__ import annotations

import numpy as np

__all__ = ["windows", "bounding_box", "zoom_box"]

# The zoom shows the first bundle's patches over this many CCD rows (about three
# wavelength chunks of DESI's 50 bins): enough to see how windows overlap, few enough
# to tell them apart.
ZOOM_ROWS = 260


def windows(plan):
    """The patch windows as an [npatch, 4] int array of (xmin, xmax, ymin, ymax)."""
    return np.stack([plan["xmin"], plan["xmax"], plan["ymin"], plan["ymax"]], axis=1).astype(np.int64)


def bounding_box(boxes):
    return (int(boxes[:, 0].min()), int(boxes[:, 1].max()), int(boxes[:, 2].min()), int(boxes[:, 3].max()))


def zoom_box(plan, rows=ZOOM_ROWS):
    """The first bundle's patch windows over ``rows`` CCD rows from the middle of the
    extraction (None: the whole extraction)."""
    boxes = windows(plan)
    x0, x1, y0, y1 = bounding_box(boxes)
    if rows is None or y1 - y0 <= rows:
        return x0, x1, y0, y1
    first = boxes[plan["bundle"] == plan["bundle"].min()]
    mid = (y0 + y1 - rows) // 2
    x0, x1, _, _ = bounding_box(first)
    return x0, x1, mid, mid + rows
