"""examples/packaged: a wheel built with setuptools-rust (Binding.NoBinding)
ships the cdylib, and the installed package loads it with pyo2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT


def pip(*args: str, python: str = sys.executable) -> None:
    subprocess.run([python, "-m", "pip", "-q", "--disable-pip-version-check", *args], check=True, timeout=600)


def test_the_wheel_ships_the_library_and_pyo2_loads_it(tmp_path: Path) -> None:
    pytest.importorskip("setuptools_rust", reason="setuptools-rust is installed in the main venv only")
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
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CARGO_TARGET_DIR")}
    code = (
        "import wordtools, pyo2, os; "
        "print(wordtools.word_count('one two  three'), wordtools.longest_word('a quick fox'), "
        "wordtools.longest_word('   ')); "
        "print(os.path.dirname(wordtools._dll.path) == os.path.dirname(wordtools.__file__))"
    )
    out = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path, env=env, timeout=60
    ).stdout
    assert out.split("\n")[:2] == ["3 quick None", "True"]
