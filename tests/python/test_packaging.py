"""What the published packages carry: licence, readme, metadata."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support import ROOT

pytestmark = pytest.mark.main_only  # the same on every Python: run once


@pytest.mark.parametrize("crate", ["pyo2", "pyo2-macros"])
def test_each_crate_package_has_its_licence_and_readme(crate: str) -> None:
    listing = subprocess.run(
        ["cargo", "package", "--list", "--allow-dirty", "-p", crate],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "LICENSE" in listing
    assert "README.md" in listing
    manifest = (ROOT / ("pyo2-rs" if crate == "pyo2" else crate) / "Cargo.toml").read_text()
    assert 'readme = "README.md"' in manifest


def test_the_wheel_has_the_licence_extras_classifiers_and_urls(tmp_path: Path) -> None:
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip_wheel, "-w", str(tmp_path), "."],
        cwd=ROOT / "pyo2-py",
        check=True,
        timeout=600,
        env={**os.environ, "PYO2_BUILD_ACCELERATOR": "0"},  # the pure wheel
    )
    (wheel,) = tmp_path.glob("pyo2-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = zf.read(metadata_name).decode()
        assert not [n for n in names if "_accel." in n and not n.endswith(".pyi")], names  # no extension
        licences = [n for n in names if n.endswith("/LICENSE")]
        assert licences, names
        assert "MIT License" in zf.read(licences[0]).decode()
    lines = metadata.splitlines()
    for minor in range(9, 14):
        assert f"Classifier: Programming Language :: Python :: 3.{minor}" in lines
    assert any(line.startswith("Classifier: Development Status ::") for line in lines)
    assert any(line.startswith("Classifier: Operating System ::") for line in lines)
    assert "Provides-Extra: testing" in lines
    assert any(line.startswith("Requires-Dist: hypothesis") and "extra == " in line for line in lines)
    assert any(line.startswith("Project-URL: Changelog") for line in lines)
    assert "License-Expression: MIT" in lines
