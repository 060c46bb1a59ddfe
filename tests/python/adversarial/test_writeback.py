"""Class 5: write-back is all or nothing, and goes through the base ``list``.

A list subclass whose ``__setitem__`` raises (or does something else) gets
Rust's values all the same: write-back assigns through ``list`` itself, so
the subclass's ``__setitem__`` is never called, every list passed gets
Rust's values, and nothing raises. After a panic nothing is written; after
an ``Err`` Rust's writes stand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import pyo2
from adversarial.harness import (
    PATHS,
    Family,
    Outcome,
    Suite,
    Worker,
    attempt,
    raises,
    real,
    returns,
    same_contents,
)

SUITE = Suite(__name__, "writeback")


class Calls:
    """Counts the calls of the lying ``__setitem__`` and friends."""

    n = 0


class SetRaises(list):  # type: ignore[type-arg]
    def __setitem__(self, i: Any, value: Any) -> None:
        Calls.n += 1
        raise RuntimeError("__setitem__ refuses")

    def __delitem__(self, i: Any) -> None:
        Calls.n += 1
        raise RuntimeError("__delitem__ refuses")

    def extend(self, other: Any) -> None:
        Calls.n += 1
        raise RuntimeError("extend refuses")


class SetScrambles(list):  # type: ignore[type-arg]
    """``__setitem__`` stores something else (the values reversed, plus junk)."""

    def __setitem__(self, i: Any, value: Any) -> None:
        Calls.n += 1
        list.__setitem__(self, slice(None), [*reversed(list(value)), "junk"])


class SetExits(list):  # type: ignore[type-arg]
    def __setitem__(self, i: Any, value: Any) -> None:
        Calls.n += 1
        raise SystemExit(3)


SUBCLASSES: dict[str, type[list[Any]]] = {"raises": SetRaises, "scrambles": SetScrambles, "exits": SetExits}

DOUBLE_I64 = Family("double_i64", "fn double_i64(v: &mut PyVec<i64>)", "ex_double_i64")
DOUBLE_F64 = Family("double_f64", "fn double_f64(v: &mut PyVec<f64>)", "ex_double")
NOT_ALL = Family("double_bool", "fn double_bool(v: &mut PyVec<bool>)", "ex_not_all")
NUMBER_BOTH = Family(
    "number_both", "fn number_both(a: &mut PyVec<i64>, b: &mut PyVec<i64>)", "ex_number_both"
)


def _single(
    family: Family, sub: type[list[Any]], items: list[Any], want: list[Any], path: str
) -> Callable[[pyo2.RustDLL], Outcome]:
    def case(dll: pyo2.RustDLL) -> Outcome:
        Calls.n = 0
        lst = sub(items)
        outcome = attempt(family.get(dll, path), lst)
        outcome.check(same_contents(lst, want), f"holds {real(lst)}, expected Rust's {want}")
        return outcome.check(Calls.n == 0, f"the subclass's __setitem__ was called {Calls.n} times")

    return case


for _sub_name, _sub in SUBCLASSES.items():
    for _path in PATHS:
        SUITE.add(
            f"setitem-{_sub_name}-i64-{_path}",
            returns(None),
            _single(DOUBLE_I64, _sub, [1, 2, 3], [2, 4, 6], _path),
            _path,
        )
for _path in PATHS:
    SUITE.add(
        f"setitem-raises-f64-{_path}",
        returns(None),
        _single(DOUBLE_F64, SetRaises, [1.5], [3.0], _path),
        _path,
    )
    SUITE.add(
        f"setitem-raises-bool-{_path}",
        returns(None),
        _single(NOT_ALL, SetRaises, [True, False], [False, True], _path),
        _path,
    )


def _two(first_sub: bool, sub: type[list[Any]], path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """Two lists, one a subclass whose write-back would fail: both get Rust's values."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        Calls.n = 0
        plain = [1, 2]
        odd = sub([3, 4, 5])
        a, b = (odd, plain) if first_sub else (plain, odd)
        outcome = attempt(NUMBER_BOTH.get(dll, path), a, b)
        outcome.check(same_contents(plain, [100, 101]), f"the plain list holds {plain}")
        outcome.check(same_contents(odd, [100, 101, 102]), f"the subclass holds {real(odd)}")
        return outcome.check(Calls.n == 0, f"the subclass's __setitem__ was called {Calls.n} times")

    return case


