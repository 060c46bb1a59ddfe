"""Properties over every element type: values cross and come back bit-exact,
in-place changes match a Python model, and the three ways of giving a
signature (inferred, declared, exported) agree."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import ALL_TYPES, ANYTHING, RAGGED, as_f32, f64s, same, values_of, wrap

import pyo2


@pytest.fixture(scope="module")
def lib(fixture_path: Path) -> pyo2.RustDLL:
    return pyo2.RustDLL(fixture_path)


def expected(name: str, values: list[Any]) -> list[Any]:
    """What Rust stores for ``values`` of type ``name``."""
    return [as_f32(v) for v in values] if name == "f32" else list(values)


@pytest.mark.parametrize("name", ALL_TYPES)
@given(data=st.data())
def test_every_type_round_trips_bit_exact(lib: pyo2.RustDLL, name: str, data: st.DataObject) -> None:
    """Into Rust as a slice and back as an owned Vec: min/max, NaN, -0.0, inf, empty."""
    values = data.draw(st.lists(values_of(name), max_size=20))
    back = lib[f"ex_roundtrip_{name}"](values)
    assert same(back, bytes(values) if name == "u8" else expected(name, values))  # Vec<u8> is bytes


@pytest.mark.parametrize("name", ALL_TYPES)
@given(data=st.data())
def test_every_type_is_written_back_bit_exact(lib: pyo2.RustDLL, name: str, data: st.DataObject) -> None:
    """Reversed in place by Rust: the list holds exactly the model's values, of the right type."""
    values = data.draw(st.lists(values_of(name), max_size=20))
    reverse = lib.declare(f"fn reverse_{name}(v: &mut PyVec<{name}>)")
    model = expected(name, values)[::-1]
    reverse(values)
    assert same(values, model)


@given(st.lists(st.lists(f64s(), max_size=6), max_size=6))
def test_ragged_rows_move_and_keep_their_identity(lib: pyo2.RustDLL, rows: list[list[float]]) -> None:
    """Rust reverses the rows (moving the views) and each row: the model agrees,
    and each inner list object moves with its data."""
    nested_reverse = lib.declare("fn nested_reverse(v: &mut PyVec<&mut PyVec<f64>>)")
    objects = list(rows)
    model = [row[::-1] for row in rows[::-1]]
    nested_reverse(rows)
    assert same(rows, model)
    assert all(a is b for a, b in zip(rows, objects[::-1]))


@given(RAGGED)
def test_inferred_nested_in_place_matches_the_model(lib: pyo2.RustDLL, rows: list[list[int]]) -> None:
    expected_rows = [[x + 10 * i + 1 for x in row] for i, row in enumerate(rows)]
    lib.nested_bump(rows)
    assert rows == expected_rows


# -- the three sources of a signature agree ---------------------------------


@given(st.lists(values_of("i64"), max_size=30))
def test_sum_inferred_declared_and_exported_agree(lib: pyo2.RustDLL, values: list[int]) -> None:
    declared = lib.declare("fn sum_i64(v: &PyVec<i64>) -> i64")
    assert declared(values) == lib.ex_sum_i64(values) == wrap("i64", sum(values))


@given(st.lists(f64s(), max_size=30))
def test_doubling_inferred_declared_and_exported_agree(lib: pyo2.RustDLL, values: list[float]) -> None:
    inferred, declared, exported = list(values), list(values), list(values)
    lib.double_f64(inferred)
    lib.declare("fn double_f64(v: &mut PyVec<f64>)")(declared)
    lib.ex_double_f64(exported)
    assert same(inferred, declared) and same(declared, exported)
    assert same(exported, [v * 2 for v in values])


@given(values_of("u8"), values_of("u8"))
def test_scalar_calls_agree(lib: pyo2.RustDLL, a: int, b: int) -> None:
    assert lib.declare("fn add_u8(a: u8, b: u8) -> u8")(a, b) == lib.ex_add_u8(a, b) == (a + b) % 256


@given(st.one_of(st.text(), st.binary()))
def test_text_declared_and_exported_agree(lib: pyo2.RustDLL, text: str | bytes) -> None:
    declared = lib.declare("fn byte_len(s: &PyStr) -> u64")
    try:
        want = len(text.encode() if isinstance(text, str) else text)
    except UnicodeEncodeError:
        for function in (declared, lib.ex_byte_len):
            with pytest.raises(UnicodeEncodeError):
                function(text)
        return
    assert declared(text) == lib.ex_byte_len(text) == want


DOCUMENTED = (TypeError, OverflowError, ValueError, pyo2.RustError)


@given(ANYTHING)
def test_exported_functions_take_anything_or_raise_a_documented_error(lib: pyo2.RustDLL, value: Any) -> None:
    before = repr(value)
    for function in (lib.ex_sum_i64, lib.ex_greet, lib.ex_check_sorted):
        with contextlib.suppress(*DOCUMENTED):
            function(value)
    assert repr(value) == before
