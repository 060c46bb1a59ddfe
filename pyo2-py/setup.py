"""The build step ``pyproject.toml`` can't express: the optional accelerator.

``pyo2._accel`` (``rust/``, PyO3 on the stable ABI of CPython 3.10+) is built
by setuptools-rust when it is installed and cargo works; the extension is
*optional*, so without cargo (or with a build error) the package installs
as pure Python and works the same, only slower. The wheel is then an abi3
platform wheel (``cp310-abi3-<platform>``).

``PYO2_BUILD_ACCELERATOR=0`` builds the pure ``py3-none-any`` wheel (as do
Python 3.9, PyPy, and an environment without setuptools-rust).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from setuptools import setup


def rust_extensions() -> list[Any]:
    """The accelerator's extension, or none (see the module docstring)."""
    if os.environ.get("PYO2_BUILD_ACCELERATOR", "1") == "0":
        return []
    if sys.implementation.name != "cpython" or sys.version_info < (3, 10):
        return []
    try:
        from setuptools_rust import Binding, RustExtension
    except ImportError:
        return []
    return [
        RustExtension(
            "pyo2._accel",
            path="rust/Cargo.toml",
            binding=Binding.PyO3,
            optional=True,
            # `_accel.abi3.so` in an editable install too, so every CPython
            # >= 3.10 of the test command imports the one build.
            py_limited_api=True,
            debug=False,  # an editable install builds it optimised too
        )
    ]


extensions = rust_extensions()
setup(
    rust_extensions=extensions,
    options={"bdist_wheel": {"py_limited_api": "cp310"}} if extensions else {},
    zip_safe=False,
)
