"""Class 3: two arguments that overlap in memory where one is ``&mut``.

Two views of one buffer, overlapping slices, a buffer and a view of it,
overlapping numpy views: refused by address range with ``ValueError`` and
nothing changed. Disjoint slices of one buffer, and two ``&`` views, are
fine.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import pyo2
from adversarial.harness import (
    PATHS,
    Family,
    Outcome,
    Suite,
    Worker,
    attempt,
    need_numpy,
    raises,
    returns,
)

SUITE = Suite(__name__, "aliasing")

COPY_U8 = Family("copy_into", "fn copy_into(a: &mut PyVec<u8>, b: &PyVec<u8>) -> u64", "ex_copy_into")
ADD_U8 = Family("add_into", "fn add_into(a: &mut PyVec<u8>, b: &mut PyVec<u8>)", "ex_add_into")
COPY_I64 = Family(
    "copy_into_i64", "fn copy_into_i64(a: &mut PyVec<i64>, b: &PyVec<i64>) -> u64", "ex_copy_into_i64"
)
DOT_U8 = Family("dot_u8", "fn dot_u8(a: &PyVec<u8>, b: &PyVec<u8>) -> u64", "ex_dot_u8")


def _bytes16() -> memoryview:
    return memoryview(bytearray(range(1, 17)))


def _np(dtype: str) -> Any:
    np = need_numpy()
    return np.arange(1, 17, dtype=dtype)


def _pair(base: Callable[[], Any], split: Callable[[Any], tuple[Any, Any]]) -> Callable[[], tuple[Any, Any]]:
    """Two views that ``split`` makes of the buffer ``base`` makes (in the worker)."""
    return lambda: split(base())


PAIRS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "two-views-of-one-bytearray": _pair(lambda: bytearray(16), lambda ba: (memoryview(ba), memoryview(ba))),
    "overlapping-slices": _pair(_bytes16, lambda mv: (mv[0:8], mv[4:12])),
    "overlapping-slices-reversed": _pair(_bytes16, lambda mv: (mv[4:12], mv[0:8])),
    "one-byte-overlap": _pair(_bytes16, lambda mv: (mv[0:5], mv[4:8])),
    "slice-inside-slice": _pair(_bytes16, lambda mv: (mv[0:16], mv[5:6])),
    "bytearray-and-its-view": _pair(lambda: bytearray(range(16)), lambda ba: (ba, memoryview(ba)[2:6])),
    "view-and-its-bytearray": _pair(lambda: bytearray(range(16)), lambda ba: (memoryview(ba)[2:6], ba)),
    "array-and-its-view": _pair(lambda: array("B", range(16)), lambda a: (a, memoryview(a)[3:9])),
    "numpy-shifted-views": _pair(lambda: _np("uint8"), lambda a: (a[:-1], a[1:])),
    "numpy-array-and-slice": _pair(lambda: _np("uint8"), lambda a: (a, a[3:5])),
}
PAIRS_I64: dict[str, Callable[[], tuple[Any, Any]]] = {
    "i64-array-and-its-view": _pair(lambda: array("q", range(8)), lambda a: (a, memoryview(a)[1:3])),
    "i64-numpy-shifted-views": _pair(lambda: _np("int64"), lambda a: (a[:-1], a[1:])),
    "i64-cast-views": _pair(
        lambda: memoryview(bytearray(64)), lambda mv: (mv[0:32].cast("q"), mv[16:48].cast("q"))
    ),
}
DISJOINT: dict[str, Callable[[], tuple[Any, Any]]] = {
    "adjacent-slices": _pair(_bytes16, lambda mv: (mv[0:4], mv[4:8])),
    "far-slices": _pair(_bytes16, lambda mv: (mv[8:12], mv[0:4])),
    "empty-slice-inside": _pair(_bytes16, lambda mv: (mv[4:4], mv[0:8])),
    "numpy-halves": _pair(lambda: _np("uint8"), lambda a: (a[:8], a[8:])),
    "two-bytearrays": lambda: (bytearray(b"abcd"), bytearray(b"wxyz")),
}


def _raw(x: Any) -> bytes:
    with memoryview(x) as mv:
        return mv.tobytes()


def _case(
    family: Family, make: Callable[[], tuple[Any, Any]], path: str, overlap: bool
) -> Callable[[pyo2.RustDLL], Outcome]:
    def case(dll: pyo2.RustDLL) -> Outcome:
        a, b = make()
        a0, b0 = _raw(a), _raw(b)
        outcome = attempt(family.get(dll, path), a, b)
        if overlap or not outcome.ok():
            return outcome
        # Disjoint: the call did what it says, on the right bytes.
        size = memoryview(a).itemsize
        n = min(len(a0), len(b0)) // size * size
        if family is ADD_U8:
            want_a = bytes((x + y) % 256 for x, y in zip(a0, b0)) + a0[len(b0) :]
            outcome.check(_raw(a) == want_a, f"a holds {_raw(a)!r}, expected {want_a!r}")
        else:
            want = b0[:n] + a0[n:]
            outcome.check(_raw(a) == want, f"a holds {_raw(a)!r}, expected {want!r}")
            outcome.check(_raw(b) == b0, "b, a & view, changed")
        return outcome

    return case


for _name, _make in PAIRS.items():
    for _path in PATHS:
        SUITE.add(f"{_name}-{_path}", raises(ValueError), _case(COPY_U8, _make, _path, True), _path)
for _name in (
    "two-views-of-one-bytearray",
    "overlapping-slices",
    "bytearray-and-its-view",
    "numpy-shifted-views",
):
    for _path in PATHS:
        SUITE.add(
            f"mut-mut-{_name}-{_path}", raises(ValueError), _case(ADD_U8, PAIRS[_name], _path, True), _path
        )
for _name, _make in PAIRS_I64.items():
    for _path in PATHS:
        SUITE.add(f"{_name}-{_path}", raises(ValueError), _case(COPY_I64, _make, _path, True), _path)
for _name, _make in DISJOINT.items():
    for _path in PATHS:
        SUITE.add(f"disjoint-{_name}-{_path}", returns(), _case(COPY_U8, _make, _path, False), _path)
for _path in PATHS:
    SUITE.add(
        f"disjoint-mut-mut-adjacent-slices-{_path}",
        returns(),
        _case(ADD_U8, DISJOINT["adjacent-slices"], _path, False),
        _path,
    )


@dataclass(frozen=True)
class _Shared:
    """Two ``&`` views of one buffer: allowed (Rust may alias shared references)."""

    writable: bool
    path: str

    def __call__(self, dll: pyo2.RustDLL) -> Outcome:
        path = self.path
        data = bytes(range(1, 17))
        mv = memoryview(bytearray(data) if self.writable else data)
        return attempt(DOT_U8.get(dll, path), mv[0:8], mv[4:12])


_DOT = sum(x * y for x, y in zip(range(1, 9), range(5, 13)))
for _path in PATHS:
    SUITE.add(
        f"shared-overlapping-read-only-views-{_path}",
        returns(None if _path == "inferred" else _DOT),
        _Shared(False, _path),
        _path,
    )
for _path in ("declared", "exported"):
    SUITE.add(
        f"shared-overlapping-writable-views-{_path}",
        returns(_DOT),
        _Shared(True, _path),
        _path,
    )
# Inference makes every writable buffer a &mut: the same overlap is then refused.
SUITE.add(
    "shared-overlapping-writable-views-inferred",
    raises(ValueError),
    _Shared(True, "inferred"),
    "inferred",
)


def _same_list_twice(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    family = Family("number_both", "fn number_both(a: &mut PyVec<i64>, b: &mut PyVec<i64>)", "ex_number_both")

    def case(dll: pyo2.RustDLL) -> Outcome:
        shared = [1, 2, 3]
        return attempt(family.get(dll, path), shared, shared)

    return case


for _path in PATHS:
    SUITE.add(f"same-list-twice-{_path}", raises(ValueError), _same_list_twice(_path), _path)


@pytest.mark.parametrize("name", SUITE.names())
def test_overlapping_arguments(worker: Worker, name: str) -> None:
    SUITE.check(worker, name)
