"""For the doctests of the package (``pytest --doctest-modules pyo2-py/src/pyo2``):
``dll`` is the test fixture library, built by cargo, and ``pyo2`` is imported."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import pyo2


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[1]
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "pyo2-fixture"], cwd=root, check=True)
    monkeypatch.chdir(root)
    doctest_namespace["pyo2"] = pyo2
    doctest_namespace["dll"] = pyo2.RustDLL.find("pyo2-fixture")
