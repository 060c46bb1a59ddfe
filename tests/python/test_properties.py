"""Hypothesis properties: what Rust computes equals a pure-Python model, and
any input either works or raises one of the documented exceptions."""

from __future__ import annotations

import contextlib
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import ANYTHING, RAGGED, ints, wrap

import pyo2


@pytest.fixture(scope="module")
def lib(fixture_path: Path) -> pyo2.RustDLL:
    """One library for all examples (Hypothesis reruns a test, not its fixtures)."""
    return pyo2.RustDLL(fixture_path)


WIDTHS = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"]


@pytest.mark.parametrize("name", WIDTHS)
@given(data=st.data())
def test_doubling_matches_the_python_model(lib: pyo2.RustDLL, name: str, data: st.DataObject) -> None:
    values = data.draw(st.lists(ints(name), max_size=50))
    double = lib.declare(f"fn double_{name}(v: &mut PyVec<{name}>)")
    total = lib.declare(f"fn sum_{name}(v: &PyVec<{name}>) -> {name}")
    assert total(values) == wrap(name, sum(values))
    expected = [wrap(name, 2 * x) for x in values]
    double(values)
    assert values == expected


@given(st.lists(st.floats(allow_nan=False), max_size=50))
def test_f64_round_trip_is_bit_exact(lib: pyo2.RustDLL, values: list[float]) -> None:
    original = list(values)
    lib.double_f64(values)
    for before, after in zip(original, values):
        assert struct.pack("d", after) == struct.pack("d", before * 2)


@given(st.lists(st.floats(width=32), max_size=30), st.floats(width=32, allow_nan=False))
def test_f32_scaling_matches_f32_arithmetic(lib: pyo2.RustDLL, values: list[float], k: float) -> None:
    scale = lib.declare("fn scale_f32(v: &mut PyVec<f32>, k: f32)")
    expected = [
        struct.unpack("f", struct.pack("f", x * k))[0] if math.isfinite(x * k) else x * k for x in values
    ]
    scale(values, k)
    for got, want in zip(values, expected):
        assert (math.isnan(got) and math.isnan(want)) or got == want


@given(RAGGED)
def test_nested_write_back_matches_the_model_and_keeps_identity(
    lib: pyo2.RustDLL, rows: list[list[int]]
) -> None:
    ids = [id(r) for r in rows]
    expected = [[x + 10 * i + 1 for x in row] for i, row in enumerate(rows)]
    assert lib.declare("fn nested_sum(v: &PyVec<&PyVec<i64>>) -> i64")(rows) == sum(map(sum, rows))
    lib.nested_bump(rows)
    assert rows == expected
    assert [id(r) for r in rows] == ids


@given(st.lists(st.one_of(st.text(), st.binary()), max_size=10))
def test_strings_cross_intact(lib: pyo2.RustDLL, words: list[str | bytes]) -> None:
    encoded = [w.encode("utf-8", "surrogatepass") if isinstance(w, str) else w for w in words]
    has_surrogate = any(isinstance(w, str) and any("\ud800" <= c <= "\udfff" for c in w) for w in words)
    total_len = lib.declare("fn total_len(v: &PyVec<&PyStr>) -> u64")
    if has_surrogate:
        with pytest.raises(UnicodeEncodeError):
            total_len(words)
        return
    assert total_len(words) == sum(map(len, encoded))
    before = list(words)
    lib.reverse_strs(words)
    assert words == before[::-1]
    assert all(a is b for a, b in zip(words, before[::-1]))


DOCUMENTED = (TypeError, OverflowError, ValueError)


@given(ANYTHING)
def test_any_value_either_works_or_raises_a_documented_error(lib: pyo2.RustDLL, value: Any) -> None:
    # noop ignores its arguments: a call that works must write back exactly what was there.
    before = repr(value)
    with contextlib.suppress(*DOCUMENTED):
        lib.noop(value)
    assert repr(value) == before


@given(ANYTHING)
def test_declared_mismatch_either_works_or_raises_a_documented_error(lib: pyo2.RustDLL, value: Any) -> None:
    nested_sum = lib.declare("fn nested_sum(v: &PyVec<&PyVec<i64>>) -> i64")
    try:
        result = nested_sum(value)
    except DOCUMENTED:
        return
    assert result == sum(sum(row) for row in value)
