"""The build step ``pyproject.toml`` can't express: the optional accelerator.

``pyo2._accel`` (``rust/``, PyO3 on the stable ABI of CPython 3.10+) is built
by setuptools-rust. ``PYO2_BUILD_ACCELERATOR`` decides when:

- unset, empty or ``auto``: build it if cargo (``$CARGO``, else ``cargo`` on
  ``PATH``) and rustc are found; if they aren't, or the build fails, warn on
  stderr and make the pure wheel. pyo2 works the same without it, slower.
- ``1``: build it or fail the build (a missing toolchain, a compile error,
  or a Python the accelerator isn't for is an error).
- ``0``: don't build it.

With the accelerator the wheel is an abi3 platform wheel
(``cp310-abi3-<platform>``); without it, whatever the reason, the pure
``py3-none-any`` wheel. Python 3.9 and PyPy (no abi3) always make the pure
wheel, without trying or warning (unless ``1`` asks for the accelerator).
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from typing import Any

from setuptools import setup

VARIABLE = "PYO2_BUILD_ACCELERATOR"
MODES = {
    "auto": "build it if cargo and rustc are found, else the pure wheel, with a warning (the default)",
    "1": "build it, or fail",
    "0": "don't build it (the pure py3-none-any wheel)",
}
# Whether the accelerator was built: None until build_rust has run.
built: dict[str, bool | None] = {"accelerator": None}


def build_mode() -> str:
    """``auto``, ``1`` or ``0``, from the environment; anything else stops the build."""
    value = os.environ.get(VARIABLE, "") or "auto"
    if value not in MODES:
        choices = "\n".join(f"  {mode}: {meaning}" for mode, meaning in MODES.items())
        sys.exit(
            f"error: {VARIABLE}={value!r} is not valid; use one of\n{choices}\n(unset or empty means auto)"
        )
    return value


def warn(message: str) -> None:
    print(f"\nWARNING: {message}\n", file=sys.stderr, flush=True)


def not_built(reason: str, kept: str | None = None) -> str:
    """The warning; ``kept`` is the accelerator an earlier in-place build left."""
    works = (
        f"An accelerator built earlier, {kept}, is kept and is what pyo2 imports: it may be out of date "
        "(delete it, or set PYO2_PURE=1, to run pure Python).\n"
        if kept
        else "pyo2 works the same without it, in pure Python, only slower "
        "(a wheel built now is the pure py3-none-any one).\n"
    )
    return (
        f"pyo2's optional accelerator (pyo2._accel, in Rust) was not built:\n  {reason}.\n{works}"
        f"To require the accelerator (a build that can't make it fails), set {VARIABLE}=1; "
        f"{VARIABLE}=0 makes the pure wheel without this warning."
    )


def missing_toolchain() -> str | None:
    """What setuptools-rust would not find, or None: cargo (``$CARGO`` or on PATH) and rustc."""
    cargo = os.environ.get("CARGO", "cargo")
    if not shutil.which(cargo):
        where = f"CARGO={cargo!r} was not found" if "CARGO" in os.environ else "cargo was not found on PATH"
        return f"{where} (Rust: https://rustup.rs)"
    if not shutil.which("rustc"):
        return "rustc was not found on PATH (Rust: https://rustup.rs)"
    return None


def describe(error: Exception) -> str:
    """The error's message without setuptools-rust's empty "-- Output captured from ..." headers."""
    lines = str(error).strip().splitlines()
    while lines and lines[-1].startswith("-- Output captured from"):
        lines.pop()
    return "\n".join(lines)


def accelerator(mode: str) -> tuple[list[Any], dict[str, Any]]:
    """The accelerator's extension and the commands that build it, or none."""
    if mode == "0":
        return [], {}
    if sys.implementation.name != "cpython" or sys.version_info < (3, 10):
        if mode == "1":
            sys.exit(
                f"error: {VARIABLE}=1, but pyo2's accelerator is for CPython 3.10+ only "
                f"(this is {platform.python_implementation()} {platform.python_version()}); "
                f"unset it (or set it to 0) to make the pure wheel"
            )
        return [], {}
    from setuptools.command.bdist_wheel import bdist_wheel
    from setuptools.errors import PlatformError

    try:
        from setuptools_rust import Binding, RustExtension
        from setuptools_rust.build import build_rust
    except ImportError:
        if mode == "1":
            sys.exit(f"error: {VARIABLE}=1, but setuptools-rust is not installed")
        warn(not_built("setuptools-rust is not installed"))
        return [], {}

    class BuildRust(build_rust):
        """setuptools-rust's build, with the mode's answer to a missing toolchain or a failure."""

        def run(self) -> None:
            if not self.extensions:
                return super().run()
            missing = missing_toolchain()
            if missing is not None:
                if mode == "1":
                    raise PlatformError(f"{VARIABLE}=1, but pyo2's accelerator can't be built: {missing}")
                return self.skip(missing)
            built["accelerator"] = None
            super().run()  # run_for_extension records what happened
            if built["accelerator"] is None:  # setuptools-rust gave up before building (rustc -Vv failed)
                self.skip("the Rust compiler did not run (`rustc -Vv` failed)")
            return None

        def run_for_extension(self, ext: Any) -> None:
            try:
                super().run_for_extension(ext)
            except Exception as error:
                if mode == "1":
                    raise PlatformError(
                        f"pyo2's accelerator failed to build ({VARIABLE}=1 requires it): {describe(error)}"
                    ) from error
                self.skip(f"building it failed (cargo's errors, if any, are above): {describe(error)}")
            else:
                built["accelerator"] = True

        def skip(self, reason: str) -> None:
            built["accelerator"] = False
            kept = None
            for ext in self.extensions:
                path = self.get_dylib_ext_path(ext, ext.name)
                if os.path.exists(path):
                    if self.inplace:  # the source tree's: left alone
                        kept = path
                    else:  # an earlier build's, which would end up in the pure wheel
                        os.remove(path)
            warn(not_built(reason, kept))

    class BdistWheel(bdist_wheel):
        """The pure ``py3-none-any`` wheel when the accelerator wasn't built."""

        def get_tag(self) -> tuple[str, str, str]:
            if built["accelerator"] is False:
                self.root_is_pure = True
            return super().get_tag()

    extension = RustExtension(
        "pyo2._accel",
        path="rust/Cargo.toml",
        binding=Binding.PyO3,
        optional=mode == "auto",
        # `_accel.abi3.so` in an editable install too, so every CPython
        # >= 3.10 of the test command imports the one build.
        py_limited_api=True,
        debug=False,  # an editable install builds it optimised too
    )
    return [extension], {"build_rust": BuildRust, "bdist_wheel": BdistWheel}


extensions, commands = accelerator(build_mode())
setup(
    rust_extensions=extensions,
    cmdclass=commands,
    options={"bdist_wheel": {"py_limited_api": "cp310"}} if extensions else {},
    zip_safe=False,
)
