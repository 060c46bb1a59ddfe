"""Richer owned parameters and returns (issue 12), against the fixture's
``rec_*`` functions (tests/fixture/src/records.rs): ``Vec<String>``,
``Vec<Vec<T>>``, tuples, ``Vec<u8>`` as ``bytes``; ``String`` / ``Vec<T>`` /
``Option<T>`` / ``&[&str]`` / ``&[&[T]]`` parameters; tuples and ranges for
read-only views."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyo2

text = st.text(alphabet=st.characters(codec="utf-8"), max_size=20)


def test_vec_string_return(dll: pyo2.RustDLL) -> None:
    assert dll.words("  a bb\tccc  ") == ["a", "bb", "ccc"]
    assert dll.words("") == []


def test_tuple_return(dll: pyo2.RustDLL) -> None:
    mean, sd = dll.stats([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert sd == pytest.approx(statistics.pstdev([1.0, 2.0, 3.0, 4.0]))
    mean, sd = dll.stats([])
    assert math.isnan(mean) and math.isnan(sd)
    assert dll.rec_describe([3, 1, 2]) == (3, "3 values", [1, 2, 3])


def test_vec_vec_and_vec_of_tuples(dll: pyo2.RustDLL) -> None:
    assert dll.rec_triangle(4) == [[], [0], [0, 1], [0, 1, 2]]
    assert dll.rec_enumerate(["a", "bé"]) == [(0, "A"), (1, "BÉ")]


def test_vec_u8_is_bytes(dll: pyo2.RustDLL) -> None:
    assert dll.rec_bytes("héllo") == "héllo".encode()
    assert dll.rec_bytes("") == b""
    assert type(dll.rec_flatten([[1, 2], b"\x03", bytearray(b"\x04")])) is bytes


def test_owned_params(dll: pyo2.RustDLL) -> None:
    assert dll.rec_shout("hi") == "HI!"
    assert dll.rec_sorted([3.0, 1, 2.5]) == [1.0, 2.5, 3.0]
    assert dll.rec_sorted((3.0, 1.0)) == [1.0, 3.0]
    assert dll.rec_join(["a", "b", "c"], "-") == "a-b-c"
    assert dll.rec_join(("x",), ", ") == "x"


def test_option_params(dll: pyo2.RustDLL) -> None:
    assert dll.rec_or_default(None, None) == "-1:none"
    assert dll.rec_or_default(5, "x") == "5:x"
    assert dll.rec_maybe(None, None) == 0
    assert dll.rec_maybe("abc", [1, 2]) == 6
    assert dll.rec_maybe(None, (1, 2, 3)) == 6


def test_slices_of_views(dll: pyo2.RustDLL) -> None:
    assert dll.rec_total_len(["ab", "ç"]) == 3
    assert dll.rec_total_len(("ab", b"cd")) == 4
    assert dll.rec_row_sums([[1.0, 2.0], [3.0]]) == [3.0, 3.0]
    assert dll.rec_row_sums(((1.0, 2.0), range(3))) == [3.0, 3.0]


def test_tuples_and_ranges_for_read_only_views(dll: pyo2.RustDLL) -> None:
    assert dll.stats(range(1, 4)) == (2.0, pytest.approx(statistics.pstdev([1, 2, 3])))
    assert dll.stats((1.0, 3.0))[0] == 2.0
    assert dll.rec_describe(range(3)) == (3, "3 values", [0, 1, 2])


def test_two_dimensional_numpy_for_slices_of_slices(dll: pyo2.RustDLL) -> None:
    np = pytest.importorskip("numpy")
    rows = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert dll.rec_row_sums(rows) == [6.0, 22.0, 38.0]
    with pytest.raises(TypeError, match="C-contiguous"):
        dll.rec_row_sums(rows.T)
    with pytest.raises(TypeError, match="f64"):
        dll.rec_row_sums(rows.astype(np.int32))


def test_err_and_panic_with_owned_returns(dll: pyo2.RustDLL) -> None:
    assert dll.rec_split_strict("a,b") == ["a", "b"]
    with pytest.raises(pyo2.RustError, match="empty text"):
        dll.rec_split_strict("")
    assert dll.rec_panic_after(2) == ["0", "1"]
    with pytest.raises(pyo2.RustPanic, match="too many: 5"):
        dll.rec_panic_after(5)


def test_bad_owned_arguments_name_the_path(dll: pyo2.RustDLL) -> None:
    with pytest.raises(
        TypeError, match=r"rec_join\(\): parameter 'parts' \(Vec<String>\): parts\[1\] \(String\)"
    ):
        dll.rec_join(["a", 2], "-")
    with pytest.raises(TypeError, match=r"parameter 'v' \(Vec<f64>\): v\[0\] \(f64\)"):
        dll.rec_sorted(["x"])
    with pytest.raises(OverflowError, match=r"rec_flatten\(\): .*rows\[0\]\[1\] \(u8\): 256 is out of range"):
        dll.rec_flatten([[1, 256]])
    # A read-only view takes a tuple; a &mut one refuses it (it couldn't be written back).
    with pytest.raises(
        TypeError,
        match=r"ex_double\(\): parameter 'v' \(&mut \[f64\]\): got tuple "
        r".*expected a list or a buffer .*immutable",
    ):
        dll.ex_double((1.0, 2.0))
    with pytest.raises(ValueError, match=r"rec_shout\(\): parameter 's' \(String\): not valid UTF-8"):
        dll.rec_shout(b"\xff")


@given(st.lists(text, max_size=10))
def test_join_round_trip(parts: list[str]) -> None:
    dll = _dll()
    assert dll.rec_join(parts, "|") == "|".join(parts)
    assert dll.rec_total_len(parts) == sum(map(len, parts))
    assert dll.rec_enumerate(tuple(parts)) == [(i, p.upper()) for i, p in enumerate(parts)]


@given(st.lists(st.lists(st.integers(0, 255), max_size=5), max_size=5))
def test_flatten_round_trip(rows: list[list[int]]) -> None:
    assert _dll().rec_flatten(rows) == bytes(x for row in rows for x in row)


@given(st.lists(st.floats(allow_nan=False), max_size=20))
def test_sorted_round_trip(values: list[float]) -> None:
    assert _dll().rec_sorted(values) == sorted(values)


@given(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), st.one_of(st.none(), text))
def test_option_round_trip(x: int | None, name: str | None) -> None:
    expected = f"{-1 if x is None else x}:{'none' if name is None else name}"
    assert _dll().rec_or_default(x, name) == expected


_LOADED: list[pyo2.RustDLL] = []


def _dll() -> pyo2.RustDLL:
    if not _LOADED:
        from support import library

        _LOADED.append(pyo2.RustDLL(library("pyo2-fixture", "pyo2_fixture")))
    return _LOADED[0]
