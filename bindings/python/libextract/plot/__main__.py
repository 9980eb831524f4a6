"""``python -m libextract.plot``: the same as the ``libextract-plot`` console script."""

import sys

from ._cli import main

sys.exit(main())
