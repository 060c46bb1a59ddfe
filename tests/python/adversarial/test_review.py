"""Holes found by a hostile review (cases the other classes don't cover).

- Write-back: a finalizer of an item the write-back of one list drops runs
  between two lists' assignments: it can change the next list (its change
  is then silently overwritten) or raise ``KeyboardInterrupt`` (one list
  written, the other not).
- Conversion: an item's ``__index__`` that *replaces* an item (same size)
  goes unnoticed, and Rust's values overwrite it; ``__index__`` runs more
  than once per item (its side effects twice).
- Buffers: a numpy array whose dtype has no buffer format escapes as numpy's
  ``ValueError``; a bytearray shrunk by a later argument's conversion
  escapes as ctypes' ``ValueError``, naming no function.
- Loading: ``RustDLL`` on a FIFO blocks in ``dlopen()`` (with the GIL held);
  on a truncated ELF (a build half written) the loader dies of ``SIGBUS``.
"""

from __future__ import annotations

import _thread
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pytest

import pyo2
from adversarial.harness import (
    PATHS,
    Expect,
    Family,
    Outcome,
    Suite,
    Worker,
    attempt,
    need_numpy,
    raises,
    real,
)

SUITE = Suite(__name__, "review")

NUMBER_BOTH = Family(
    "number_both", "fn number_both(a: &mut PyVec<i64>, b: &mut PyVec<i64>)", "ex_number_both"
)
DOUBLE_I64 = Family("double_i64", "fn double_i64(v: &mut PyVec<i64>)", "ex_double_i64")
BUMP = Family("sleep_then_bump", "fn sleep_then_bump(v: &mut PyVec<u8>, ms: u64)", "ex_sleep_then_bump")

#: Raises RuntimeError (nothing written), or returns; the case checks nothing was lost.
RAISES_OR_KEEPS = Expect(raises=RuntimeError, returns=None, succeeds=True, unchanged=False)


# -- write-back: finalizers between two lists' assignments ------------------------


