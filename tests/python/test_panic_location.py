"""A panic's location reaches Python (``RustPanic.file``/``line``/``column``),
and Rust's panic hook is quiet for panics pyo2 catches unless
``PYO2_PANIC_OUTPUT=1`` (tests/fixture/src/exported.rs, panics.rs)."""

from __future__ import annotations

import ctypes
import pickle
import re
import textwrap
from typing import TYPE_CHECKING

import pytest

import pyo2
from pyo2 import _abi
from pyo2._types import CPyVec
from support import ROOT, run_python

if TYPE_CHECKING:
    from pathlib import Path

EXPORTED = ROOT / "tests" / "fixture" / "src" / "exported.rs"
#: The file name Rust reports: relative to the workspace root.
EXPORTED_NAME = EXPORTED.relative_to(ROOT).as_posix()


def located(needle: str) -> tuple[int, int]:
    """The 1-based (line, column) of the first line of exported.rs holding
    ``needle``, the column being that of ``needle`` on it."""
    for number, text in enumerate(EXPORTED.read_text(encoding="utf-8").splitlines(), 1):
        if needle in text:
            return number, text.index(needle) + 1
    raise AssertionError(f"{needle!r} is not in {EXPORTED}")


# ---------------------------------------------------------------------------
# The location, in process.


def test_a_panic_carries_its_file_line_and_column(dll: pyo2.RustDLL) -> None:
    with pytest.raises(pyo2.RustPanic) as info:
        dll.ex_panic("custom message é")
    e = info.value
    line, column = located('panic!("{message}")')
    assert (e.message, e.function) == ("custom message é", "ex_panic")
    assert (e.file, e.line, e.column) == (EXPORTED_NAME, line, column)
    assert e.location == f"{EXPORTED_NAME}:{line}:{column}"
    assert str(e) == f"custom message é (at {EXPORTED_NAME}:{line}:{column})"
    assert e.file is not None and (ROOT / e.file).resolve() == EXPORTED.resolve()


def test_a_track_caller_panic_is_located_in_the_users_code(dll: pyo2.RustDLL) -> None:
    """Indexing out of bounds panics inside core, but reports the caller's line."""
    with pytest.raises(pyo2.RustPanic) as info:
        dll.ex_index([1, 2, 3], 5)
    e = info.value
    assert e.message == "index out of bounds: the len is 3 but the index is 5"
    assert (e.file, e.line, e.column) == (EXPORTED_NAME, *located("v[i]"))


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda dll: dll.ex_panic_any(), "std::panic::panic_any(42_u32)"),
        (lambda dll: dll.ex_fill_then_panic([1, 2]), 'panic!("gave up after writing")'),
        (lambda dll: dll.ex_panic_payload_drop_panics([1]), "std::panic::panic_any(PanickyPayload)"),
    ],
    ids=["panic_any", "after-writing-a-list", "payload-drop-panics"],
)
def test_every_kind_of_panic_is_located(dll: pyo2.RustDLL, call: object, needle: str) -> None:
    """A non-string payload too; and for a payload whose destructor panics,
    it is the function's panic that is reported, not the destructor's."""
    with pytest.raises(pyo2.RustPanic) as info:
        call(dll)  # type: ignore[operator]
    e = info.value
    assert (e.file, e.line, e.column) == (EXPORTED_NAME, *located(needle))
    assert str(e) == f"{e.message} (at {e.location})"


def test_errors_have_no_location(dll: pyo2.RustDLL) -> None:
    with pytest.raises(pyo2.RustError) as info:
        dll.ex_parse("x")
    assert str(info.value) == "invalid digit found in string"
    assert not hasattr(info.value, "location")


def test_the_location_survives_pickling(dll: pyo2.RustDLL) -> None:
    with pytest.raises(pyo2.RustPanic) as info:
        dll.ex_panic("m")
    e = pickle.loads(pickle.dumps(info.value))
    assert type(e) is pyo2.RustPanic
    assert (e.message, e.function, e.file, e.line, e.column) == (
        "m",
        "ex_panic",
        EXPORTED_NAME,
        *located('panic!("{message}")'),
    )
    assert str(e) == str(info.value)


def test_a_panic_without_a_location_is_the_bare_message() -> None:
    """What a library built with an older pyo2 gives: no location."""
    e = pyo2.RustPanic("boom", "f")
    assert (str(e), e.message, e.function) == ("boom", "boom", "f")
    assert (e.file, e.line, e.column, e.location) == (None, None, None, None)
    e = pickle.loads(pickle.dumps(e))
    assert (str(e), e.location) == ("boom", None)


# ---------------------------------------------------------------------------
# The format on the wire.


