"""Started by libextract-desi.pth when LIBEXTRACT_AS_DESI_EXTRACTION=1: the first
``import gpu_specter`` or ``import specter`` of the process installs libextract as both
(libextract.desi.install_all). Lazy, because at .pth time sys.path may not yet hold
numpy (a venv's --system-site-packages come after its own .pth files)."""

import importlib.util
import sys

_NAMES = ("gpu_specter", "specter")


class _Installed:
    """Loader of a module that libextract.desi has already put in sys.modules."""

    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


class _Finder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] not in _NAMES:
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]
        from libextract import desi

        desi.install_all()
        module = sys.modules.get(name)
        return None if module is None else importlib.util.spec_from_loader(name, _Installed(module))


def install():
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
