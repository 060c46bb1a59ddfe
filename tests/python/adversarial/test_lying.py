"""Class 1: Python objects that lie.

Each lying object goes to one Rust function three ways (inferred, declared,
exported) that reports what Rust saw: the length and the sum (or hash) of
what it was given. Rust must see the object's real contents (or the object
is refused with ``TypeError``), never read past the real buffer, and always
get valid UTF-8 for a ``&str``. The three paths must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import pyo2
from adversarial import liars as L
from adversarial.harness import (
    PATHS,
    Expect,
    Family,
    Outcome,
    Suite,
    Worker,
    attempt,
    need_python,
    raises,
    real_or,
)

SUITE = Suite(__name__, "lying")

I64 = Family("seen_i64", "fn seen_i64(v: &PyVec<i64>, out: &mut PyVec<i64>)", "ex_seen_i64")
F64 = Family("seen_f64", "fn seen_f64(v: &PyVec<f64>, out: &mut PyVec<f64>)", "ex_seen_f64")
F32 = Family("seen_f32", "fn seen_f32(v: &PyVec<f32>, out: &mut PyVec<f32>)", "ex_seen_f32")
TEXT = Family("seen_str", "fn seen_str(s: &PyStr, out: &mut PyVec<u64>)", "ex_seen_str")
UTF8 = Family("", "", "ex_seen_utf8")
STORE_I64 = Family("store_i64", "fn echo_i64(x: i64) -> i64", "ex_echo_i64")
STORE_F64 = Family("store_f64", "fn echo_f64(x: f64) -> f64", "ex_echo_f64")
STORE_F32 = Family("", "fn echo_f32(x: f32) -> f32", "ex_echo_f32")
DOUBLE_F64 = Family("double_f64", "fn double_f64(v: &mut PyVec<f64>)", "ex_double")


def seen(dll: pyo2.RustDLL, family: Family, path: str, arg: Any, out: list[Any]) -> Outcome:
    """Call ``family`` on ``arg``; the outcome's value is what Rust reported seeing."""
    function = family.get(dll, path)
    if path == "exported":
        return attempt(function, arg)
    outcome = attempt(function, arg, out)
    if outcome.ok():
        # An inferred out list is i64: show its u64 hashes as the declared ones.
        values = [v % 2**64 for v in out] if family is TEXT else out
        outcome.value = repr(values)
    return outcome


def doubled(dll: pyo2.RustDLL, path: str, items: list[Any]) -> Outcome:
    """Double the ``&mut`` list ``items`` in place: the outcome's value is the list after."""
    outcome = attempt(DOUBLE_F64.get(dll, path), items)
    if outcome.ok():
        outcome.value = repr(list.copy(items))
    return outcome


def stored(dll: pyo2.RustDLL, family: Family, path: str, x: Any) -> Outcome:
    """Call a scalar family on ``x``: the outcome's value is the scalar Rust got."""
    function = family.get(dll, path)
    if path != "inferred":
        return attempt(function, x)
    out = [0.0] if family is STORE_F64 else [0]
    outcome = attempt(function, x, out)
    if outcome.ok():
        outcome.value = repr(out[0])
    return outcome


@dataclass(frozen=True)
class Liar:
    name: str
    family: Family
    make: Callable[[], Any]
    expect: Expect
    paths: tuple[str, ...] = PATHS
    #: Whether all paths must give the same outcome (False where they may differ
    #: by design: a declaration accepts any ``__index__``, inference only ints).
    agree: bool = True
    #: The Python version the object needs.
    needs: tuple[int, int] | None = None


def _text(data: bytes) -> list[int]:
    return [len(data), L.fnv1a(data), 1]


HELLO = _text(b"hello")
HELLO_ACCENT = _text("héllo".encode())
DECLARED_EXPORTED = ("declared", "exported")

