"""Class 4: values that are invalid for the Rust type.

A ``bool`` must be 0 or 1 (a buffer of format ``?`` holding 2 is refused
with ``ValueError`` before Rust sees it), a ``&str`` must be UTF-8
(``UnicodeDecodeError``), an ``f32`` must be in range (``OverflowError``);
nothing changes when a call is refused.
"""

from __future__ import annotations

from collections.abc import Callable
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

SUITE = Suite(__name__, "invalid")

COUNT_TRUE = Family("count_true", "fn count_true(v: &PyVec<bool>) -> u64", "ex_count_true")
NOT_ALL = Family("double_bool", "fn double_bool(v: &mut PyVec<bool>)", "ex_not_all")
SEEN_F32 = Family("", "fn seen_f32(v: &PyVec<f32>, out: &mut PyVec<f32>)", "ex_seen_f32")


def _numpy_bools(raw: bytes) -> Any:
    np = need_numpy()
    a = np.zeros(len(raw), dtype=bool)
    a.view(np.uint8)[:] = np.frombuffer(raw, dtype=np.uint8)
    return a


def _read_only(a: Any) -> Any:
    a.setflags(write=False)
    return a


BAD_BOOLS: dict[str, Callable[[], Any]] = {
    "cast-bool-2": lambda: memoryview(bytearray(b"\x02")).cast("?"),
    "cast-bool-2-in-the-middle": lambda: memoryview(bytearray(b"\x01\x00\x02\x01")).cast("?"),
    "cast-bool-255-at-the-end": lambda: memoryview(bytearray(b"\x00\x01\xff")).cast("?"),
    "slice-of-cast-bools": lambda: memoryview(bytearray(b"\x00\x01\x00\x80\x01")).cast("?")[2:4],
    "numpy-bool-holding-2": lambda: _numpy_bools(b"\x00\x02\x01"),
    "numpy-bool-holding-255": lambda: _numpy_bools(b"\xff"),
}
READ_ONLY_BAD_BOOLS: dict[str, Callable[[], Any]] = {
    "read-only-cast-bool-2": lambda: memoryview(b"\x00\x02").cast("?"),
    "read-only-numpy-bool-holding-3": lambda: _read_only(_numpy_bools(b"\x03\x01")),
}
GOOD_BOOLS: dict[str, Callable[[], Any]] = {
    "cast-bools-0-and-1": lambda: memoryview(bytearray(b"\x01\x00\x01")).cast("?"),
    "numpy-bools": lambda: _numpy_bools(b"\x01\x00\x01"),
}


def _call(family: Family, make: Callable[[], Any], path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    def case(dll: pyo2.RustDLL) -> Outcome:
        return attempt(family.get(dll, path), make())

    return case


for _name, _make in BAD_BOOLS.items():
    for _path in PATHS:
        SUITE.add(f"{_name}-shared-{_path}", raises(ValueError), _call(COUNT_TRUE, _make, _path), _path)
        SUITE.add(f"{_name}-mut-{_path}", raises(ValueError), _call(NOT_ALL, _make, _path), _path)
for _name, _make in READ_ONLY_BAD_BOOLS.items():
    for _path in PATHS:
        SUITE.add(f"{_name}-{_path}", raises(ValueError), _call(COUNT_TRUE, _make, _path), _path)
for _name, _make in GOOD_BOOLS.items():
    for _path in PATHS:
        SUITE.add(
            f"{_name}-{_path}",
            returns(None if _path == "inferred" else 2),
            _call(COUNT_TRUE, _make, _path),
            _path,
        )


def _good_bools_written(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    def case(dll: pyo2.RustDLL) -> Outcome:
        mv = memoryview(bytearray(b"\x01\x00")).cast("?")
        outcome = attempt(NOT_ALL.get(dll, path), mv)
        return outcome.check(mv.tolist() == [False, True], f"got {mv.tolist()}")

    return case


for _path in PATHS:
    SUITE.add(f"cast-bools-inverted-{_path}", returns(None), _good_bools_written(_path), _path)

# Bools in lists: only True, False, 0 and 1 (inference calls [True, 2] a mixed list).
for _path in PATHS:
    _exc = TypeError if _path == "inferred" else OverflowError
    SUITE.add(f"list-bool-2-{_path}", raises(_exc), _call(COUNT_TRUE, lambda: [True, 2], _path), _path)
    SUITE.add(f"list-bool-minus-1-{_path}", raises(_exc), _call(NOT_ALL, lambda: [False, -1], _path), _path)

# &str: UTF-8 only (exported).
BAD_UTF8: dict[str, Callable[[], Any]] = {
    "bytearray-ff": lambda: bytearray(b"ok\xff"),
    "memoryview-truncated-char": lambda: memoryview("é".encode())[:1],
    "writable-view-truncated-char": lambda: memoryview(bytearray("aé".encode()))[:2],
    "bytes-overlong-slash": lambda: b"\xc0\xaf",
    "bytes-surrogate-encoded": lambda: b"\xed\xa0\x80",
}
for _name, _make in BAD_UTF8.items():
    SUITE.add(
        f"utf8-{_name}-exported",
        raises(UnicodeDecodeError),
        _call(Family("", "", "ex_seen_utf8"), _make, "exported"),
        "exported",
    )


# f32 out of range.
def _f32(values: list[Any], path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    def case(dll: pyo2.RustDLL) -> Outcome:
        function = SEEN_F32.get(dll, path)
        return attempt(function, values) if path == "exported" else attempt(function, values, [0.0, 0.0])

    return case


for _path in ("declared", "exported"):
    SUITE.add(f"f32-list-1e39-{_path}", raises(OverflowError), _f32([1.0, 1e39], _path), _path)
    SUITE.add(f"f32-list-minus-1e39-{_path}", raises(OverflowError), _f32([-1e39], _path), _path)
    SUITE.add(f"f32-list-just-above-max-{_path}", raises(OverflowError), _f32([3.4028236e38], _path), _path)


@pytest.mark.parametrize("name", SUITE.names())
def test_invalid_value(worker: Worker, name: str) -> None:
    SUITE.check(worker, name)
