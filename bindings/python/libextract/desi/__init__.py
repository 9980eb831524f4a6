"""libextract as DESI's extraction codes: stand-ins for the ``gpu_specter`` and
``specter`` packages that desispec imports, and the install calls that put them in
``sys.modules`` (in the manner of PyMySQL's ``install_as_MySQLdb()``).

After :func:`install_as_gpu_specter`, ``import gpu_specter, gpu_specter.io,
gpu_specter.core, gpu_specter.mpi`` gives libextract's implementations, with the
upstream names, signatures, defaults and result keys; likewise ``specter``,
``specter.psf`` and ``specter.extract`` after :func:`install_as_specter`. A module of
that name already imported (such as PyPI's unrelated ``specter``) is replaced.

Only :mod:`libextract.desi.extract_script` (the ``libextract-desi-extract`` console
script) imports desispec.
"""

import sys

__all__ = ["install_as_gpu_specter", "install_as_specter", "install_all", "SELECT_ENV"]

#: Environment variable read by the ``.pth`` hook the wheel installs: set to ``1``, the
#: first ``import gpu_specter`` or ``import specter`` of every Python process of that
#: installation does both installs, so an unchanged ``desi_proc`` /
#: ``desi_extract_spectra`` extracts with libextract (libextract_desi_hook.py).
SELECT_ENV = "LIBEXTRACT_AS_DESI_EXTRACTION"


def _install(name, modules):
    """Makes ``name`` and ``name.<sub>`` resolve to `modules` ({sub or '': module}),
    dropping every module of that name imported before."""
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    package = modules[""]
    for sub, module in modules.items():
        if sub:
            sys.modules[f"{name}.{sub}"] = module
            setattr(package, sub, module)
    sys.modules[name] = package
    return package


def install_as_gpu_specter():
    """Installs libextract as ``gpu_specter`` (``.io``, ``.core``, ``.mpi``); returns the
    package module."""
    from . import gpu_specter, gpu_specter_core, gpu_specter_io, gpu_specter_mpi

    return _install("gpu_specter", {"": gpu_specter, "io": gpu_specter_io, "core": gpu_specter_core,
                                    "mpi": gpu_specter_mpi})


def install_as_specter():
    """Installs libextract as ``specter`` (``.psf``, ``.extract``); returns the package
    module."""
    from . import specter, specter_extract, specter_psf

    return _install("specter", {"": specter, "psf": specter_psf, "extract": specter_extract})


def install_all():
    """Both installs: what desispec's extraction scripts need."""
    install_as_gpu_specter()
    install_as_specter()
