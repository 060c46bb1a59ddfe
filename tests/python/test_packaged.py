"""examples/packaged: a wheel built with setuptools-rust (Binding.NoBinding)
ships the cdylib, and the installed package loads it with pyo2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import ROOT

# The fresh venv must see nothing of this checkout: no PYTHONPATH (the test
# command sets it for the other Pythons), no cargo target directory.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CARGO_TARGET_DIR")}


def pip(*args: str, python: str = sys.executable) -> None:
    command = [python, "-m", "pip", "-q", "--disable-pip-version-check", *args]
    subprocess.run(command, check=True, timeout=600, env=None if python == sys.executable else CLEAN_ENV)


def test_the_wheel_ships_the_library_and_pyo2_loads_it(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT / "examples" / "packaged"))
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT / "pyo2-py"))
    (wheel,) = dist.glob("wordtools-*.whl")
    listing = subprocess.run(
        [sys.executable, "-m", "zipfile", "-l", str(wheel)], capture_output=True, text=True, check=True
    ).stdout
    assert "wordtools/wordtools_rs." in listing, listing  # the cdylib is inside the package

    # A fresh venv, offline: only the two wheels, nothing from the repo.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    pip("install", "--no-index", "--find-links", str(dist), "wordtools", python=python)
    code = (
        "import wordtools, pyo2, os; "
        "print(wordtools.word_count('one two  three'), wordtools.longest_word('a quick fox'), "
        "wordtools.longest_word('   ')); "
        "print(os.path.dirname(wordtools._dll.path) == os.path.dirname(wordtools.__file__))"
    )
    out = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=CLEAN_ENV,
        timeout=60,
    ).stdout
    assert out.split("\n")[:2] == ["3 quick None", "True"]
