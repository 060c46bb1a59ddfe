"""The examples under examples/ run and print what their READMEs say."""

from __future__ import annotations

import os
import re
import subprocess
import sys

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
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == match.group(1)
    # The panic went through Rust's panic hook (stderr) and became a RustPanic.
    assert "percentile must be in 0..=100, got 101" in result.stderr
