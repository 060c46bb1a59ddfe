"""Functions exported with ``#[pyo2::export]`` (tests/fixture/src/exported.rs):
signatures read from the library, owned returns, panics and errors."""

from __future__ import annotations

import ctypes
import math
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyo2
from pyo2 import _abi
from pyo2._types import OWNED_BUF_LAYOUT, CPyVec
from support import ROOT


@pytest.fixture(scope="module")
def dll_module(fixture_path: Path) -> pyo2.RustDLL:
    """One library for the Hypothesis tests (they run many examples per test)."""
    return pyo2.RustDLL(fixture_path)


# ---------------------------------------------------------------------------
# Signatures come from the library.


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ex_add_u8", "fn ex_add_u8(a: u8, b: u8) -> u8"),
        ("ex_unit", "fn ex_unit()"),
        ("ex_greet", "fn ex_greet(name: &str) -> String"),
        ("ex_double", "fn ex_double(v: &mut [f64])"),
        ("ex_lengths", "fn ex_lengths(words: &[&PyStr]) -> Vec<u64>"),
        ("ex_nested", "fn ex_nested(rows: &mut PyVec<&mut PyVec<i32>>) -> usize"),
        ("ex_find", "fn ex_find(haystack: &str, needle: &str) -> Option<usize>"),
        ("ex_parse", "fn ex_parse(s: &str) -> Result<i64, ParseIntError>"),
        ("ex_one_word", "fn ex_one_word(s: &str) -> Result<Option<String>, String>"),
        ("ex_div", "fn ex_div(a: i32, b: i32) -> Result<i32, DivError>"),
        # Written with `type Int = u8`, `type Bytes<'a> = &'a PyStr` and `PyVec as List`:
        ("ex_aliased", "fn ex_aliased(x: u8, b: &PyStr, rows: &PyVec<&mut PyVec<u8>>) -> u8"),
        ("ex_raw", "fn ex_raw(in: u8) -> u8"),
    ],
)
def test_signature_is_read_from_the_library(dll: pyo2.RustDLL, name: str, expected: str) -> None:
    sig = dll[name].signature
    assert sig is not None and sig.exported
    assert str(sig) == expected
    assert dll[name].__doc__.startswith(expected)  # type: ignore[union-attr]


def test_doc_comments_travel_with_the_descriptor(dll: pyo2.RustDLL) -> None:
    assert dll.ex_find.doc == "Byte offset of `needle` in `haystack`, if any."
    assert dll.ex_one_word.doc.startswith("`Ok(None)` for an empty string")
    assert dll.ex_sum.doc == ""
    assert dll.plain_twice.doc == "" and dll.plain_twice.signature is None


def test_plain_functions_in_the_same_library_still_infer(dll: pyo2.RustDLL) -> None:
    assert dll.plain_twice(21) is None  # inferred calls return None
    assert dll.declare("fn plain_twice(x: i64) -> i64")(21) == 42


def test_descriptor_symbols_are_not_functions(dll: pyo2.RustDLL) -> None:
    names = dir(dll)
    assert "ex_parse" in names and "plain_twice" in names
    assert not [n for n in names if n.startswith(_abi.SIG_PREFIX)]
    with pytest.raises(AttributeError, match="exports no function"):
        dll[_abi.SIG_PREFIX + "ex_parse"]


def test_a_descriptor_from_another_abi_version_is_refused(dll: pyo2.RustDLL) -> None:
    with pytest.raises(pyo2.Pyo2Error, match=r"ABI version 3.*reads versions 1, 2"):
        dll["ex_future"]


def test_a_matching_declaration_is_accepted(dll: pyo2.RustDLL) -> None:
    function = dll.declare("fn ex_parse(text: &str) -> Result<i64, std::num::ParseIntError>")
    assert function is dll.ex_parse
    assert str(function.signature) == "fn ex_parse(s: &str) -> Result<i64, ParseIntError>"
    assert dll.declare("fn ex_sum(v: &PyVec<i64>) -> i64")([1, 2]) == 3