LIARS = [
    # Lists of i64 whose dunders lie about their length or items.
    Liar("list-len-1e6", I64, lambda: L.LongLen([1, 2, 3]), real_or([3, 6], TypeError)),
    Liar("list-len-2**40", I64, lambda: L.HugeLen([1, 2, 3]), real_or([3, 6], TypeError)),
    Liar("list-len-short", I64, lambda: L.ShortLen([1, 2, 3]), real_or([3, 6], TypeError)),
    Liar("list-looks-empty", I64, lambda: L.ZeroLen([1, 2, 3]), real_or([3, 6], TypeError)),
    Liar("list-other-iter", I64, lambda: L.OtherIter([1, 2, 3]), real_or([3, 6], TypeError)),
    Liar("list-other-items", I64, lambda: L.OtherItems([1, 2, 3]), real_or([3, 6], TypeError)),
    Liar("list-len-raises", I64, lambda: L.RaisingLen([1, 2, 3]), real_or([3, 6], TypeError)),
    Liar("list-all-lies", I64, lambda: L.EverythingLies([1, 2, 3]), real_or([3, 6], TypeError)),
    Liar("list-honest-subclass", I64, lambda: L.Honest([1, 2, 3]), real_or([3, 6], TypeError)),
    Liar("list-of-long-len-floats", F64, lambda: L.LongLen([1.5, 2.5]), real_or([2.0, 4.0], TypeError)),
    # Not a list at all, but isinstance(x, list) is True.
    Liar("fake-list", I64, lambda: L.FakeList([1, 2, 3]), raises(TypeError)),
    Liar("fake-list-long", I64, lambda: L.FakeList([1, 2, 3], 10**6), raises(TypeError)),
    Liar("fake-list-f64", F64, lambda: L.FakeList([1.5], 4096), raises(TypeError)),
    # Items that lie.
    Liar("items-int-lie", I64, lambda: [L.IntLie(1), L.IntLie(2), L.IntLie(3)], real_or([3, 6], TypeError)),
    Liar("items-int-lie-huge", I64, lambda: [L.IntLie(2**63)], raises(OverflowError)),
    Liar("items-float-lie", F64, lambda: [L.FloatLie(1.5), L.FloatLie(2.5)], real_or([2.0, 4.0], TypeError)),
    # An int subclass for a float: read by its int value, never its own
    # __float__ (7.0). Inference refuses a list mixing ints and floats and
    # reads a list of ints as i64: only declared and exported functions agree.
    Liar(
        "items-int-lie-for-f64", F64, lambda: [L.IntLie(1), 2.5], real_or([2.0, 3.5], TypeError), agree=False
    ),
    Liar(
        "items-int-lie-for-f64-only",
        F64,
        lambda: [L.IntLie(1), L.IntLie(2)],
        real_or([2.0, 3.0], TypeError),
        DECLARED_EXPORTED,
    ),
    Liar(
        "items-int-lie-for-f64-huge",
        F64,
        lambda: [1.5, L.IntLie(10**400)],
        raises(OverflowError),
        DECLARED_EXPORTED,
    ),
    Liar(
        "items-int-lie-for-f32", F32, lambda: [L.IntLie(1), 2.5], real_or([2.0, 3.5], TypeError), agree=False
    ),
    Liar(
        "mut-items-int-lie-for-f64",
        DOUBLE_F64,
        lambda: [L.IntLie(1), 2.5],
        real_or([2.0, 5.0], TypeError),
        agree=False,
    ),
    Liar(
        "mut-items-int-lie-for-f64-huge",
        DOUBLE_F64,
        lambda: [L.IntLie(10**400)],
        raises(OverflowError),
        DECLARED_EXPORTED,
    ),
    Liar("items-float-raises", F64, lambda: [L.FloatRaises(1.5)], real_or([1.0, 1.5], TypeError)),
    Liar(
        "items-f32-huge-says-one",
        F32,
        lambda: [L.FloatSaysOne(1e39)],
        raises(OverflowError),
        DECLARED_EXPORTED,
    ),
    Liar(
        "items-f32-one-says-huge",
        F32,
        lambda: [L.FloatSaysHuge(1.0), L.FloatSaysHuge(2.0)],
        real_or([2.0, 3.0], TypeError),
        DECLARED_EXPORTED,
    ),
    Liar("items-fake-int", I64, lambda: [1, L.FakeInt()], real_or([2, 6], TypeError), agree=False),
    Liar("items-fake-float", F64, lambda: [1.0, L.FakeFloat()], real_or([2.0, 6.0], TypeError), agree=False),
    # Scalars that lie.
    Liar("scalar-int-lie", STORE_I64, lambda: L.IntLie(5), real_or(5, TypeError)),
    Liar("scalar-int-lie-huge", STORE_I64, lambda: L.IntLie(2**63), raises(OverflowError)),
    # An inferred int is an i64: an f64 scalar is for declared and exported functions.
    Liar(
        "scalar-int-lie-for-f64", STORE_F64, lambda: L.IntLie(5), real_or(5.0, TypeError), DECLARED_EXPORTED
    ),
    Liar(
        "scalar-int-lie-for-f64-huge",
        STORE_F64,
        lambda: L.IntLie(10**400),
        raises(OverflowError),
        DECLARED_EXPORTED,
    ),
    Liar(
        "scalar-int-lie-for-f32", STORE_F32, lambda: L.IntLie(5), real_or(5.0, TypeError), DECLARED_EXPORTED
    ),
    Liar("scalar-float-lie", STORE_F64, lambda: L.FloatLie(1.5), real_or(1.5, TypeError)),
    Liar("scalar-float-raises", STORE_F64, lambda: L.FloatRaises(1.5), real_or(1.5, TypeError)),
    Liar(
        "scalar-f32-huge-says-one",
        STORE_F32,
        lambda: L.FloatSaysOne(1e39),
        raises(OverflowError),
        DECLARED_EXPORTED,
    ),
    Liar(
        "scalar-f32-one-says-huge",
        STORE_F32,
        lambda: L.FloatSaysHuge(1.0),
        real_or(1.0, TypeError),
        DECLARED_EXPORTED,
    ),
    # bytes, str and bytearray given for a &PyStr.
    Liar("bytes-len-1e6", TEXT, lambda: L.BytesLongLen(b"hello"), real_or(HELLO, TypeError)),
    Liar("bytes-len-2**40", TEXT, lambda: L.BytesHugeLen(b"hello"), real_or(HELLO, TypeError)),
    Liar("bytes-len-short", TEXT, lambda: L.BytesShortLen(b"hello"), real_or(HELLO, TypeError)),
    Liar("bytes-other-dunders", TEXT, lambda: L.BytesOther(b"hello"), real_or(HELLO, TypeError)),
    Liar("str-encodes-longer", TEXT, lambda: L.StrEncodesLonger("héllo"), real_or(HELLO_ACCENT, TypeError)),
    Liar("str-encodes-invalid", TEXT, lambda: L.StrEncodesInvalid("héllo"), real_or(HELLO_ACCENT, TypeError)),
    Liar(
        "str-encodes-lying-bytes",
        TEXT,
        lambda: L.StrEncodesLyingBytes("héllo"),
        real_or(HELLO_ACCENT, TypeError),
    ),
    Liar("str-encodes-a-list", TEXT, lambda: L.StrEncodesNotBytes("héllo"), real_or(HELLO_ACCENT, TypeError)),
    Liar("str-other-dunders", TEXT, lambda: L.StrOther("héllo"), real_or(HELLO_ACCENT, TypeError)),
    Liar("str-hides-surrogate", TEXT, lambda: L.StrHidesSurrogate("a\ud800"), raises(UnicodeEncodeError)),
    Liar("bytearray-len-1e6", TEXT, lambda: L.ByteArrayLongLen(b"hello"), real_or(HELLO, TypeError)),
    Liar("bytearray-other-dunders", TEXT, lambda: L.ByteArrayOther(b"hello"), real_or(HELLO, TypeError)),
    Liar("fake-str", TEXT, L.FakeStr, raises(TypeError)),
    Liar("fake-bytes", TEXT, L.FakeBytes, raises(TypeError)),
    Liar(
        "buffer-len-1e6",
        TEXT,
        lambda: L.buffer_liar(b"hello", 10**6),
        real_or(HELLO, TypeError),
        needs=(3, 12),
    ),
    # The same for a &str (exported only): always valid UTF-8.
    Liar(
        "utf8-str-encodes-invalid",
        UTF8,
        lambda: L.StrEncodesInvalid("héllo"),
        real_or(HELLO_ACCENT, TypeError),
        ("exported",),
    ),
    Liar(
        "utf8-str-encodes-longer",
        UTF8,
        lambda: L.StrEncodesLonger("héllo"),
        real_or(HELLO_ACCENT, TypeError),
        ("exported",),
    ),
    Liar(
        "utf8-str-encodes-lying-bytes",
        UTF8,
        lambda: L.StrEncodesLyingBytes("héllo"),
        real_or(HELLO_ACCENT, TypeError),
        ("exported",),
    ),
    Liar(
        "utf8-str-hides-surrogate",
        UTF8,
        lambda: L.StrHidesSurrogate("\udcff"),
        raises(UnicodeEncodeError),
        ("exported",),
    ),
    Liar(
        "utf8-bytes-len-1e6", UTF8, lambda: L.BytesLongLen(b"hello"), real_or(HELLO, TypeError), ("exported",)
    ),
    Liar(
        "utf8-bytes-invalid-says-valid",
        UTF8,
        lambda: L.BytesOther(b"ok\xff"),
        raises(UnicodeDecodeError),
        ("exported",),
    ),
    Liar(
        "utf8-bytearray-invalid-says-valid",
        UTF8,
        lambda: L.ByteArrayOther(b"\xc3("),
        raises(UnicodeDecodeError),
        ("exported",),
    ),
    Liar("utf8-fake-str", UTF8, L.FakeStr, raises(TypeError), ("exported",)),
]

