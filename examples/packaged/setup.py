"""Build steps of ``wordtools`` that ``pyproject.toml`` can't express.

The Rust library uses no Python API (pyo2 loads it with ctypes), so one wheel
serves every Python 3 (and PyPy) on a platform. setuptools-rust (see
``[tool.setuptools-rust]`` in ``pyproject.toml``) tags a ``NoBinding``
extension's wheel for the Python that built it (``cp311-cp311-linux_x86_64``)
and names the file like an extension module of that Python
(``wordtools_rs.cpython-311-x86_64-linux-gnu.so``); it has no option for
either. Two small command classes fix that:

* ``build_ext`` gives the library its plain cargo file name inside the
  package, ``libwordtools_rs.so`` (``.dylib`` on macOS, ``wordtools_rs.dll``
  on Windows), the name ``pyo2.RustDLL.find(..., package=...)`` looks for
  first, whichever Python imports the package;
* ``bdist_wheel`` tags the wheel ``py3-none-<platform>``: any Python 3, no
  Python ABI, this platform.
"""

from __future__ import annotations

import os

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_ext import build_ext

#: The setuptools-rust target in pyproject.toml: package ``wordtools``, lib ``wordtools_rs``.
LIBRARY = "wordtools.wordtools_rs"


def shared_library_name(lib: str, plat_name: str) -> str:
    """The file name cargo gives the cdylib ``lib`` on the platform ``plat_name``."""
    if plat_name.startswith("win"):
        return f"{lib}.dll"
    if plat_name.startswith("macosx"):
        return f"lib{lib}.dylib"
    return f"lib{lib}.so"


class build_ext_plain_name(build_ext):
    """Put the library in the package under its cargo name, not an extension-module name."""

    def get_ext_fullpath(self, ext_name: str) -> str:
        path = super().get_ext_fullpath(ext_name)
        if self.get_ext_fullname(ext_name) != LIBRARY:
            return path
        lib = LIBRARY.rsplit(".", 1)[1]
        return os.path.join(os.path.dirname(path), shared_library_name(lib, self.plat_name))


class bdist_wheel_any_python(bdist_wheel):
    """Tag the wheel for any Python 3 with no ABI: ``py3-none-<platform>``."""

    def get_tag(self) -> tuple[str, str, str]:
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_ext": build_ext_plain_name, "bdist_wheel": bdist_wheel_any_python})
