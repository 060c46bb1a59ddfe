"""The AddressSanitizer run (``scripts/_asan.sh``) is live: an instrumented
fixture that reads one byte past a buffer dies with ASan's report."""

from __future__ import annotations

import os
import textwrap
from array import array
from pathlib import Path

import pytest

import pyo2
from support import run_python

ARMED = 0xA5A50B0E  # tests/fixture/src/asan.rs: the argument that arms the probe
SIGNATURE = "fn asan_probe_overread(v: &PyVec<u8>, arm: u64) -> u8"
ASAN_RUN = bool(os.environ.get("PYO2_ASAN"))


def test_the_disarmed_probe_reads_in_bounds(fixture_path: Path) -> None:
    probe = pyo2.RustDLL(fixture_path).declare(SIGNATURE)
    assert probe(array("B", [7, 8, 9]), 0) == 7
    assert probe(array("B"), 0) == 0


@pytest.mark.skipif(not ASAN_RUN, reason="only in the AddressSanitizer run (scripts/_asan.sh)")
def test_asan_reports_an_overread_past_a_buffer(fixture_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # This process really runs with the ASan runtime and the instrumented fixture.
    maps = Path("/proc/self/maps").read_text()
    assert "libasan" in maps or "clang_rt.asan" in maps, "the ASan runtime is not preloaded"
    assert Path(os.environ["PYO2_FIXTURE"]).resolve() == fixture_path
    # The subprocess reports on its stderr, not into the run's report files.
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") + ":log_path=stderr")
    code = f"""
        import pyo2
        from array import array
        probe = pyo2.RustDLL({str(fixture_path)!r}).declare({SIGNATURE!r})
        data = array("B", [0] * 100)  # from a list: exactly 100 bytes of heap, lent in place
        assert probe(data, 0) == 0
        print("armed", flush=True)
        probe(data, {ARMED})
        print("survived", flush=True)
    """
    result = run_python(textwrap.dedent(code))
    assert result.stdout == "armed\n", result.stderr
    assert result.returncode != 0
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in result.stderr, result.stderr
    assert "READ of size 1" in result.stderr
    assert "asan_probe_overread" in result.stderr
