"""Bundling liblp2p into the wheel: with LP2P_BUNDLE_LIBRARY=<path of
liblp2p.so> the library is copied into the package as its SONAME and the
wheel is tagged for this platform (py3-none-<platform>: ctypes needs no
particular Python ABI). Without it the wheel is pure Python and expects
liblp2p installed (or LP2P_LIBRARY). Everything else is in pyproject.toml."""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

BUNDLE = os.environ.get("LP2P_BUNDLE_LIBRARY")
SONAME = "liblp2p.so.0.4"

try:  # setuptools >= 70.1 has its own bdist_wheel
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:
    from wheel.bdist_wheel import bdist_wheel


class BuildPy(build_py):
    def run(self):
        super().run()
        dest = os.path.join(self.build_lib, "lp2p", SONAME)
        if BUNDLE:
            if not os.path.exists(BUNDLE):
                raise SystemExit(f"LP2P_BUNDLE_LIBRARY: no such file {BUNDLE}")
            shutil.copyfile(os.path.realpath(BUNDLE), dest)
        elif os.path.exists(dest):  # left by an earlier bundling build
            os.remove(dest)


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        _, _, plat = super().get_tag()
        return ("py3", "none", plat) if BUNDLE else ("py3", "none", "any")


class LibraryDistribution(Distribution):
    def has_ext_modules(self):
        return bool(BUNDLE)  # a platform wheel, installed in platlib


setup(
    cmdclass={"build_py": BuildPy, "bdist_wheel": PlatformWheel},
    distclass=LibraryDistribution,
)
