"""Plain ``#[no_mangle] extern "C"`` functions marked ``#[pyo2::export]``
(tests/fixture/src/plain.rs): the function keeps its C ABI, the library
describes its signature, and Python checks and converts every call as for a
function declared with ``dll.declare()``."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

import pyo2
from pyo2 import _abi
from pyo2._types import Scalar
from support import ROOT

SIGNATURES = {
    "plain_scale": "fn plain_scale(v: &mut PyVec<f64>, k: f64) -> f64",
    "plain_total_len": "fn plain_total_len(words: &PyVec<&PyStr>) -> u64",
    # Written with `type Ints<'a> = &'a mut PyVec<Int>` and `type Int = i32`:
    "plain_aliased": "fn plain_aliased(v: &mut PyVec<i32>, x: i32) -> bool",
    # `#[unsafe(export_name = "plain_renamed")] fn plain_renamed_impl`:
    "plain_renamed": "fn plain_renamed(a: u8, b: u8) -> u8",
    "plain_bump_rows": "fn plain_bump_rows(rows: &mut PyVec<&mut PyVec<i64>>)",
}


@pytest.mark.parametrize(("name", "expected"), SIGNATURES.items())
def test_signature_is_read_from_the_library(dll: pyo2.RustDLL, name: str, expected: str) -> None:
    sig = dll[name].signature
    assert sig is not None
    assert str(sig) == expected
    # Declared-function semantics: a plain return, no status or slot.
    assert not sig.exported
    assert sig.ret is None or isinstance(sig.ret, Scalar)
    assert sig == pyo2.parse_signature(expected)


def test_the_descriptor_says_no_mangle_extern_c(fixture_path: Path) -> None:
    describe = ctypes_describe(fixture_path, "plain_scale")
    assert describe == (
        'pyo2 1\n#[no_mangle] extern "C" fn plain_scale(v: &mut PyVec<f64>, k: f64) -> f64\n'
        "Multiplies every element by `k`; returns the new sum."
    )


def ctypes_describe(path: Path, name: str) -> str:
    """The descriptor text of ``name``, read with plain ctypes."""
    lib = ctypes.CDLL(str(path))
    function = lib[_abi.SIG_PREFIX + name]
    function.restype = ctypes.c_char_p
    text = function()
    assert isinstance(text, bytes)
    return text.decode()


def test_doc_comments_travel_with_the_descriptor(dll: pyo2.RustDLL) -> None:
    assert dll.plain_scale.doc == "Multiplies every element by `k`; returns the new sum."
    assert dll.plain_aliased.doc.startswith("Written with aliases")
    assert "\n`i32`. Adds `x`" in dll.plain_aliased.doc


def test_return_values_and_write_back(dll: pyo2.RustDLL) -> None:
    values = [1.0, 2.0]
    assert dll.plain_scale(values, 3.0) == 9.0
    assert values == [3.0, 6.0]
    assert dll.plain_total_len(["ab", b"cde", "é"]) == 7
    assert dll.plain_total_len([]) == 0
    assert dll.plain_renamed(250, 10) == 4
    ints = [1, -5]
    assert dll.plain_aliased(ints, 2) is True
    assert ints == [3, -3]
    assert dll.plain_aliased(ints, 3) is False
    rows = [[1], [2, 3], []]
    assert dll.plain_bump_rows(rows) is None
    assert rows == [[2], [4, 5], []]


def test_keyword_arguments_use_the_rust_names(dll: pyo2.RustDLL) -> None:
    values = [1.0, 2.0]
    assert dll.plain_scale(k=2.0, v=values) == 6.0
    assert values == [2.0, 4.0]
    assert dll.plain_renamed(b=1, a=2) == 3
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        dll.plain_scale(values, x=1.0)
    with pytest.raises(TypeError, match=r"plain_scale\(\) missing .*'k'"):
        dll.plain_scale(values)
    assert values == [2.0, 4.0]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([1.0, "2"], r"plain_scale\(\): parameter 'v' \(&mut PyVec<f64>\): item \[1\]: got str"),
        ([1.0, None], r"plain_scale\(\): parameter 'v' \(&mut PyVec<f64>\): item \[1\]: got NoneType"),
        ([[1.0]], r"plain_scale\(\): parameter 'v' \(&mut PyVec<f64>\)"),
        ("1.0", r"plain_scale\(\): parameter 'v' \(&mut PyVec<f64>\)"),
        (1.0, r"plain_scale\(\): parameter 'v' \(&mut PyVec<f64>\)"),
    ],
)
def test_wrong_types_for_a_mut_vec_are_refused(dll: pyo2.RustDLL, bad: object, message: str) -> None:
    before = repr(bad)
    with pytest.raises(TypeError, match=message):
        dll.plain_scale(bad, 2.0)
    assert repr(bad) == before  # the argument is unchanged


def test_immutable_objects_are_refused_for_mut(dll: pyo2.RustDLL) -> None:
    with pytest.raises(TypeError, match=r"plain_scale\(\): parameter 'v'"):
        dll.plain_scale((1.0, 2.0), 2.0)
    data = bytes(16)
    with pytest.raises(TypeError, match=r"plain_scale\(\): parameter 'v'"):
        dll.plain_scale(data, 2.0)
    assert data == bytes(16)


def test_an_int_list_for_strings_is_refused(dll: pyo2.RustDLL) -> None:
    words = [12345]
    with pytest.raises(
        TypeError, match=r"plain_total_len\(\): parameter 'words' \(&PyVec<&PyStr>\): item \[0\]"
    ):
        dll.plain_total_len(words)
    assert words == [12345]


def test_scalars_are_range_checked(dll: pyo2.RustDLL) -> None:
    values = [1, 2]
    with pytest.raises(OverflowError, match=r"plain_aliased\(\): parameter 'x' \(i32\)"):
        dll.plain_aliased(values, 2**40)
    with pytest.raises(OverflowError, match=r"plain_renamed\(\): parameter 'a' \(u8\)"):
        dll.plain_renamed(256, 0)
    assert values == [1, 2]
    with pytest.raises(TypeError, match=r"plain_scale\(\): parameter 'k' \(f64\)"):
        dll.plain_scale([1.0], "2")


def test_the_rust_name_of_a_renamed_function_is_not_a_symbol(dll: pyo2.RustDLL) -> None:
    with pytest.raises(AttributeError, match="exports no function 'plain_renamed_impl'"):
        dll.plain_renamed_impl  # noqa: B018


def test_inspect_lists_them_with_their_signatures(fixture_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyo2", "inspect", str(fixture_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    out = result.stdout
    assert "/// Multiplies every element by `k`; returns the new sum.\n" + SIGNATURES["plain_scale"] in out
    for expected in SIGNATURES.values():
        assert expected + "\n" in out, expected
    plain_section = out.split('// plain extern "C"', 1)[1]
    assert "plain_scale" not in plain_section
    assert "fn plain_twice(...)" in plain_section  # no descriptor: still listed as plain
