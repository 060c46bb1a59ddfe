"""Memory: Rust-owned returns are freed exactly once, and failed conversions
leave nothing behind (measured: peak RSS in a fresh interpreter, and Python
allocations with tracemalloc)."""

from __future__ import annotations

import gc
import textwrap
from array import array
from pathlib import Path
from typing import Any

import pytest

import pyo2
from support import run_python


def peak_rss_growth_kb(fixture_path: Path, loop: str) -> int:
    """Peak RSS growth (KB) of ``loop`` (a body using ``n``) run in a fresh
    interpreter, after a warm-up of the same loop."""
    body = textwrap.indent(textwrap.dedent(loop).strip(), "    ")
    code = "\n".join(
        [
            "import resource, pyo2",
            f"dll = pyo2.RustDLL({str(fixture_path)!r})",
            "def rss_kb():",
            "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss",
            "def run(n):",
            body,
            "run(2_000)",
            "before = rss_kb()",
            "run(200_000)",
            "print(rss_kb() - before)",
        ]
    )
    result = run_python(code, timeout=600)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def test_owned_returns_are_freed(fixture_path: Path) -> None:
    """200k calls returning a 1 KB String grow the peak RSS by less than 20 MB;
    leaking them would take over 200 MB."""
    grown = peak_rss_growth_kb(
        fixture_path,
        """
        for _ in range(n):
            s = dll.ex_repeat("x", 1024)
        assert len(s) == 1024
        """,
    )
    assert grown < 20 * 1024, f"peak RSS grew by {grown} KB"


def test_owned_vecs_and_error_messages_are_freed(fixture_path: Path) -> None:
    grown = peak_rss_growth_kb(
        fixture_path,
        """
        for i in range(n // 10):
            v = dll.ex_range(256)
            try:
                dll.ex_parse("not a number " * 50)
            except pyo2.RustError:
                pass
            if i % 10 == 0:
                try:
                    dll.ex_panic("boom " * 100)
                except pyo2.RustPanic:
                    pass
        """,
    )
    assert grown < 20 * 1024, f"peak RSS grew by {grown} KB"


def test_failed_conversions_are_freed(fixture_path: Path) -> None:
    grown = peak_rss_growth_kb(
        fixture_path,
        """
        big = [*range(100), "x"]
        for _ in range(n // 20):
            for bad in (big, [[1] * 10, [2.5]], [2**64] * 10):
                try:
                    dll.double_i64(bad)
                except (TypeError, OverflowError):
                    pass
            try:
                dll.ex_sum(big)
            except TypeError:
                pass
        """,
    )
    assert grown < 20 * 1024, f"peak RSS grew by {grown} KB"


BAD_CALLS: list[tuple[str, str | None, tuple[Any, ...]]] = [
    ("double_i64", None, ([*range(100), 1.5],)),
    ("nested_bump", None, ([[1, 2]] * 3 + [[object()]],)),
    ("double_i64", "fn double_i64(v: &mut PyVec<i64>)", ([1] * 100 + [2**64],)),
    ("total_len", "fn total_len(v: &PyVec<&PyStr>) -> u64", (["ok"] * 100 + ["\ud800"],)),
    ("ex_sum", None, ([*range(100), None],)),
    ("ex_greet", None, (b"\xff" * 100,)),
]


try:
    import tracemalloc
except ImportError:  # PyPy ships the module without its C half
    tracemalloc = None  # type: ignore[assignment]


@pytest.mark.skipif(
    tracemalloc is None,
    reason="no tracemalloc on this Python (PyPy); test_failed_conversions_are_freed measures RSS instead",
)
@pytest.mark.parametrize("case", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_a_failed_call_leaves_no_python_allocations(
    dll: pyo2.RustDLL, case: tuple[str, str | None, tuple[Any, ...]]
) -> None:
    name, declaration, args = case
    function = dll.declare(declaration) if declaration else dll[name]

    def fail() -> None:
        with pytest.raises((TypeError, OverflowError, ValueError)):
            function(*args)

    for _ in range(50):
        fail()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(1000):
            fail()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes still allocated after 1000 failed calls"


def test_buffers_are_released_after_a_failed_call(dll: pyo2.RustDLL) -> None:
    """A buffer lent to a call that then fails can be resized again (no export left)."""
    buf = bytearray(16)
    arr = array("q", [1, 2])
    for args in [(buf, [1, "x"]), (arr, [2**64])]:
        with pytest.raises((TypeError, OverflowError)):
            dll.swap_views(*args)
    buf.extend(b"more")
    arr.append(3)
    assert len(buf) == 20 and list(arr) == [1, 2, 3]