for _first in (True, False):
    for _sub_name in ("raises", "exits"):
        for _path in PATHS:
            _order = "first" if _first else "second"
            SUITE.add(
                f"two-lists-{_order}-{_sub_name}-{_path}",
                returns(None),
                _two(_first, SUBCLASSES[_sub_name], _path),
                _path,
            )


def _nested(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """A row that is a subclass: rows are written back through list too."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        Calls.n = 0
        row = SetRaises([2, 3])
        rows: list[Any] = [[1], row]
        if path == "exported":
            outcome = attempt(dll.ex_nested, rows)  # adds 10 * i to row i
            want = [12, 13]
        else:
            function = (
                dll.nested_bump
                if path == "inferred"
                else dll.declare("fn nested_bump(v: &mut PyVec<&mut PyVec<i64>>)")
            )
            outcome = attempt(function, rows)  # adds 10 * i + 1 to row i
            want = [13, 14]
        outcome.check(rows[1] is row, "the row lost its identity")
        outcome.check(same_contents(row, want), f"the row holds {real(row)}, expected {want}")
        return outcome.check(Calls.n == 0, f"the row's __setitem__ was called {Calls.n} times")

    return case


for _path in PATHS:
    SUITE.add(f"nested-row-setitem-raises-{_path}", returns(), _nested(_path), _path)


def _swapped(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """Rust swaps two views: each list gets the other's values, through list."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        Calls.n = 0
        a = [1, 2]
        b = SetRaises([7, 8, 9])
        f = (
            dll.swap_views
            if path == "inferred"
            else dll.declare("fn swap_views(a: &mut PyVec<i64>, b: &mut PyVec<i64>)")
        )
        outcome = attempt(f, a, b)
        outcome.check(same_contents(a, [7, 8, 9]) and same_contents(b, [1, 2]), f"a={a}, b={real(b)}")
        return outcome.check(Calls.n == 0, f"__setitem__ was called {Calls.n} times")

    return case


for _path in ("inferred", "declared"):
    SUITE.add(f"swapped-views-setitem-raises-{_path}", returns(None), _swapped(_path), _path)


def _panic(dll: pyo2.RustDLL) -> Outcome:
    Calls.n = 0
    plain = SetRaises([1, 2])
    outcome = attempt(dll.ex_fill_then_panic, plain)
    return outcome.check(Calls.n == 0, f"__setitem__ was called {Calls.n} times")


def _err(dll: pyo2.RustDLL) -> Outcome:
    Calls.n = 0
    lst = SetRaises([1, 2])
    outcome = attempt(dll.ex_fill_then_err, lst)
    outcome.check(
        same_contents(lst, [-1, -1]), f"after Err the list holds {real(lst)}, expected Rust's writes"
    )
    return outcome.check(Calls.n == 0, f"__setitem__ was called {Calls.n} times")


SUITE.add("panic-writes-nothing-exported", raises(pyo2.RustPanic), _panic, "exported")
SUITE.add("err-keeps-writes-exported", raises(pyo2.RustError, unchanged=False), _err, "exported")


def _refused_second(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """The second argument is refused: the first list (converted already) is untouched."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        return attempt(NUMBER_BOTH.get(dll, path), SetRaises([1, 2]), [3, "x"])

    return case


for _path in PATHS:
    SUITE.add(f"second-refused-first-untouched-{_path}", raises(TypeError), _refused_second(_path), _path)


@pytest.mark.parametrize("name", SUITE.names())
def test_write_back(worker: Worker, name: str) -> None:
    SUITE.check(worker, name)
