"""Calls through a declaration written in Rust syntax: exact widths and returns."""

from __future__ import annotations

import inspect
import math
from array import array

import pytest

import pyo2
from pyo2._types import SCALARS
from support import pep604

INTS = {name: s for name, s in SCALARS.items() if s.kind == "int" and name not in ("isize", "usize")}


@pytest.mark.parametrize("name", sorted(INTS))
def test_integer_params_and_returns_are_exact_at_the_limits(dll: pyo2.RustDLL, name: str) -> None:
    t = INTS[name]
    assert t.lo is not None and t.hi is not None
    echo = dll.declare(f"fn echo_{name}(x: {name}) -> {name}")
    for value in (t.lo, t.lo + 1, 0, 1, t.hi - 1, t.hi):
        assert echo(value) == value
    add = dll.declare(f"fn add_{name}(a: {name}, b: {name}) -> {name}")
    assert add(t.hi, 1) == t.lo  # Rust's wrapping_add, not a Python-side computation
    with pytest.raises(OverflowError, match=rf"echo_{name}\(\): parameter 'x' \({name}\).*out of range"):
        echo(t.hi + 1)
    with pytest.raises(OverflowError, match=rf"out of range for {name}"):
        echo(t.lo - 1)


@pytest.mark.parametrize("name", sorted(INTS))
def test_integer_lists_of_every_width(dll: pyo2.RustDLL, name: str) -> None:
    t = INTS[name]
    assert t.lo is not None and t.hi is not None
    double = dll.declare(f"fn double_{name}(v: &mut PyVec<{name}>)")
    total = dll.declare(f"fn sum_{name}(v: &PyVec<{name}>) -> {name}")
    values = [t.lo, 0, 1, t.hi]
    expected = [((x * 2 - t.lo) % (1 << (8 * t.size))) + t.lo for x in values]
    double(values)
    assert values == expected
    assert total([1, 2, 3]) == 6
    bad = [0, 1, t.hi + 1]
    with pytest.raises(OverflowError, match=rf"item \[2\]: {t.hi + 1} is out of range for {name}"):
        double(bad)
    assert bad == [0, 1, t.hi + 1]


def test_f32_rounds_and_refuses_what_f32_cannot_hold(dll: pyo2.RustDLL) -> None:
    echo = dll.declare("fn echo_f32(x: f32) -> f32")
    assert echo(0.1) == array("f", [0.1])[0] != 0.1
    assert echo(float("inf")) == float("inf")
    assert math.isnan(echo(float("nan")))
    assert echo(-0.0) == 0.0 and math.copysign(1, echo(-0.0)) == -1
    with pytest.raises(OverflowError, match=r"parameter 'x' \(f32\): 1e\+39 is out of range for f32"):
        echo(1e39)
    scale = dll.declare("fn scale_f32(v: &mut PyVec<f32>, k: f32)")
    values = [1.5, float("-inf"), 2]
    scale(values, 2)
    assert values == [3.0, float("-inf"), 4.0]
    with pytest.raises(OverflowError, match=r"item \[1\]: 3e\+40 is out of range for f32"):
        scale([1.0, 3e40], 1.0)


def test_f64_is_exact(dll: pyo2.RustDLL) -> None:
    echo = dll.declare("fn echo_f64(x: f64) -> f64")
    for value in (0.1, -0.0, 5e-324, 1.7976931348623157e308, float("inf")):
        assert echo(value) == value and math.copysign(1, echo(value)) == math.copysign(1, value)
    assert echo(3) == 3.0 and type(echo(3)) is float
    with pytest.raises(TypeError, match=r"echo_f64\(\): parameter 'x' \(f64\): got str \('1.5'\)"):
        echo("1.5")


def test_bool_params_and_returns(dll: pyo2.RustDLL) -> None:
    echo = dll.declare("fn echo_bool(x: bool) -> bool")
    assert echo(True) is True and echo(False) is False
    assert echo(1) is True and echo(0) is False
    with pytest.raises(OverflowError, match="2 is not a bool"):
        echo(2)
    with pytest.raises(TypeError, match=r"expected bool"):
        echo(None)
    count = dll.declare("fn count_true(v: &PyVec<bool>) -> u64")
    assert count([True, False, True, 1]) == 3
    with pytest.raises(TypeError, match=r"item \[1\]: got float \(1.0\), expected bool"):
        count([True, 1.0])