BY_NAME = {liar.name: liar for liar in LIARS}


def _register(liar: Liar, path: str) -> None:
    def case(dll: pyo2.RustDLL) -> Outcome:
        if liar.needs is not None:
            need_python(liar.needs, "objects define their buffer with __buffer__")
        arg = liar.make()
        if liar.family in (STORE_I64, STORE_F64, STORE_F32):
            return stored(dll, liar.family, path, arg)
        if liar.family is DOUBLE_F64:
            return doubled(dll, path, arg)
        zero: Any = 0.0 if liar.family in (F64, F32) else 0
        return seen(dll, liar.family, path, arg, [zero] * (3 if liar.family is TEXT else 2))

    SUITE.add(f"{liar.name}-{path}", liar.expect, case, path)


for _liar in LIARS:
    for _path in _liar.paths:
        _register(_liar, _path)


@pytest.mark.parametrize("name", SUITE.names())
def test_lying_object(worker: Worker, name: str) -> None:
    SUITE.check(worker, name)


AGREEING = [liar.name for liar in LIARS if liar.agree and len(liar.paths) > 1]


@pytest.mark.parametrize("name", AGREEING)
def test_every_path_gives_the_same_answer(worker: Worker, name: str) -> None:
    """Fast and general, inferred, declared and exported: one answer per object."""
    liar = BY_NAME[name]
    outcomes = {path: worker.run_cached(SUITE.cases[f"{name}-{path}"].key) for path in liar.paths}
    if any(o.skipped for o in outcomes.values()):
        pytest.skip("skipped on this interpreter")
    answers = {
        path: (o.crashed and "crash") or (o.raised if o.raised else f"= {o.value}")
        for path, o in outcomes.items()
    }
    assert len(set(answers.values())) == 1, answers