def _finalizer_appends(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """The old item of list ``a`` appends to list ``b`` when write-back drops it."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        b = [1, 2]

        class Appends(int):
            def __del__(self) -> None:
                b.append(99)

        a = [Appends(5), 6]
        outcome = attempt(NUMBER_BOTH.get(dll, path), a, b)
        items = real(b)
        outcome.check(99 in items, f"the item a finalizer appended during write-back was lost: b = {items}")
        return outcome

    return case


class _Interrupts(int):
    # A C function as __del__: called with no arguments, and no Python frame of
    # its own sees the KeyboardInterrupt, which surfaces in pyo2's next bytecode.
    __del__ = _thread.interrupt_main


def _interrupted(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """``KeyboardInterrupt`` while the write-back assigns: both lists or neither."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        a: list[Any] = [_Interrupts(5), 6]
        b = [1, 2]
        function = NUMBER_BOTH.get(dll, path)
        outcome = Outcome()
        try:
            function(a, b)
            for _ in range(3):  # let a pending interrupt surface here, not in the checks
                pass
        except KeyboardInterrupt:
            outcome.raised = "KeyboardInterrupt"
        written = [real(a) == [100, 101], real(b) == [100, 101]]
        outcome.check(written[0] == written[1], f"write-back stopped half way: a = {real(a)}, b = {real(b)}")
        outcome.value = "None"
        return outcome

    return case


for _path in PATHS:
    SUITE.add(f"finalizer-appends-to-next-list-{_path}", RAISES_OR_KEEPS, _finalizer_appends(_path), _path)
    SUITE.add(
        f"keyboardinterrupt-between-two-lists-{_path}",
        Expect(raises=KeyboardInterrupt, returns=None, succeeds=True, unchanged=False),
        _interrupted(_path),
        _path,
    )


# -- conversion: items replaced, and __index__ called more than once --------------------


class _Effect:
    """An ``__index__`` that runs ``effect`` once and counts its calls."""

    def __init__(self, value: int, effect: Callable[[], object] | None = None) -> None:
        self.value = value
        self.effect = effect
        self.calls = 0

    def __index__(self) -> int:
        self.calls += 1
        effect, self.effect = self.effect, None
        if effect is not None:
            effect()
        return self.value


def _replaced(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """Converting the last item replaces the first (same size): RuntimeError, the new item kept."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        lst: list[Any] = [1, 2]
        lst.append(_Effect(3, lambda: lst.__setitem__(0, 50)))
        outcome = attempt(DOUBLE_I64.get(dll, path), lst)
        items = real(lst)
        outcome.check(items[0] == 50, f"the item set during the conversion was overwritten: {items}")
        return outcome

    return case


def _row_replaced(dll: pyo2.RustDLL) -> Outcome:
    """The same, in another row of a list of lists."""
    rows: list[Any] = [[1, 2], [3]]
    rows[1].append(_Effect(4, lambda: rows[0].__setitem__(0, 50)))
    outcome = attempt(dll.declare("fn nested_bump(v: &mut PyVec<&mut PyVec<i64>>)"), rows)
    row = real(rows[0])
    outcome.check(row[0] == 50, f"the item set during the conversion was overwritten: row 0 = {row}")
    return outcome


def _converted_once(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """A refused list with a user item: OverflowError for the bad item. (The
    README's rule: ``__index__`` may run more than once, as a failed fast
    conversion is redone item by item to name the bad one.)"""

    def case(dll: pyo2.RustDLL) -> Outcome:
        item = _Effect(3)
        outcome = attempt(DOUBLE_I64.get(dll, path), [item, 2**64])
        outcome.check("item [1]" in outcome.message, f"message: {outcome.message!r}")
        return outcome.check(item.calls >= 1, f"__index__ was called {item.calls} times")

    return case


def _side_effect_once(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """An ``__index__`` that appends on every call: RuntimeError before Rust
    runs, the appended items kept."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        lst: list[Any] = [1]

        class Appends:
            def __index__(self) -> int:
                lst.append(7)
                return 1

        lst.append(Appends())
        outcome = attempt(DOUBLE_I64.get(dll, path), lst)
        n = len(real(lst))
        outcome.check(n >= 3 and real(lst)[2:] == [7] * (n - 2), f"the list is {real(lst)}")
        outcome.check("changed size" in outcome.message, f"message: {outcome.message!r}")
        return outcome

    return case


for _path in ("declared", "exported"):
    SUITE.add(
        f"item-replaced-during-conversion-{_path}", raises(RuntimeError, False), _replaced(_path), _path
    )
    SUITE.add(f"index-called-once-on-refusal-{_path}", raises(OverflowError), _converted_once(_path), _path)
    SUITE.add(f"index-side-effect-once-{_path}", raises(RuntimeError, False), _side_effect_once(_path), _path)
SUITE.add(
    "row-item-replaced-during-conversion-declared", raises(RuntimeError, False), _row_replaced, "declared"
)


# -- buffers ---------------------------------------------------------------------------------


def _datetime(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """A numpy array with no buffer format: TypeError naming the function, like any unsupported object."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        np = need_numpy()
        outcome = attempt(BUMP.get(dll, path), np.zeros(3, dtype="M8[s]"), 0)
        return outcome.check("sleep_then_bump()" in outcome.message, f"message: {outcome.message!r}")

    return case


def _shrunk(path: str) -> Callable[[pyo2.RustDLL], Outcome]:
    """A later argument's ``__index__`` shrinks the bytearray already inspected:
    refused as a list changed while converted is (RuntimeError naming the function)."""

    def case(dll: pyo2.RustDLL) -> Outcome:
        data = bytearray(16)
        outcome = attempt(BUMP.get(dll, path), data, _Effect(0, lambda: data.__delitem__(slice(2, None))))
        return outcome.check("sleep_then_bump()" in outcome.message, f"message: {outcome.message!r}")

    return case


for _path in PATHS:
    SUITE.add(f"numpy-datetime-buffer-{_path}", raises(TypeError), _datetime(_path), _path)
for _path in ("declared", "exported"):
    SUITE.add(
        f"bytearray-shrunk-by-later-argument-{_path}", raises(RuntimeError, False), _shrunk(_path), _path
    )


# -- loading ---------------------------------------------------------------------------------


def _fifo(dll: pyo2.RustDLL) -> Outcome:
    """A FIFO is not a library: OSError at once, without opening it (dlopen()
    would block until a writer comes; a child process comes after 2 s)."""
    directory = tempfile.mkdtemp()
    try:
        fifo = os.path.join(directory, "libfifo.so")
        os.mkfifo(fifo)
        opener = "import os, sys, time; time.sleep(2); os.close(os.open(sys.argv[1], os.O_WRONLY))"
        child = subprocess.Popen([sys.executable, "-c", opener, fifo])
        start = time.monotonic()
        outcome = attempt(pyo2.RustDLL, fifo)
        waited = time.monotonic() - start
        child.kill()
        child.wait()
        outcome.check(waited < 1, f"RustDLL() blocked {waited:.1f} s opening the FIFO (holding the GIL)")
        return outcome
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _truncated(dll: pyo2.RustDLL) -> Outcome:
    """The first KiB of the library (a build half written): OSError, not SIGBUS in dlopen()."""
    directory = tempfile.mkdtemp()
    try:
        with open(pyo2.library_path(dll), "rb") as f:
            head = f.read(1024)
        path = os.path.join(directory, "libtruncated.so")
        with open(path, "wb") as f:
            f.write(head)
        return attempt(pyo2.RustDLL, path)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


SUITE.add("rustdll-on-a-fifo", raises(OSError), _fifo, "load")
SUITE.add("rustdll-on-a-truncated-elf", raises(OSError), _truncated, "load")


@pytest.mark.parametrize("name", SUITE.names())
def test_review(worker: Worker, name: str) -> None:
    SUITE.check(worker, name)
