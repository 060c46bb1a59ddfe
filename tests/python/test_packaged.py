"""examples/packaged: a wheel built with setuptools-rust (Binding.NoBinding)
ships the cdylib under its cargo name, is tagged py3-none-<platform> (the
library uses no Python API), and the installed package loads it with pyo2,
on this Python and on another one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from support import ROOT

# One py3-none wheel for every Python: built and installed once, on the main
# Python, and installed into another one (PyPy when there is one) by the last
# test. Each build compiles the crate and each install makes a venv, too slow
# to repeat on every interpreter for the same result.
pytestmark = pytest.mark.main_only

# The fresh venvs must see nothing of this checkout: no PYTHONPATH (the test
# command sets it for the other Pythons), no cargo target directory.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CARGO_TARGET_DIR")}
LIBRARY = (
    "wordtools_rs.dll"
    if sys.platform == "win32"
    else "libwordtools_rs.dylib"
    if sys.platform == "darwin"
    else "libwordtools_rs.so"
)
CODE = (
    "import wordtools, pyo2, os; "
    "print(wordtools.word_count('one two  three'), wordtools.longest_word('a quick fox'), "
    "wordtools.longest_word('   ')); "
    "print(os.path.basename(wordtools._dll.path), "
    "os.path.dirname(wordtools._dll.path) == os.path.dirname(wordtools.__file__))"
)


def pip(*args: str, python: str = sys.executable, env: dict[str, str] | None = None) -> None:
    command = [python, "-m", "pip", "-q", "--disable-pip-version-check", *args]
    if env is None and python != sys.executable:
        env = CLEAN_ENV
    subprocess.run(command, check=True, timeout=600, env=env)


def interpreter(python: str) -> tuple[str, int, int] | None:
    """(implementation, major, minor) of ``python``, if it runs and can make a venv."""
    code = "import sys, venv, ensurepip; print(sys.implementation.name, *sys.version_info[:2])"
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return None
    if done.returncode != 0:
        return None
    name, major, minor = done.stdout.split()
    return name, int(major), int(minor)


def another_python() -> str | None:
    """An interpreter unlike this one: PyPy, else another CPython 3.9+."""
    this = (sys.implementation.name, *sys.version_info[:2])
    for name in ["pypy3", *(f"python3.{minor}" for minor in range(9, 14))]:
        path = shutil.which(name)
        found = interpreter(path) if path else None
        if path and found and found != this and found[1:] >= (3, 9):
            return path
    return None


def install_and_run(python: str, dist: Path, venv: Path) -> list[str]:
    """Install the wheels of ``dist`` into a fresh venv of ``python``, offline, and run CODE there."""
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300, env=CLEAN_ENV)
    bin_dir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    venv_python = str(bin_dir / "python")
    pip("install", "--no-index", "--find-links", str(dist), "wordtools", python=venv_python)
    out = subprocess.run(
        [venv_python, "-c", CODE],
        capture_output=True,
        text=True,
        check=True,
        cwd=venv,
        env=CLEAN_ENV,
        timeout=60,
    ).stdout
    return out.splitlines()


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wordtools and pyo2 wheels, built once."""
    tmp = tmp_path_factory.mktemp("packaged")
    dist = tmp / "dist"
    # Build out of the source tree (setuptools' build/ and egg-info), so
    # nothing an earlier build left there reaches the wheel.
    extra = tmp / "setup-extra.cfg"
    extra.write_text(f"[build]\nbuild_base = {tmp / 'build'}\n[egg_info]\negg_base = {tmp}\n")
    env = {**os.environ, "DIST_EXTRA_CONFIG": str(extra)}
    pip(
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(dist),
        str(ROOT / "examples" / "packaged"),
        env=env,
    )
    # pyo2's pure py3-none-any wheel (the accelerated one is for CPython 3.10+ only).
    pure = {**os.environ, "PYO2_BUILD_ACCELERATOR": "0"}
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT / "pyo2-py"), env=pure)
    return dist


def test_the_wheel_is_for_any_python_3_and_ships_the_library(dist: Path) -> None:
    (wheel,) = dist.glob("wordtools-*.whl")
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert wheel.name == f"wordtools-0.1.0-py3-none-{platform}.whl"
    with zipfile.ZipFile(wheel) as archive:
        files = archive.namelist()
        tags = archive.read("wordtools-0.1.0.dist-info/WHEEL").decode().splitlines()
    libraries = [f for f in files if f.startswith("wordtools/") and not f.endswith(".py")]
    assert libraries == [f"wordtools/{LIBRARY}"], files  # the cargo name, no Python version in it
    assert f"Tag: py3-none-{platform}" in tags and "Root-Is-Purelib: false" in tags


def test_the_installed_package_loads_the_library(dist: Path, tmp_path: Path) -> None:
    assert install_and_run(sys.executable, dist, tmp_path / "venv") == ["3 quick None", f"{LIBRARY} True"]


def test_the_same_wheel_works_on_another_python(dist: Path, tmp_path: Path) -> None:
    python = another_python()
    if python is None:
        pytest.skip("no other Python (PyPy or CPython 3.9+) to install the wheel into")
    assert install_and_run(python, dist, tmp_path / "venv") == ["3 quick None", f"{LIBRARY} True"]
