"""Panics whose payload's destructor panics too (tests/fixture/src/exported.rs):
pyo2's boundary must contain them instead of aborting the process. Each case
runs in a fresh interpreter, so an abort fails the test rather than the run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from support import run_python

CODE = """
    import pyo2

    dll = pyo2.RustDLL({path!r})
    for attempt in range(3):
        values = [1, 2, 3]
        try:
            dll.{name}(values)
        except pyo2.RustPanic as e:
            assert "not a string" in str(e), str(e)
        else:
            raise AssertionError("no RustPanic")
        assert values == [1, 2, 3], values  # nothing written back after a panic
        # The library still works: the next calls go through.
        assert dll.ex_add_u8(250, 10) == 4
        assert dll.ex_greet("again") == "Hello, again!"
    print("contained")
"""


@pytest.mark.parametrize(
    "name",
    [
        # The payload's destructor panics once, with a plain message.
        "ex_panic_payload_drop_panics",
        # Its destructor panics with a payload whose destructor panics, and so on.
        "ex_panic_payload_drop_panics_forever",
    ],
)
def test_a_payload_whose_destructor_panics_is_a_rust_panic(
    fixture_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYO2_PANIC_OUTPUT", "1")  # caught panics are quiet otherwise
    result = run_python(textwrap.dedent(CODE.format(path=str(fixture_path), name=name)))
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.strip() == "contained"
    # Rust's hook reported both panics: the function's and the destructor's.
    assert "the payload's destructor panicked" in result.stderr or name.endswith("forever")
    assert result.stderr.count("panicked at") >= 2
