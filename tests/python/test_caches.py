"""Caches that grow with the shapes of inferred calls stay bounded: each
function's generated functions and C functions per argument shape, the
shared ctypes prototypes (and ctypes' own cache of them, which pyo2 doesn't
use), and the struct formats per list length."""

from __future__ import annotations

import ctypes
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

import pyo2
from pyo2 import _inference, _marshal, _runtime
from support import run_python

# Every kind of argument inference knows, ``n`` items long where that means
# something; fresh objects each time (one list passed twice where one is
# &mut is refused, rightly).
KINDS: list[Callable[[int], Any]] = [
    lambda n: n,
    lambda n: 2.5,
    lambda n: True,
    lambda n: "s" * n,
    lambda n: b"b" * n,
    lambda n: [1] * n,
    lambda n: [1.5] * n,
    lambda n: [True] * n,
    lambda n: [[1] for _ in range(n % 3)] + [[2, 3]],  # nested lists: the general inferred path
    lambda n: [],
    bytearray,
]


def arguments(i: int) -> list[Any]:
    """The arguments of the ``i``-th distinct shape: ``i`` written in base
    ``len(KINDS)``, one argument per digit (so arities and kinds both vary),
    and lists of 1 to 700 items (so do the struct formats)."""
    out = []
    n = 1 + i % 700
    while True:
        i, digit = divmod(i, len(KINDS))
        out.append(KINDS[digit](n))
        if not i:
            return out


def state(function: Any) -> _runtime.State:
    """The :class:`State` behind an inferred function (in its closure)."""
    cells = [c.cell_contents for c in function.__closure__ or ()]
    found = [c for c in cells if isinstance(c, _runtime.State)]
    assert len(found) == 1
    return found[0]


def test_inferred_caches_stay_under_their_bounds(dll: pyo2.RustDLL) -> None:
    """``plain_twice(x: i64)`` reads only its first argument, so any number of
    arguments of any kind is harmless in the C calling convention."""
    function = dll.plain_twice
    s = state(function)
    ctypes_cache = len(ctypes._c_functype_cache)  # type: ignore[attr-defined]
    seen_shapes = seen_inferred = 0
    for i in range(3000):
        function(*arguments(i))
        seen_shapes = max(seen_shapes, len(s.shapes))
        seen_inferred = max(seen_inferred, len(s.inferred))
        assert len(_runtime.PROTOTYPES) <= _runtime.MAX_PROTOTYPES
    # Each cache filled up (so the bound was reached, not just unapproached)…
    assert seen_shapes == _inference.MAX_SHAPES
    assert seen_inferred == _inference.MAX_INFERRED
    # …and ctypes' own CFUNCTYPE cache, which never forgets, was not used.
    assert len(ctypes._c_functype_cache) == ctypes_cache  # type: ignore[attr-defined]


def test_calls_still_work_after_the_caches_are_cleared(dll: pyo2.RustDLL) -> None:
    double = dll.double_i64
    for i in range(_inference.MAX_SHAPES * 3):
        values = list(range(i % 7 + 1))
        extra = [1.5] * (i // 7)  # a new shape each time the arity grows
        double(values, *extra)
        assert values == [2 * x for x in range(i % 7 + 1)]
    assert len(state(double).shapes) <= _inference.MAX_SHAPES


def test_struct_formats_are_bounded(dll: pyo2.RustDLL) -> None:
    scale = dll.declare("fn scale(v: &mut PyVec<f64>, k: f64) -> f64")
    for n in range(1, 1000):
        scale([1.0] * n, 1.0)
    assert 0 < len(_marshal._STRUCTS) <= 256


@pytest.mark.main_only  # slow; the bounds it relies on are pinned on every Python above
def test_rss_stays_flat_over_100k_inferred_calls_of_varying_shapes(fixture_path: Path) -> None:
    """100k inferred calls of 50k distinct shapes (each twice) in a fresh
    interpreter: peak RSS grows by less than 25 MB after a warm-up. Without the
    bounds it grows by about 150 MB (a generated function, a C function and
    a ctypes prototype per shape, kept forever)."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import pyo2
        from test_caches import arguments

        function = pyo2.RustDLL({str(fixture_path)!r}).plain_twice

        def run(start, n):
            for i in range(start, start + n):
                function(*arguments(i))
                function(*arguments(i))

        run(0, 3_000)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        run(3_000, 50_000)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
        """
    )
    result = run_python(code, timeout=600)
    assert result.returncode == 0, result.stderr
    grown = int(result.stdout.strip())
    assert grown < 25 * 1024, f"peak RSS grew by {grown} KB"
