"""The generated fast path for scalar arguments accepts and refuses exactly
what the general path does, with the same results and the same errors
(differential tests against the general path of the same function)."""

from __future__ import annotations

import copy
import decimal
import fractions
import inspect
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import ANY_SCALAR, VIEW_ARGS, Color, Index, Liar

import pyo2
from pyo2 import _inference

SCALARS = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64", "bool"]


@pytest.fixture(scope="module")
def functions(fixture_path: Path) -> dict[str, Any]:
    dll = pyo2.RustDLL(fixture_path)
    out = {f"echo_{t}": dll.declare(f"fn echo_{t}(x: {t}) -> {t}") for t in SCALARS}
    for name in ["ex_echo_i64", "ex_echo_u64", "ex_echo_f64", "ex_echo_f32", "ex_not"]:
        out[name] = dll[name]
    return out


def outcome(call: Any) -> tuple[str, Any]:
    try:
        result = call()
    except Exception as e:  # comparing whatever either path raises
        return ("raised", (type(e), str(e)))
    if isinstance(result, float):
        return ("returned", struct.pack("<d", result))  # NaN- and -0.0-exact
    return ("returned", (type(result), result))


def general(function: Any, *args: Any) -> Any:
    namespace = function.__globals__
    return namespace["_pyo2_general"](namespace["_pyo2_state"], args)


@pytest.mark.parametrize(
    "name",
    [f"echo_{t}" for t in SCALARS] + ["ex_echo_i64", "ex_echo_u64", "ex_echo_f64", "ex_echo_f32", "ex_not"],
)
@given(value=ANY_SCALAR)
def test_fast_and_general_paths_agree(functions: dict[str, Any], name: str, value: Any) -> None:
    function = functions[name]
    if isinstance(value, decimal.Decimal) and value.is_snan():
        value = decimal.Decimal("NaN")  # a signalling NaN can't even be hashed
    assert outcome(lambda: function(value)) == outcome(lambda: general(function, value))


def test_the_fast_path_is_taken_and_exact(functions: dict[str, Any]) -> None:
    """Spot checks of results both paths must give (so agreement isn't on a wrong answer)."""
    assert functions["echo_u8"](255) == 255
    assert functions["echo_i64"](-(2**63)) == -(2**63)
    assert functions["echo_u64"](2**64 - 1) == 2**64 - 1
    assert functions["ex_echo_u64"](2**64 - 1) == 2**64 - 1
    assert functions["echo_bool"](True) is True
    assert functions["ex_not"](1) is False
    assert math.isnan(functions["echo_f32"](float("nan")))
    assert functions["echo_f64"](fractions.Fraction(1, 4)) == 0.25
    assert functions["echo_i8"](Color.RED) == 1
    for bad, exc in [(Liar(2**63 + 5), OverflowError), (Index(2**64), OverflowError), (1.0, TypeError)]:
        with pytest.raises(exc):
            functions["echo_i64"](bad)
    with pytest.raises(OverflowError, match="f32"):
        functions["ex_echo_f32"](1e39)


# ---------------------------------------------------------------------------
# Lists, str and bytes: the flat fast path (one packed block per list).

FLAT = {
    "double_i64": "fn double_i64(v: &mut PyVec<i64>)",
    "sum_u8": "fn sum_u8(v: &PyVec<u8>) -> u8",
    "double_bool": "fn double_bool(v: &mut PyVec<bool>)",
    "double_f32": "fn double_f32(v: &mut PyVec<f32>)",
    "byte_len": "fn byte_len(s: &PyStr) -> u64",
    "swap_views": "fn swap_views(a: &mut PyVec<i64>, b: &mut PyVec<i64>)",
    "scale": "fn scale(v: &mut PyVec<f64>, k: f64) -> f64",
}
EXPORTED_FLAT = [
    "ex_sum",
    "ex_double",
    "ex_greet",
    "ex_byte_len",
    "ex_check_sorted",
    "ex_fill_then_err",
    "ex_fill_then_panic",
]


