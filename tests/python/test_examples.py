"""The examples under examples/ run and print what their READMEs say."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from support import ROOT, library


def test_stats_example_prints_its_readme_output() -> None:
    library("stats", "stats")
    readme = (ROOT / "examples" / "stats" / "README.md").read_text()
    match = re.search(r"```text\n(.*?)```", readme, re.S)
    assert match, "the README shows the expected output in a ```text block"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "stats" / "stats.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "RUST_BACKTRACE": "0", "PYO2_PANIC_OUTPUT": "0"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == match.group(1)
    # The panic became a RustPanic; Rust's panic hook printed nothing for it
    # (PYO2_PANIC_OUTPUT=1 would show it on stderr).
    assert "percentile must be in 0..=100, got 101" not in result.stderr


def run_against_readme(name: str) -> subprocess.CompletedProcess[str]:
    """Builds ``examples/NAME``, runs its ``NAME.py`` and checks that it
    succeeds and prints exactly the README's ```text block."""
    library(name, name)
    readme = (ROOT / "examples" / name / "README.md").read_text()
    match = re.search(r"```text\n(.*?)```", readme, re.S)
    assert match, "the README shows the expected output in a ```text block"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name / f"{name}.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == match.group(1)
    return result


def test_people_example_prints_its_readme_output() -> None:
    """The JSON-by-hand and the records versions print the same answers."""
    pytest.importorskip("numpy")  # the driver's last line
    result = run_against_readme("people")
    lines = result.stdout.splitlines()
    by_json, by_records = lines[1], lines[6]
    assert by_json == by_records == "oldest: Grace 85 ['navy', 'cobol']"


def test_objects_example_prints_its_readme_output() -> None:
    """PyO3's MyClass and PyClassIter ported to #[pyo2::class], and callbacks."""
    result = run_against_readme("objects")
    # Nothing was reported on the way: no exception escaped a callback
    # unraised, and every object was closed once (none at exit with an error).
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert "RustError: a MyClass needs a name" in lines
    assert "KeyError from the callback: 'longword'" in lines
    assert lines[-2:] == ["kept by Rust: True", "released: True"]
