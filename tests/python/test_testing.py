"""pyo2.testing: the strategies draw only values the signature accepts."""

from __future__ import annotations

import contextlib
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyo2
from pyo2.testing import arguments

# Functions whose every valid input either returns or raises RustError (none panics by design).
EXPORTED = [
    "ex_add_u8",
    "ex_echo_f32",
    "ex_greet",
    "ex_byte_len",
    "ex_sum",
    "ex_double",
    "ex_nested",
    "ex_lengths",
]
EXPORTED += ["ex_find", "ex_parse", "ex_one_word", "ex_check_sorted", "ex_aliased", "ex_roundtrip_bool"]
DECLARED = [
    "fn scale(v: &mut PyVec<f64>, k: f64) -> f64",
    "fn nested_sum(v: &PyVec<&PyVec<i64>>) -> i64",
    "fn total_len(v: &PyVec<&PyStr>) -> u64",
    "fn mix(a: i64, b: f64, negate: bool) -> f64",
]


@pytest.fixture(scope="module")
def lib(fixture_path: Path) -> pyo2.RustDLL:
    dll = pyo2.RustDLL(fixture_path)
    for text in DECLARED:
        dll.declare(text)
    return dll


@pytest.mark.parametrize("name", EXPORTED + [d.split("(")[0][3:] for d in DECLARED])
@given(data=st.data())
def test_drawn_arguments_are_always_accepted(lib: pyo2.RustDLL, name: str, data: st.DataObject) -> None:
    function = lib[name]
    args: tuple[Any, ...] = data.draw(arguments(function))
    assert len(args) == len(function.signature.params)  # type: ignore[union-attr]
    with contextlib.suppress(pyo2.RustError):  # an Err is a result, not a refused argument
        function(*args)


SIG = pyo2.parse_signature("fn f(a: u8, b: &PyVec<&mut PyVec<i8>>, c: bool, d: f32)")


@given(arguments(SIG))
def test_the_strategies_follow_the_rust_types(args: tuple[Any, ...]) -> None:
    x, rows, flag, f = args
    assert type(x) is int and 0 <= x <= 255
    assert all(type(v) is int and -128 <= v <= 127 for row in rows for v in row)
    assert type(flag) is bool
    assert math.isnan(f) or math.isinf(f) or struct.unpack("f", struct.pack("f", f))[0] == f


def test_a_function_without_a_signature_is_refused(lib: pyo2.RustDLL) -> None:
    with pytest.raises(TypeError, match="no signature"):
        arguments(lib.noop)


def test_without_hypothesis_the_import_error_says_what_to_install() -> None:
    from support import run_python

    result = run_python(
        "import sys; sys.modules['hypothesis'] = None\n"  # as if Hypothesis were not installed
        "import pyo2\n"
        "try:\n"
        "    import pyo2.testing\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "ImportError pyo2.testing needs Hypothesis: pip install 'pyo2[testing]' (or pip install hypothesis)"
    )


@given(data=st.data())
def test_a_class_constructor_and_its_methods_get_valid_arguments(
    lib: pyo2.RustDLL, data: st.DataObject
) -> None:
    """arguments(Class) draws the #[new] arguments; arguments(Class.method) the ones after self."""
    Counter, Tokenizer = lib.types.Counter, lib.types.Tokenizer
    (start,) = data.draw(arguments(Counter))
    assert type(start) is int and -(2**63) <= start < 2**63
    with Counter(start) as counter:
        assert counter.value == start
    (text,) = data.draw(arguments(Tokenizer.encode))
    assert isinstance(text, str)
    path_args = data.draw(arguments(Tokenizer))
    assert len(path_args) == 1 and isinstance(path_args[0], str)
    try:
        tok = Tokenizer(*path_args)  # most drawn paths don't exist: an io::Error is a RustError
    except pyo2.RustError:
        tok = Tokenizer("builtin")
    with tok:
        assert all(type(i) is int for i in tok.encode(text))
        assert tok.seen == 1


@given(data=st.data())
def test_callback_parameters_get_functions_of_the_right_return_type(
    lib: pyo2.RustDLL, data: st.DataObject
) -> None:
    returned: list[Any] = []

    def recording(f: Any) -> Any:
        def call(*args: Any) -> Any:
            returned.append(f(*args))
            return returned[-1]

        return call

    text, on_hit = data.draw(arguments(lib.scan))
    hits = lib.scan(text, recording(on_hit))  # the drawn function returns bools: no TypeError
    assert all(type(r) is bool for r in returned)
    assert hits == len(returned) == (returned.index(False) + 1 if False in returned else len(returned))
    returned.clear()
    values, f = data.draw(arguments(lib.map_f64))
    out = lib.map_f64(values, recording(f))
    assert len(out) == len(values) == len(returned)
    assert all(o == r or (math.isnan(o) and math.isnan(r)) for o, r in zip(out, returned))
    returned.clear()
    (g,) = data.draw(arguments(lib.call_with))  # a stored Callback<dyn Fn(i32, bool, &str) -> u64>
    try:
        total: int | None = lib.call_with(recording(g))
    except pyo2.RustPanic:  # `+` overflowed in a build with overflow checks
        total = None
    assert len(returned) == 2 and all(type(r) is int and 0 <= r < 2**64 for r in returned)
    assert total == sum(returned) % 2**64 or (total is None and sum(returned) >= 2**64)


def test_a_class_without_a_constructor_is_refused() -> None:
    from pyo2._objects import RustObject

    with pytest.raises(TypeError, match="the class 'RustObject' has no #\\[new\\] constructor"):
        arguments(RustObject)
