"""``libextract-desi-extract``: desispec's own ``desi_extract_spectra`` (every option of
it, its frame writer, SCORES, FLAVOR vetting and provenance), run on libextract: the two
installs of :mod:`libextract.desi`, then ``desispec.scripts.extract.main``."""

import importlib.util
import sys

from . import install_all


def main(argv=None):
    if importlib.util.find_spec("desispec") is None:
        print("libextract-desi-extract: desispec is not installed; it runs desispec's desi_extract_spectra on "
              "libextract (pip install desispec, with its dependencies)", file=sys.stderr)
        return 1
    install_all()  # before desispec.scripts.extract, which imports specter at module level
    from desispec.scripts import extract

    result = extract.main(extract.parse(sys.argv[1:] if argv is None else argv))
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