def test_the_message_buffer_holds_the_message_then_the_location(fixture_path: Path) -> None:
    """The raw bytes, as any loader sees them: UTF-8 (so a loader that predates
    the format shows the location as part of the message), the message, then
    ``\\0pyo2-location\\0FILE\\0LINE\\0COLUMN``."""
    raw = ctypes.CDLL(str(fixture_path)).ex_panic
    raw.restype = ctypes.c_int32
    raw.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    data = ctypes.create_string_buffer(b"a\0b", 3)
    header = CPyVec(ctypes.addressof(data), 3)
    slot = _abi.CSlot()
    assert raw(ctypes.addressof(header), ctypes.addressof(slot)) == _abi.PANIC
    text = ctypes.string_at(slot.buf.ptr, slot.buf.len).decode("utf-8")
    _abi._free(slot.buf)
    line, column = located('panic!("{message}")')
    assert text == f"a\0b\0pyo2-location\0{EXPORTED_NAME}\0{line}\0{column}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m\0pyo2-location\0src/lib.rs\x0012\x005", ("m", ("src/lib.rs", 12, 5))),
        # The message may hold NULs and the marker itself: the last one counts.
        (
            "a\0pyo2-location\0x\x001\x002\0pyo2-location\0f.rs\x003\x004",
            ("a\0pyo2-location\0x\x001\x002", ("f.rs", 3, 4)),
        ),
        ("", ("", None)),
        ("no location", ("no location", None)),
        ("a\0b", ("a\0b", None)),
        # Anything else after the marker is part of the message.
        ("m\0pyo2-location\0f.rs\x0012", ("m\0pyo2-location\0f.rs\x0012", None)),
        ("m\0pyo2-location\0f.rs\x001x\x002", ("m\0pyo2-location\0f.rs\x001x\x002", None)),
        # Decimal, but not ASCII (ARABIC-INDIC DIGIT ONE): not a line number.
        ("m\0pyo2-location\0f.rs\x00\u0661\x002", ("m\0pyo2-location\0f.rs\x00\u0661\x002", None)),
        ("m\0pyo2-location\0f\x001\x002\x003", ("m\0pyo2-location\0f\x001\x002\x003", None)),
    ],
)
def test_split_location(text: str, expected: tuple[str, tuple[str, int, int] | None]) -> None:
    assert _abi.split_location(text) == expected


# ---------------------------------------------------------------------------
# Rust's panic hook output, in a fresh interpreter each.

CAUGHT = """
    import pyo2

    dll = pyo2.RustDLL({path!r})
    for call in (lambda: dll.ex_panic("custom message"), lambda: dll.ex_index([1], 3)):
        try:
            call()
        except pyo2.RustPanic as e:
            print(e.location)
        else:
            raise AssertionError("no RustPanic")
    try:
        dll.ex_panic_payload_drop_panics([1])
    except pyo2.RustPanic:
        pass
    print("done")
"""


def _run(code: str, fixture_path: Path) -> tuple[str, str]:
    result = run_python(textwrap.dedent(code.format(path=str(fixture_path))))
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    return result.stdout, result.stderr


@pytest.mark.parametrize("value", [None, "0", "", "yes"])
def test_caught_panics_print_nothing_by_default(
    fixture_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("PYO2_PANIC_OUTPUT", raising=False)
    else:
        monkeypatch.setenv("PYO2_PANIC_OUTPUT", value)
    stdout, stderr = _run(CAUGHT, fixture_path)
    assert stdout.splitlines()[-1] == "done"
    line, column = located('panic!("{message}")')
    assert stdout.splitlines()[0] == f"{EXPORTED_NAME}:{line}:{column}"
    assert stderr == ""


def test_pyo2_panic_output_1_prints_caught_panics(
    fixture_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYO2_PANIC_OUTPUT", "1")
    stdout, stderr = _run(CAUGHT, fixture_path)
    assert stdout.splitlines()[-1] == "done"
    line, column = located('panic!("{message}")')
    # Rust's own hook, with the location (and the destructor's panic too).
    at = re.escape(f"{EXPORTED_NAME}:{line}:{column}")
    assert re.search(rf"panicked at {at}:\ncustom message\n", stderr), stderr
    assert "index out of bounds: the len is 1 but the index is 3" in stderr
    assert "the payload's destructor panicked" in stderr
    assert stderr.count("panicked at") == 4


THREAD = """
    import pyo2

    dll = pyo2.RustDLL({path!r})
    assert dll.ex_panic_in_a_thread("in a user thread") is True
    try:
        dll.ex_panic("caught")
    except pyo2.RustPanic:
        pass
    print("done")
"""


def test_a_panic_outside_pyo2_calls_still_prints(fixture_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread the library spawns is not inside the call: Rust's hook reports
    its panic as before; the caught one stays quiet."""
    monkeypatch.delenv("PYO2_PANIC_OUTPUT", raising=False)
    stdout, stderr = _run(THREAD, fixture_path)
    assert stdout == "done\n"
    assert "panicked at tests/fixture/src/panics.rs:" in stderr and "\nin a user thread\n" in stderr, stderr
    assert stderr.count("panicked at") == 1 and "caught" not in stderr
