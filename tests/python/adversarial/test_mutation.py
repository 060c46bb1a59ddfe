"""Class 2: objects changed under pyo2's feet.

- During the conversion, by a side effect of converting a later item (its
  ``__index__`` / ``__float__`` grows, shrinks or clears the list).
- While Rust runs with the GIL released, by another thread (appends to a
  list Rust is writing, resizes a lent bytearray, writes invalid UTF-8 into
  a buffer Rust holds as ``&str``).

The rules: no value is ever lost silently (a list that changed size raises
``RuntimeError`` mentioning "changed size during the call", or keeps both
Rust's values and the new item), a lent buffer can't be resized (the other
thread gets ``BufferError``) and a ``&str`` never holds invalid UTF-8.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

import pytest

import pyo2
from adversarial.harness import (
    ANY,
    PATHS,
    Expect,
    Family,
    Meddler,
    Outcome,
    Suite,
    Worker,
    attempt,
    raises,
    real,
    returns,
)

SUITE = Suite(__name__, "mutation")

DOUBLE_I64 = Family("double_i64", "fn double_i64(v: &mut PyVec<i64>)", "ex_double_i64")
DOUBLE_F64 = Family("double_f64", "fn double_f64(v: &mut PyVec<f64>)", "ex_double")
SEEN_I64 = Family("seen_i64", "fn seen_i64(v: &PyVec<i64>, out: &mut PyVec<i64>)", "ex_seen_i64")
SLEEP_DOUBLE = Family(
    "sleep_then_double", "fn sleep_then_double(v: &mut PyVec<i64>, ms: u64)", "ex_sleep_then_double"
)
SLEEP_BUMP = Family("sleep_then_bump", "fn sleep_then_bump(v: &mut PyVec<u8>, ms: u64)", "ex_sleep_then_bump")
SLEEP_SUM = Family("sleep_then_sum", "fn sleep_then_sum(v: &PyVec<i64>, ms: u64) -> i64", "ex_busy_sum")

#: Raises RuntimeError, or succeeds; the case checks that no value was lost.
RAISES_OR_KEEPS = Expect(raises=RuntimeError, returns=ANY, succeeds=True, unchanged=False)
CHANGED = "changed size during the call"


class Effect:
    """An item whose conversion (``__index__`` and ``__float__``) runs ``effect`` once.

    ``claims`` makes ``isinstance`` see an int or a float, so inference
    takes it too (a declaration takes any ``__index__`` / ``__float__``).
    """

    def __init__(self, value: int, effect: Callable[[], object]) -> None:
        self.value = value
        self.effect: Callable[[], object] | None = effect

    def _fire(self) -> None:
        effect, self.effect = self.effect, None
        if effect is not None:
            effect()

    def __index__(self) -> int:
        self._fire()
        return self.value

    def __float__(self) -> float:
        self._fire()
        return float(self.value)


class IntEffect(Effect):
    __class__ = property(lambda self: int)


class FloatEffect(Effect):
    __class__ = property(lambda self: float)


def _item(kind: str, value: int, effect: Callable[[], object]) -> Any:
    return (IntEffect if kind == "i64" else FloatEffect)(value, effect)


# -- during the conversion -----------------------------------------------------

SIDE_EFFECTS: dict[str, Callable[[list[Any]], object]] = {
    "append": lambda lst: lst.append(100),
    "clear": lambda lst: lst.clear(),
    "pop": lambda lst: lst.pop(0),
    "extend-a-lot": lambda lst: lst.extend(range(1000)),
}


def _during_conversion(effect: str, kind: str, path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    def case(dll: pyo2.RustDLL) -> Outcome:
        family = DOUBLE_I64 if kind == "i64" else DOUBLE_F64
        one: Any = 1 if kind == "i64" else 1.0
        lst: list[Any] = [one, one * 2]
        lst.append(_item(kind, 3, lambda: SIDE_EFFECTS[effect](lst)))
        outcome = attempt(family.get(dll, path), lst)
        items = real(lst)
        if path == "inferred":
            return outcome  # a fake int or float is refused before anything runs
        if effect == "append":
            if not outcome.ok():
                outcome.check(100 in items, f"the item appended during the conversion was dropped: {items}")
            else:
                # Rust saw the list before the append, or after it (converted again).
                ok = items in ([2, 4, 6, 100], [2, 4, 6, 200])
                outcome.check(ok, f"got {items}, expected Rust's values and the new item")
        elif effect == "extend-a-lot":
            outcome.check(len(items) == 1003, f"items added during the conversion were dropped: {len(items)}")
        elif effect == "clear":
            outcome.check(items == [], f"the list cleared during the conversion came back: {items}")
        else:
            # Raised: the pop stands. Returned: Rust saw the list after the pop, [2, 3].
            first = 2 if not outcome.ok() else 4
            outcome.check(len(items) == 2, f"the item removed during the conversion came back: {items}")
            outcome.check(len(items) != 2 or items[0] == first, f"got {items}")
        if outcome.raised is not None and outcome.raised == "RuntimeError":
            outcome.check("changed size" in outcome.message, f"message: {outcome.message!r}")
        return outcome

    return case


for _effect in SIDE_EFFECTS:
    for _kind in ("i64", "f64"):
        for _path in PATHS:
            # Inference takes real ints and floats only: the item that claims to be one is
            # refused. Otherwise: raised, or Rust saw the list as the side effect left it.
            _expect = raises(TypeError) if _path == "inferred" else RAISES_OR_KEEPS
            SUITE.add(
                f"{_effect}-during-conversion-{_kind}-{_path}",
                _expect,
                _during_conversion(_effect, _kind, _path),
                _path,
            )


def _shared_view_conversion(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """A `&` list grown while converted: Rust sees the snapshot, the new item stays."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        lst: list[Any] = [1, 2]
        lst.append(_item("i64", 3, lambda: lst.append(100)))
        function = SEEN_I64.get(dll, path)
        outcome = attempt(function, lst) if path == "exported" else attempt(function, lst, [0, 0])
        if path == "inferred":
            return outcome  # a fake int is refused before anything runs
        items = real(lst)
        outcome.check(len(items) == 4 and items[3] == 100, f"the appended item was dropped: {items}")
        return outcome

    return case


