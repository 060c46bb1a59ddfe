"""The AddressSanitizer run (``scripts/_asan.sh``) is live: an instrumented
fixture that reads one byte past a buffer dies with ASan's report, and so
does the instrumented accelerator (``pyo2._accel``) reading past a buffer
it is handed."""

from __future__ import annotations

import os
import textwrap
from array import array
from pathlib import Path
from typing import Any

import pytest

import pyo2
from pyo2 import _accelerate
from support import run_python

ARMED = 0xA5A50B0E  # tests/fixture/src/asan.rs: the argument that arms the probe
SIGNATURE = "fn asan_probe_overread(v: &PyVec<u8>, arm: u64) -> u8"
ASAN_RUN = bool(os.environ.get("PYO2_ASAN"))


def assert_overflow(result: Any, access: str) -> None:
    """The armed probe died of an ASan heap-buffer-overflow report with this access."""
    assert result.stdout == "armed\n", result.stderr
    assert result.returncode != 0
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in result.stderr, result.stderr
    assert access in result.stderr


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
    assert_overflow(result, "READ of size 1")
    assert "asan_probe_overread" in result.stderr


@pytest.mark.skipif(not ASAN_RUN, reason="only in the AddressSanitizer run (scripts/_asan.sh)")
def test_the_run_imports_the_instrumented_accelerator() -> None:
    accel = os.environ["PYO2_ASAN_ACCEL"]  # scripts/_asan.sh: its instrumented build
    assert _accelerate.available()
    assert _accelerate._accel.__file__ == accel
    assert accel in Path("/proc/self/maps").read_text()


@pytest.mark.skipif(not ASAN_RUN, reason="only in the AddressSanitizer run (scripts/_asan.sh)")
def test_asan_reports_an_overread_in_the_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry point (written in Python) returns a ``Vec<i64>`` that claims
    9 items of a buffer of 8: the accelerator, converting it to a list, reads
    8 bytes past the buffer, and its instrumentation reports it."""
    accel = os.environ["PYO2_ASAN_ACCEL"]
    # Frames as module+offset, to tell the accelerator's from CPython's.
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") + ":log_path=stderr:symbolize=0")
    code = """
        import ctypes
        from array import array
        from pyo2 import _abi, _accelerate, _types

        data = array("q", [7] * 8)  # from a list: exactly 64 bytes of heap
        ENTRY = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)

        def make(n):
            @ENTRY
            def entry(args, nargs, slot):
                buf = _types.COwnedBuf.from_address(slot)
                buf.ptr, buf.len, buf.cap, buf.drop = data.buffer_info()[0], n, n, None
                return _abi.OK
            def failure(*args):
                raise AssertionError(args)
            address = ctypes.cast(entry, ctypes.c_void_p).value
            plan = [], "vec:i64", [], failure, failure, True, "f", "<f>", {}
            return entry, _accelerate._accel.Function(address, *plan)

        keep, f = make(8)
        assert f() == [7] * 8
        print("armed", flush=True)
        keep, f = make(9)
        f()
        print("survived", flush=True)
    """
    result = run_python(textwrap.dedent(code))
    assert_overflow(result, "READ of size 8")
    access = result.stderr.split("READ of size 8", 1)[1].split("\n\n", 1)[0]
    frame0 = next(line for line in access.splitlines() if line.strip().startswith("#0 "))
    assert f"({accel}+0x" in frame0, access  # the read is the accelerator's own
