"""README's error table (section "Errors"): every bad input gets its
exception, and leaves every argument exactly as it was."""

from __future__ import annotations

import errno
import re
import textwrap
from array import array
from pathlib import Path
from typing import Any

import pytest

import pyo2
from support import run_python


def snapshot(args: tuple[Any, ...]) -> tuple[list[int], list[Any]]:
    """Identities and contents of ``args`` and everything in them."""
    ids: list[int] = []

    def walk(x: Any) -> Any:
        ids.append(id(x))
        if isinstance(x, list):
            return [walk(item) for item in x]
        if isinstance(x, (bytearray, array, memoryview)):
            return (type(x), bytes(x))
        return x

    return ids, [walk(a) for a in args]


PARAMETER = re.compile(r"parameter (#\d+|'\w+')|missing \d+ required positional argument")
RUST_TYPE = re.compile(
    r"\b(i8|i16|i32|i64|isize|u8|u16|u32|u64|usize|f32|f64|bool)\b|&(mut )?(PyVec|PyStr|str|\[)"
)

# (function, declaration or None for its own signature / inference, args, exact exception,
#  words the message must contain besides the function, the parameter and a Rust type)
CASES: list[tuple[str, str | None, Any, type[BaseException], list[str]]] = [
    ("double_i64", None, ([1, 2.5],), TypeError, ["double_i64()", "#1", "mixed list", "[0]", "[1]"]),
    ("double_i64", None, ([1, True],), TypeError, ["mixed list", "bool"]),
    ("nested_bump", None, ([[1], 2],), TypeError, ["nested_bump()", "mixed list", "&mut PyVec<i64>", "int"]),
    ("nested_bump", None, ([[1], [[2]]],), TypeError, ["mixed list", "&mut PyVec<&mut PyVec<i64>>"]),
    ("nested_bump", None, ([[1], [2.0]],), TypeError, ["mixed list", "&mut PyVec<f64>"]),
    ("nested_bump", None, ([[], 3],), TypeError, ["mixed list", "item [0] is list ([]) (&mut PyVec<_>)"]),
    ("double_i64", None, ({"a": 1},), TypeError, ["double_i64()", "#1", "can't pass dict"]),
    ("double_i64", None, (None,), TypeError, ["can't pass NoneType"]),
    ("double_i64", None, ([1, object()],), TypeError, ["[1]", "can't pass object"]),
    ("double_i64", None, ([2**63],), OverflowError, ["double_i64()", "#1", "i64", "[0]", "out of range"]),
    ("nested_bump", None, ([[1], [1, -(2**63) - 1]],), OverflowError, ["[1][1]", "out of range for i64"]),
    ("mix", None, (2**64, 1.0, True), OverflowError, ["mix()", "#1", "i64"]),
    ("bump_bytes", None, ("a\ud800b",), UnicodeEncodeError, ["bump_bytes()", "#1", "surrogate"]),
    ("total_len", None, (["ok", "\udfff"],), UnicodeEncodeError, ["total_len()", "[1]"]),
    ("double_i64", None, (array("q", [1]), array), TypeError, ["#2", "can't pass type"]),
    ("double_f64", None, (memoryview(bytearray(16)).cast("B", shape=[4, 4]),), TypeError, ["2-dimensional"]),
    ("double_f64", None, (memoryview(bytearray(16))[::2],), TypeError, ["non-contiguous"]),
    ("swap_views", None, ([1, 2], [3, "x"]), TypeError, ["swap_views()", "#2", "mixed list"]),
    (
        "scale",
        "fn scale(v: &mut PyVec<f64>, k: f64) -> f64",
        ([1.0], "2"),
        TypeError,
        ["scale()", "'k'", "f64", "got str"],
    ),
    (
        "scale",
        "fn scale(v: &mut PyVec<f64>, k: f64) -> f64",
        ([1.0, "x"], 2.0),
        TypeError,
        ["scale()", "'v'", "&mut PyVec<f64>", "item [1]", "got str"],
    ),
    (
        "scale",
        "fn scale(v: &mut PyVec<f64>, k: f64) -> f64",
        ((1.0, 2.0), 2.0),
        TypeError,
        ["'v'", "got tuple", "expected a list or a buffer"],
    ),
    (
        "scale",
        "fn scale(v: &mut PyVec<f64>, k: f64) -> f64",
        ([1.0],),
        TypeError,
        ["missing 1 required positional argument: 'k'"],
    ),
    ("echo_u8", "fn echo_u8(x: u8) -> u8", (256,), OverflowError, ["echo_u8()", "'x'", "u8", "0..=255"]),
    ("echo_u8", "fn echo_u8(x: u8) -> u8", (1.0,), TypeError, ["'x'", "u8", "got float"]),
    ("echo_u64", "fn echo_u64(x: u64) -> u64", (-1,), OverflowError, ["'x'", "u64"]),
    ("sum_i8", "fn sum_i8(v: &PyVec<i8>) -> i8", ([1, 128],), OverflowError, ["'v'", "&PyVec<i8>", "[1]"]),
    (
        "double_u16",
        "fn double_u16(v: &mut PyVec<u16>)",
        (array("h", [1]),),
        TypeError,
        ["buffer of i16, expected a buffer of u16"],
    ),
    ("double_u16", "fn double_u16(v: &mut PyVec<u16>)", (bytes(4),), TypeError, ["immutable"]),
    (
        "nested_sum",
        "fn nested_sum(v: &PyVec<&PyVec<i64>>) -> i64",
        ([1, 2],),
        TypeError,
        ["item [0]", "expected a list or a buffer"],
    ),
    (
        "nested_sum",
        "fn nested_sum(v: &PyVec<&PyVec<i64>>) -> i64",
        ([array("q", [1]), [1.5]],),
        TypeError,
        ["item [1][0]", "got float"],
    ),
    (
        "swap_views",
        "fn swap_views(a: &mut PyVec<i64>, b: &mut PyVec<i64>)",
        "same",
        ValueError,
        ["swap_views()", "'b'", "passed twice"],
    ),
    ("fnv1a", "fn fnv1a(s: &PyStr) -> u64", ("\udc80",), UnicodeEncodeError, ["fnv1a()", "'s'"]),
    (
        "count_true",
        "fn count_true(v: &PyVec<bool>) -> u64",
        ([True, 2],),
        OverflowError,
        ["[1]", "not a bool"],
    ),
    # Exported with #[pyo2::export]: the library's own signature is checked.
    ("ex_add_u8", None, (256, 1), OverflowError, ["ex_add_u8()", "'a'", "u8", "0..=255"]),
    ("ex_add_u8", None, (1, -1), OverflowError, ["'b'", "u8"]),
    ("ex_add_u8", None, (1, 2.0), TypeError, ["'b'", "u8", "got float"]),
    ("ex_echo_f32", None, (1e39,), OverflowError, ["'x'", "f32"]),
    ("ex_not", None, (2,), OverflowError, ["'b'", "bool"]),
    ("ex_greet", None, (b"ok\xff",), UnicodeDecodeError, ["ex_greet()", "'name'", "&str"]),
    ("ex_greet", None, (["a"],), TypeError, ["'name'", "&str", "expected a str"]),
    ("ex_greet", None, ("\ud800",), UnicodeEncodeError, ["'name'", "&str"]),
    ("ex_sum", None, ([1, None],), TypeError, ["ex_sum()", "'v'", "&[i64]", "item [1]"]),
    ("ex_double", None, ([1.0, "2"],), TypeError, ["'v'", "&mut [f64]", "item [1]"]),
    ("ex_double", None, (b"12345678",), TypeError, ["'v'", "&mut [f64]", "immutable"]),
    ("ex_nested", None, ([[1], [2, 2**40]],), OverflowError, ["'rows'", "i32", "item [1][1]"]),
    ("ex_lengths", None, ([b"a", 3],), TypeError, ["'words'", "&PyStr", "item [1]"]),
    ("ex_find", None, ("abc", None), TypeError, ["ex_find()", "'needle'", "&str"]),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_raises_and_leaves_arguments_untouched(
    dll: pyo2.RustDLL, case: tuple[str, str | None, Any, type[BaseException], list[str]]
) -> None:
    name, declaration, args, exc, words = case
    if args == "same":
        shared = [1, 2]
        args = (shared, shared)
    function = dll.declare(declaration) if declaration else dll[name]
    ids, before = snapshot(args)
    with pytest.raises(exc) as info:
        function(*args)
    assert type(info.value) is exc, f"{type(info.value).__name__} is not exactly {exc.__name__}"
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)
    # Every message names the function, the parameter and a Rust type.
    assert f"{name}()" in message, message
    assert PARAMETER.search(message), message
    assert RUST_TYPE.search(message), message
    after_ids, after = snapshot(args)
    assert after_ids == ids
    assert after == before