def test_unit_return_and_no_params(dll: pyo2.RustDLL) -> None:
    noop = dll.declare("fn noop() -> ()")
    assert noop() is None
    assert dll.declare('pub extern "C" fn noop();')() is None


def test_keyword_arguments_and_arity(dll: pyo2.RustDLL) -> None:
    scale = dll.declare("fn scale(v: &mut PyVec<f64>, k: f64) -> f64")
    values = [1.0, 2.0]
    assert scale(values, k=3.0) == 9.0
    assert scale(k=0.5, v=values) == 4.5
    assert values == [1.5, 3.0]
    with pytest.raises(
        TypeError, match=r"scale\(\) takes 2 positional arguments but 3 were given \(fn scale"
    ):
        scale(values, 1.0, 2.0)
    with pytest.raises(
        TypeError, match=r"^scale\(\) missing 1 required positional argument: 'k' \(fn scale\("
    ):
        scale(values)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'x'"):
        scale(values, x=1.0)
    with pytest.raises(TypeError, match=r"multiple values for argument 'v'"):
        scale(values, v=values, k=1.0)
    assert values == [1.5, 3.0]


def test_keywords_need_a_declaration(dll: pyo2.RustDLL) -> None:
    with pytest.raises(TypeError, match="no declared signature"):
        dll.scale(v=[1.0], k=2.0)


def test_mut_param_refuses_immutable_objects(dll: pyo2.RustDLL) -> None:
    bump = dll.declare("fn bump_bytes(s: &mut PyVec<u8>)")
    for value in (b"abc", "abc", memoryview(b"abc")):
        with pytest.raises(TypeError, match=r"bump_bytes\(\): parameter 's' \(&mut PyVec<u8>\)"):
            bump(value)
    buf = bytearray(b"abc")
    bump(buf)
    assert buf == b"bcd"
    lst = [1, 255]
    bump(lst)
    assert lst == [2, 0]


def test_pystr_param_takes_str_bytes_and_buffers(dll: pyo2.RustDLL) -> None:
    fnv = dll.declare("fn fnv1a(s: &PyStr) -> u64")
    expected = fnv(b"hello")
    assert fnv("hello") == fnv(bytearray(b"hello")) == fnv(memoryview(b"xhello")[1:]) == expected
    assert fnv([104, 101, 108, 108, 111]) == expected  # PyStr is PyVec<u8>
    assert fnv(b"") == fnv("") == 0xCBF29CE484222325
    with pytest.raises(TypeError, match=r"got a buffer of i8, expected a buffer of u8"):
        fnv(array("b", [1]))


def test_declared_nested_types(dll: pyo2.RustDLL) -> None:
    nested_sum = dll.declare("fn nested_sum(v: &PyVec<&PyVec<i64>>) -> i64")
    row = [1, 2]
    assert nested_sum([row, row, [3]]) == 9  # shared & references may alias
    bump = dll.declare("fn nested_bump(v: &mut PyVec<&mut PyVec<i64>>)")
    with pytest.raises(ValueError, match="passed twice and one of them is &mut"):
        bump([row, row])
    assert row == [1, 2]
    total_len = dll.declare("fn total_len(v: &PyVec<&PyStr>) -> u64")
    assert total_len(["ab", b"c", bytearray(b"de"), "é"]) == 7


def test_declaration_replaces_inference_and_introspects(dll: pyo2.RustDLL) -> None:
    assert dll.scale.signature is None
    assert isinstance(dll.scale, pyo2.RustFunction)
    scale = dll.declare("fn scale(v: &mut pyo2::PyVec<f64>, k: f64) -> f64")
    assert dll.scale is scale
    assert isinstance(scale, pyo2.RustFunction)
    assert (scale.name, scale.dll) == ("scale", dll)
    assert str(scale.signature) == "fn scale(v: &mut PyVec<f64>, k: f64) -> f64"
    assert scale.__name__ == "scale"
    assert scale.__doc__ == "fn scale(v: &mut PyVec<f64>, k: f64) -> f64"
    assert pep604(str(inspect.signature(scale))) == "(v: list[float] | array.array[float], k: float) -> float"
    assert not isinstance(len, pyo2.RustFunction)


