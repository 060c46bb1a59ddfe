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