@pytest.fixture(scope="module")
def flat_functions(fixture_path: Path) -> dict[str, Any]:
    dll = pyo2.RustDLL(fixture_path)
    out = {name: dll.declare(text) for name, text in FLAT.items()}
    out.update({name: dll[name] for name in EXPORTED_FLAT})
    return out


def arity(function: Any) -> int:
    return len(function.signature.params)


@pytest.mark.parametrize("name", [*FLAT, *EXPORTED_FLAT])
@given(first=VIEW_ARGS, second=st.one_of(VIEW_ARGS, st.floats(), st.integers()))
def test_flat_fast_and_general_paths_agree(
    flat_functions: dict[str, Any], name: str, first: Any, second: Any
) -> None:
    """Same result or error, and the same contents left in the arguments."""
    function = flat_functions[name]
    args = (first, second)[: arity(function)]
    fast_args, general_args = copy.deepcopy(args), copy.deepcopy(args)
    fast = outcome(lambda: function(*fast_args))
    slow = outcome(lambda: general(function, *general_args))
    assert fast == slow
    assert repr(fast_args) == repr(general_args)


def test_flat_fast_path_follows_swapped_views(flat_functions: dict[str, Any]) -> None:
    a, b = [1, 2], [3, 4, 5]
    flat_functions["swap_views"](a, b)
    assert (a, b) == ([3, 4, 5], [1, 2])
    with pytest.raises(ValueError, match="passed twice"):
        flat_functions["swap_views"](a, a)
    v = [1.5, 2.0]
    assert flat_functions["scale"](v, 2) == 7.0 and v == [3.0, 4.0]
    flags = [True, False]
    flat_functions["double_bool"](flags)
    assert flags == [False, True]


# ---------------------------------------------------------------------------
# Inferred calls: the function generated per shape (judged by each list's
# first item) against full inference.

# Each function gets values that infer to its real signature or to one with
# elements of the same size (inference trusts the caller for that, as bare
# ctypes does), mixed with items that must be refused.
EIGHT_BYTES = st.one_of(st.integers(-(2**64), 2**64), st.floats(), st.none())
INFERRED: dict[str, Any] = {
    "double_i64": st.tuples(
        st.one_of(st.lists(st.integers(-(2**63), 2**63 - 1)), st.lists(EIGHT_BYTES, max_size=4))
    ),
    "double_f64": st.tuples(st.one_of(st.lists(st.floats()), st.lists(EIGHT_BYTES, max_size=4))),
    "double_bool": st.tuples(st.lists(st.one_of(st.booleans(), st.booleans(), st.none()), max_size=5)),
    "byte_len": st.tuples(st.one_of(st.text(), st.binary())),
    "swap_views": st.tuples(st.lists(st.integers(-(2**63), 2**63 - 1)), st.lists(EIGHT_BYTES, max_size=3)),
    "add_i64": st.tuples(st.integers(-(2**64), 2**64), st.one_of(st.integers(), st.booleans())),
}


@pytest.fixture(scope="module")
def inferred_functions(fixture_path: Path) -> dict[str, Any]:
    dll = pyo2.RustDLL(fixture_path)
    return {name: dll[name] for name in INFERRED}


def full_inference(function: Any, *args: Any) -> Any:
    state = inspect.getclosurevars(function).nonlocals["state"]
    return _inference.inferred_general(state, args)


@pytest.mark.parametrize("name", list(INFERRED))
@given(data=st.data())
def test_inferred_shapes_agree_with_full_inference(
    inferred_functions: dict[str, Any], name: str, data: st.DataObject
) -> None:
    function = inferred_functions[name]
    args = data.draw(INFERRED[name])
    fast_args, general_args = copy.deepcopy(args), copy.deepcopy(args)
    fast = outcome(lambda: function(*fast_args))
    slow = outcome(lambda: full_inference(function, *general_args))
    assert fast == slow
    assert repr(fast_args) == repr(general_args)