for _path in PATHS:
    SUITE.add(
        f"append-during-conversion-shared-{_path}",
        raises(TypeError) if _path == "inferred" else RAISES_OR_KEEPS,
        _shared_view_conversion(_path),
        _path,
    )


def _nested_conversion(effect: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """An item of a row changes the outer list (appends a row, clears it)."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        rows: list[Any] = [[1, 2], [3]]
        action: Callable[[], object] = (lambda: rows.append([7])) if effect == "append" else rows.clear
        rows[1].append(_item("i64", 4, action))
        outcome = attempt(dll.declare("fn nested_bump(v: &mut PyVec<&mut PyVec<i64>>)"), rows)
        items = real(rows)
        if effect == "append":
            outcome.check(len(items) == 3 and items[2] == [7], f"the appended row was dropped: {items}")
        else:
            outcome.check(items == [], f"the cleared rows came back: {items}")
        return outcome

    return case


SUITE.add("append-row-during-conversion-declared", RAISES_OR_KEEPS, _nested_conversion("append"), "declared")
SUITE.add(
    "clear-rows-during-conversion-declared",
    raises(RuntimeError, False),
    _nested_conversion("clear"),
    "declared",
)


# -- while Rust runs -------------------------------------------------------------

MS = 300  # how long Rust runs; the meddler acts 50 ms in


def _call_slow(dll: pyo2.RustDLL, family: Family, path: str, arg: Any) -> Outcome:
    function = family.get(dll, path)
    if family is SLEEP_SUM and path == "exported":
        return attempt(function, arg, 1)  # ex_busy_sum: not slow, but a & list all the same
    return attempt(function, arg, MS)


def _list_while_running(action: str, path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    def case(dll: pyo2.RustDLL) -> Outcome:
        lst = [1, 2, 3]
        actions: dict[str, Callable[[], object]] = {
            "append": lambda: lst.append(4),
            "clear": lst.clear,
            "pop": lst.pop,
        }
        do = actions[action]
        with Meddler(do) as meddler:
            outcome = _call_slow(dll, SLEEP_DOUBLE, path, lst)
        outcome.check(meddler.runs == 1 and not meddler.errors, f"the meddler failed: {meddler.errors}")
        items = real(lst)
        if outcome.raised == "RuntimeError":
            outcome.check(CHANGED in outcome.message, f"message: {outcome.message!r}")
        if action == "append":
            if outcome.ok():
                outcome.check(items == [2, 4, 6, 4], f"got {items}, expected Rust's values and the new item")
            else:
                outcome.check(4 in items, f"the item appended while Rust ran was dropped: {items}")
        elif action == "clear":
            outcome.check(items == [], f"the list cleared while Rust ran came back: {items}")
        else:
            outcome.check(len(items) == 2, f"the item popped while Rust ran came back: {items}")
        return outcome

    return case


for _action in ("append", "clear", "pop"):
    for _path in PATHS:
        SUITE.add(
            f"{_action}-while-rust-runs-{_path}",
            RAISES_OR_KEEPS if _action == "append" else raises(RuntimeError, False),
            _list_while_running(_action, _path),
            _path,
        )


def _shared_while_running(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    def case(dll: pyo2.RustDLL) -> Outcome:
        lst = [1, 2, 3]
        with Meddler(lambda: lst.append(4)) as meddler:
            outcome = _call_slow(dll, SLEEP_SUM, path, lst)
        if path == "exported":
            meddler.thread.join()  # ex_busy_sum is quick: the append may come after
        items = real(lst)
        outcome.check(items == [1, 2, 3, 4], f"the item appended while Rust read the list was lost: {items}")
        if path != "inferred" and outcome.ok():
            outcome.check(outcome.value == "6", f"Rust saw {outcome.value}, expected the sum 6")
        return outcome

    return case


for _path in PATHS:
    SUITE.add(f"append-while-rust-reads-{_path}", RAISES_OR_KEEPS, _shared_while_running(_path), _path)


def _buffer_while_running(make: str, action: str, path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """Resize (or release) a buffer Rust is writing: the meddler gets BufferError."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        data = bytearray(b"\x01\x02\x03\x04")
        obj: Any = {"bytearray": data, "array": array("B", data), "memoryview": memoryview(data)}[make]
        if action == "release":
            # The memoryview holds the only reference to its bytearray: releasing it
            # while Rust writes must be refused, or keep the bytearray alive.
            obj = memoryview(bytearray(data))
        target: Any = data if make == "memoryview" else obj
        do: Callable[[], object] = {
            "append": lambda: target.append(9),
            "clear": lambda: target.__delitem__(slice(None)),
            "release": obj.release if action == "release" else int,
        }[action]
        with Meddler(do) as meddler:
            outcome = _call_slow(dll, SLEEP_BUMP, path, obj)
        if action == "release":
            ok = meddler.errors in ([], ["BufferError"])
            outcome.check(ok, f"the meddler got {meddler.errors}, expected BufferError or nothing")
            return outcome
        outcome.check(
            meddler.errors == ["BufferError"], f"the meddler got {meddler.errors}, expected BufferError"
        )
        if outcome.ok():
            got = bytes(data) if make != "array" else obj.tobytes()
            outcome.check(got == b"\x02\x03\x04\x05", f"the buffer holds {got!r} after the call")
        return outcome

    return case


for _make, _action in [
    ("bytearray", "append"),
    ("bytearray", "clear"),
    ("array", "append"),
    ("memoryview", "append"),
    ("memoryview", "release"),
]:
    for _path in PATHS:
        SUITE.add(
            f"{_make}-{_action}-while-lent-{_path}",
            returns(),
            _buffer_while_running(_make, _action, _path),
            _path,
        )


def _utf8_race(make: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """Another thread writes invalid UTF-8 into the buffer Rust holds as ``&str``."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        data = bytearray(b"hello world, " * 64)
        obj: Any = {"bytearray": data, "memoryview": memoryview(data), "slice": memoryview(data)[3:200]}[make]

        def flip() -> None:
            data[5] = 0xFF
            data[5] = 0x20

        with Meddler(flip, delay=0.01, repeat=True) as meddler:
            outcome = attempt(dll.ex_utf8_watch, obj, 200)
        outcome.check(meddler.runs > 0, "the meddler never ran")
        outcome.check(not meddler.errors, f"the meddler got {meddler.errors}")
        return outcome

    return case


for _make in ("bytearray", "memoryview", "slice"):
    SUITE.add(f"utf8-flipped-while-rust-reads-{_make}-exported", returns(0), _utf8_race(_make), "exported")


def _utf8_resize(dll: pyo2.RustDLL) -> Outcome:
    """Resizing a bytearray Rust holds as ``&str``: refused, or harmless (Rust has a copy)."""
    data = bytearray(b"hello " * 64)
    with Meddler(lambda: data.extend(b"\xff" * 4096)) as meddler:
        outcome = attempt(dll.ex_utf8_watch, data, 200)
    outcome.check(meddler.errors in ([], ["BufferError"]), f"the meddler got {meddler.errors}")
    return outcome


SUITE.add("utf8-resized-while-rust-reads-exported", returns(0), _utf8_resize, "exported")


@pytest.mark.parametrize("name", SUITE.names())
def test_changed_under_our_feet(worker: Worker, name: str) -> None:
    SUITE.check(worker, name)