@pytest.mark.parametrize(
    "declaration",
    [
        "fn ex_parse(s: &str) -> i64",
        "fn ex_parse(s: &PyStr) -> Result<i64, E>",
        "fn ex_add_u8(a: u8, b: u16) -> u8",
    ],
)
def test_a_conflicting_declaration_is_refused(dll: pyo2.RustDLL, declaration: str) -> None:
    with pytest.raises(pyo2.SignatureError, match=r"is exported with #.pyo2::export. as `fn ex_"):
        dll.declare(declaration)
    assert dll[declaration.split("(", maxsplit=1)[0][3:]].signature.exported  # type: ignore[union-attr]


# ---------------------------------------------------------------------------
# Arguments are checked against the real types before the call.


@pytest.mark.parametrize(
    ("function", "args", "kwargs", "exc", "words"),
    [
        ("ex_add_u8", (256, 1), {}, OverflowError, ["ex_add_u8()", "'a'", "u8", "256", "0..=255"]),
        ("ex_add_u8", (1, -1), {}, OverflowError, ["'b'", "-1"]),
        ("ex_add_u8", (1.5, 1), {}, TypeError, ["'a'", "float"]),
        ("ex_add_u8", (1,), {}, TypeError, ["missing", "'b'"]),
        ("ex_add_u8", (1, 2, 3), {}, TypeError, ["takes 2 positional arguments but 3 were given"]),
        ("ex_add_u8", (1,), {"c": 2}, TypeError, ["unexpected keyword argument 'c'"]),
        ("ex_echo_i64", (2**63,), {}, OverflowError, ["i64"]),
        ("ex_echo_u64", (-1,), {}, OverflowError, ["u64"]),
        ("ex_echo_f32", (1e39,), {}, OverflowError, ["f32"]),
        ("ex_greet", (42,), {}, TypeError, ["ex_greet()", "'name'", "&str", "int"]),
        ("ex_greet", ([1],), {}, TypeError, ["'name'", "&str"]),
        ("ex_greet", (b"\xff\xfe",), {}, UnicodeDecodeError, ["ex_greet()", "'name'", "&str"]),
        ("ex_greet", (bytearray(b"ok\xc3"),), {}, UnicodeDecodeError, ["'name'"]),
        ("ex_greet", ("lone \ud800",), {}, UnicodeEncodeError, ["ex_greet()", "'name'"]),
        ("ex_sum", ([1, "2"],), {}, TypeError, ["ex_sum()", "'v'", "&[i64]", "item [1]"]),
        ("ex_sum", ([1, 2**63],), {}, OverflowError, ["item [1]", "i64"]),
        ("ex_double", ((1.0, 2.0),), {}, TypeError, ["'v'", "&mut [f64]", "tuple"]),
        ("ex_double", (b"abcdefgh",), {}, TypeError, ["'v'", "bytes"]),
        ("ex_nested", ([[1], 2],), {}, TypeError, ["'rows'", "item [1]"]),
        ("ex_lengths", ([1],), {}, TypeError, ["'words'", "item [0]"]),
    ],
)
def test_bad_arguments_are_refused_before_the_call(  # noqa: PLR0917 (one parameter per table column)
    dll: pyo2.RustDLL,
    function: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    exc: type[Exception],
    words: list[str],
) -> None:
    with pytest.raises(exc) as info:
        dll[function](*args, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_keyword_arguments(dll: pyo2.RustDLL) -> None:
    assert dll.ex_sub(b=1, a=10) == 9
    assert dll.ex_sub(10, b=3) == 7
    assert dll.ex_raw(**{"in": 7}) == 7


# ---------------------------------------------------------------------------
# Returns.


@given(st.integers(-(2**63), 2**63 - 1))
def test_i64_returns_are_exact(dll_module: pyo2.RustDLL, x: int) -> None:
    assert dll_module.ex_echo_i64(x) == x


@given(st.integers(0, 2**64 - 1))
def test_u64_returns_are_exact(dll_module: pyo2.RustDLL, x: int) -> None:
    assert dll_module.ex_echo_u64(x) == x


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_f64_returns_are_bit_exact(dll_module: pyo2.RustDLL, x: float) -> None:
    assert struct.pack("<d", dll_module.ex_echo_f64(x)) == struct.pack("<d", x)


@given(st.floats(width=32))
def test_f32_returns_round_trip(dll_module: pyo2.RustDLL, x: float) -> None:
    y = dll_module.ex_echo_f32(x)
    assert (math.isnan(x) and math.isnan(y)) or y == x


@given(st.integers(0, 255), st.integers(0, 255))
def test_u8_arithmetic_matches_python(dll_module: pyo2.RustDLL, a: int, b: int) -> None:
    assert dll_module.ex_add_u8(a, b) == (a + b) % 256


def test_bool_and_unit(dll: pyo2.RustDLL) -> None:
    assert dll.ex_not(True) is False and dll.ex_not(False) is True
    assert dll.ex_unit() is None


@given(st.text())
def test_string_returns(dll_module: pyo2.RustDLL, name: str) -> None:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        with pytest.raises(UnicodeEncodeError):
            dll_module.ex_greet(name)
    else:
        assert dll_module.ex_greet(name) == f"Hello, {name}!"


def test_vec_returns(dll: pyo2.RustDLL) -> None:
    assert dll.ex_range(5) == [0, 1, 2, 3, 4]
    assert dll.ex_range(0) == []
    assert dll.ex_halves(3) == [0.0, 0.5, 1.0]
    parity = dll.ex_parity(3)
    assert parity == [False, True, False] and all(type(b) is bool for b in parity)
    assert dll.ex_extremes() == [-(2**63), -1, 0, 2**63 - 1]
    assert dll.ex_lengths(["ab", b"c", "é"]) == [2, 1, 2]
    assert len(dll.ex_range(100_000)) == 100_000


def test_option_returns(dll: pyo2.RustDLL) -> None:
    assert dll.ex_find("hello", "l") == 2
    assert dll.ex_find("hello", "z") is None
    assert dll.ex_first_word("  two words") == "two"
    assert dll.ex_first_word("   ") is None


def test_result_returns_and_rust_errors(dll: pyo2.RustDLL) -> None:
    assert dll.ex_parse(" -12 ") == -12
    with pytest.raises(pyo2.RustError) as info:
        dll.ex_parse("12x")
    assert str(info.value) == info.value.message == "invalid digit found in string"
    assert info.value.function == "ex_parse"
    assert dll.ex_div(7, 2) == 3
    with pytest.raises(pyo2.RustError, match=r"^can't divide 7 by zero$"):
        dll.ex_div(7, 0)
    assert dll.ex_one_word("") is None
    assert dll.ex_one_word("word") == "word"
    with pytest.raises(pyo2.RustError, match=r'^"two words" is more than one word$'):
        dll.ex_one_word("two words")
    assert dll.ex_check_sorted([1, 2, 2]) is None
    with pytest.raises(pyo2.RustError, match="not sorted at index 2"):
        dll.ex_check_sorted([1, 2, 0])


def test_in_place_parameters(dll: pyo2.RustDLL) -> None:
    v = [1.0, 2.5]
    assert dll.ex_double(v) is None
    assert v == [2.0, 5.0]
    rows = [[1], [2, 3]]
    inner = rows[1]
    assert dll.ex_nested(rows) == 3
    assert rows == [[1], [12, 13]] and rows[1] is inner
    assert dll.ex_sum([]) == 0
    assert dll.ex_byte_len(b"\x00\xff") == 2


# ---------------------------------------------------------------------------
# Panics.


def test_a_panic_raises_and_the_next_call_works(dll: pyo2.RustDLL) -> None:
    with pytest.raises(pyo2.RustPanic) as info:
        dll.ex_index([1, 2, 3], 5)
    assert info.value.message == "index out of bounds: the len is 3 but the index is 5"
    assert str(info.value).startswith(info.value.message + " (at tests/fixture/src/exported.rs:")
    assert info.value.function == "ex_index"
    assert dll.ex_index([1, 2, 3], 2) == 3
    with pytest.raises(pyo2.RustPanic, match=r"^custom message é \(at .*exported\.rs:\d+:\d+\)$"):
        dll.ex_panic("custom message é")
    with pytest.raises(pyo2.RustPanic, match="not a string"):
        dll.ex_panic_any()
    assert dll.ex_greet("again") == "Hello, again!"


def test_rust_failures_are_pyo2_errors() -> None:
    assert issubclass(pyo2.RustPanic, pyo2.Pyo2Error) and issubclass(pyo2.RustError, pyo2.Pyo2Error)
    assert not issubclass(pyo2.RustPanic, pyo2.RustError) and not issubclass(pyo2.RustError, pyo2.RustPanic)
    import pickle

    e = pickle.loads(pickle.dumps(pyo2.RustPanic("m", "f")))
    assert (type(e), e.message, e.function) == (pyo2.RustPanic, "m", "f")


def test_a_panic_writes_nothing_back_but_an_err_does(dll: pyo2.RustDLL) -> None:
    v = [1, 2, 3]
    with pytest.raises(pyo2.RustPanic, match="gave up after writing"):
        dll.ex_fill_then_panic(v)
    assert v == [1, 2, 3]
    with pytest.raises(pyo2.RustError, match="gave up after writing"):
        dll.ex_fill_then_err(v)
    assert v == [-1, -1, -1]


# ---------------------------------------------------------------------------
# Memory and the ABI's edges.


def test_owned_buf_layout_matches_the_rust_crate(dll: pyo2.RustDLL) -> None:
    assert tuple(dll.ex_owned_buf_layout()) == OWNED_BUF_LAYOUT


def test_rust_checks_its_own_arguments_too(dll: pyo2.RustDLL, fixture_path: Path) -> None:
    """Called without pyo2's checks (invalid UTF-8 for a &str, a null header),
    the Rust wrapper refuses instead of building an invalid &str."""
    raw = ctypes.CDLL(str(fixture_path)).ex_greet
    raw.restype = ctypes.c_int32
    raw.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    ret = dll.ex_greet.signature.ret  # type: ignore[union-attr]
    data = ctypes.create_string_buffer(b"\xffbad", 4)
    for header in [CPyVec(ctypes.addressof(data), 4), None]:
        slot = _abi.CSlot()
        status = raw(ctypes.addressof(header) if header else None, ctypes.addressof(slot))
        assert status == _abi.BAD_ARG
        with pytest.raises(
            ValueError, match=r"ex_greet\(\): parameter `name`: (PyStr is not valid UTF-8|null)"
        ):
            _abi.outcome("ex_greet", status, ret, slot)  # type: ignore[arg-type]
        assert not slot.buf.drop, "the message was freed"


def test_inspect_lists_every_function(fixture_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyo2", "inspect", str(fixture_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1  # ex_future's descriptor is from another ABI version
    out = result.stdout
    for line in [
        "fn ex_parse(s: &str) -> Result<i64, ParseIntError>",
        "/// Byte offset of `needle` in `haystack`, if any.\n"
        "fn ex_find(haystack: &str, needle: &str) -> Option<usize>",
        "fn ex_aliased(x: u8, b: &PyStr, rows: &PyVec<&mut PyVec<u8>>) -> u8",
        "fn ex_future(?)  // unreadable descriptor:",
        "fn plain_twice(...)",
        "fn add_u8(...)",
    ]:
        assert line in out, line
    assert _abi.SIG_PREFIX not in out.replace("ABI version", "")
    exported = [ln for ln in out.splitlines() if ln.startswith("fn ex_")]
    sources = [path.read_text() for path in sorted((ROOT / "tests/fixture/src").glob("*.rs"))]
    round_trips = sum(source.count("=> ex_roundtrip_") for source in sources)  # one export per type
    marked = sum(len(re.findall(r"#\[pyo2::export\]\nfn (?:r#)?ex_", source)) for source in sources)
    assert len(exported) == marked + round_trips + 1  # + ex_future, whose descriptor is hand-made


def test_inspect_reports_a_missing_library(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyo2", "inspect", str(tmp_path / "nope.so")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "no such file" in result.stderr and "nope.so" in result.stderr