def test_error_table_has_enough_cases() -> None:
    assert len(CASES) >= 40
    kinds = {case[3] for case in CASES}
    assert {TypeError, OverflowError, ValueError, UnicodeEncodeError} <= kinds


def test_failed_conversion_does_not_lock_buffers(dll: pyo2.RustDLL) -> None:
    buf = bytearray(b"ab")
    arr = array("q", [1])
    with pytest.raises(TypeError):
        dll.swap_views(arr, [1, "x"])
    with pytest.raises(TypeError):
        dll.bump_bytes(buf, object())
    buf.extend(b"c")  # would raise BufferError if an export were still held
    arr.append(2)
    assert buf == b"abc" and arr.tolist() == [1, 2]


def test_unknown_function_lists_close_names(dll: pyo2.RustDLL) -> None:
    with pytest.raises(AttributeError) as info:
        dll.doubel_i64([1])
    message = str(info.value)
    assert "'doubel_i64'" in message and "did you mean" in message and "double_i64" in message
    with pytest.raises(AttributeError):
        dll["no_such_function_anywhere"]
    assert "double_i64" in dir(dll)


def test_missing_library_is_oserror_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "libnothing.so"
    with pytest.raises(OSError) as info:
        pyo2.RustDLL(path)
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == str(path)
    assert str(path) in str(info.value)