@pytest.mark.parametrize(
    ("text", "column", "token", "reason"),
    [
        ("fn f(x: i65)", 9, "i65", "expected a type"),
        ("fn f(x: &PyVec<i64)", 19, ")", "expected '>'"),
        ("fn f(x: &str)", 10, "str", "&str is a fat pointer"),
        ("fn f(x: &[i64])", 10, "[", "slices are fat pointers"),
        ("fn f(x: PyVec<i64>)", 9, "PyVec", "crosses by reference"),
        ("fn f(x: i64) -> String", 17, "String", "need #[pyo2::export]"),
        ("fn f(x: i64, x: i64)", 14, "x", "appears twice"),
        ("fn (x: i64)", 4, "(", "expected the function name"),
        ("fn f(x: i64) extra", 14, "extra", "expected the end"),
        ("fn f(x: i64 $)", 13, "$", "unexpected character"),
        ('extern "system" fn f()', 8, '"system"', 'only extern "C"'),
        ("fn f<T>(x: T)", 5, "<", "generic functions"),
        ("f(x: i64)", 1, "f", "expected 'fn'"),
        ("fn f(x: &Vec<i64>)", 10, "Vec", "expected PyVec or PyStr"),
        ("fn f(x: i64", 12, "", "expected ',' or ')'"),
    ],
)
def test_bad_declarations_point_at_the_token(
    dll: pyo2.RustDLL, text: str, column: int, token: str, reason: str
) -> None:
    with pytest.raises(pyo2.SignatureError) as info:
        dll.declare(text)
    err = info.value
    assert (err.column, err.token) == (column, token)
    assert reason in str(err)
    assert isinstance(err, pyo2.Pyo2Error) and isinstance(err, ValueError)
    # The caret line sits under the token.
    lines = str(err).splitlines()
    assert lines[-2].strip() == text
    assert lines[-1].index("^") - lines[-2].index(text[0]) == column - 1


def test_nesting_limit_in_declarations() -> None:
    deep = "&PyVec<" * 33 + "i64" + ">" * 33
    with pytest.raises(pyo2.SignatureError, match="nested deeper than 32"):
        pyo2.parse_signature(f"fn f(x: {deep})")
    ok = "&PyVec<" * 32 + "i64" + ">" * 32
    assert pyo2.parse_signature(f"fn f(x: {ok})").params[0][0] == "x"


def test_lifetimes_and_multiline_declarations() -> None:
    sig = pyo2.parse_signature(
        "pub unsafe extern \"C\" fn f(\n  a: &'a PyStr,\n  mut b: &'b mut PyVec<u8>,\n);"
    )
    assert str(sig) == "fn f(a: &PyStr, b: &mut PyVec<u8>)"


def test_declaring_a_missing_function(dll: pyo2.RustDLL) -> None:
    with pytest.raises(AttributeError, match="exports no function 'scal'; did you mean scale"):
        dll.declare("fn scal(v: &mut PyVec<f64>, k: f64) -> f64")


@pytest.mark.parametrize(("rust", "code", "wrong"), [("isize", "q", "Q"), ("usize", "Q", "q")])
def test_isize_and_usize_take_buffers_of_the_same_c_type(
    dll: pyo2.RustDLL, rust: str, code: str, wrong: str
) -> None:
    """isize/usize are i64/u64 at the C level (on 64-bit): their buffers are lent, others refused."""
    import array

    reverse = dll.declare(f"fn reverse_{rust}(v: &mut PyVec<{rust}>)")
    values = array.array(code, [1, 2, 3])
    reverse(values)
    assert values.tolist() == [3, 2, 1]
    bad = array.array(wrong, [1, 2])
    with pytest.raises(TypeError, match=f"expected a buffer of {rust}"):
        reverse(bad)
    assert bad.tolist() == [1, 2]


@pytest.mark.parametrize(
    "declaration",
    ["fn sum_u8(v: &'static PyVec<u8>) -> u8", "fn nested_sum(v: &PyVec<&'static PyVec<i64>>) -> i64"],
)
def test_a_static_borrow_is_refused(dll: pyo2.RustDLL, declaration: str) -> None:
    with pytest.raises(pyo2.SignatureError, match="can't borrow for 'static"):
        dll.declare(declaration)