def test_not_a_library_is_oserror_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "libfake.so"
    path.write_text("not an ELF file")
    with pytest.raises(OSError) as info:
        pyo2.RustDLL(str(path))
    assert info.value.errno == errno.ENOEXEC
    assert info.value.filename == str(path)
    assert "not a loadable library" in str(info.value)


def test_bad_path_type() -> None:
    with pytest.raises(TypeError, match="RustDLL"):
        pyo2.RustDLL(b"./lib.so")  # type: ignore[arg-type]


def crash_proof(fixture_path: Path, body: str) -> str:
    """Run ``body`` against the fixture in a subprocess; return what it printed."""
    code = f"import pyo2\ndll = pyo2.RustDLL({str(fixture_path)!r})\n" + textwrap.dedent(body)
    result = run_python(code, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_self_containing_list_is_valueerror_in_every_mode(fixture_path: Path) -> None:
    out = crash_proof(
        fixture_path,
        """
        a = [1]
        a.append(a)
        b = [[1], []]
        b[1].append(b)
        dll.declare("fn nested_sum(v: &PyVec<&PyVec<i64>>) -> i64")
        for f, arg in [(dll.double_i64, a), (dll.nested_bump, b), (dll.nested_sum, [a]), (dll.nested_sum, b)]:
            try:
                f(arg)
            except ValueError as e:
                print("ValueError", "contains itself" in str(e) or "passed twice" in str(e))
            except TypeError as e:
                print("TypeError", e)
        print(a[0], b[0])
        """,
    )
    assert out.splitlines() == ["ValueError True"] * 4 + ["1 [1]"]


def test_nesting_too_deep_is_valueerror_not_a_crash(fixture_path: Path) -> None:
    out = crash_proof(
        fixture_path,
        """
        deep = [1]
        for _ in range(100_000):
            deep = [deep]
        try:
            dll.nested_bump(deep)
        except ValueError as e:
            print("ValueError", "deeper than 32" in str(e))
        ok = [1.0]
        for _ in range(31):
            ok = [ok]
        dll.noop(ok)  # 32 levels is the limit, and is fine
        print("ok")
        """,
    )
    assert out.splitlines() == ["ValueError True", "ok"]


def test_error_classes() -> None:
    assert issubclass(pyo2.SignatureError, pyo2.Pyo2Error)
    assert issubclass(pyo2.SignatureError, ValueError)
    assert issubclass(pyo2.RustPanic, pyo2.Pyo2Error)
    assert issubclass(pyo2.RustError, pyo2.Pyo2Error)
    assert not issubclass(pyo2.RustPanic, pyo2.RustError)
