"""python -m pyo2 stubgen: the stubs let mypy flag a call with the wrong types."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

LOADER = """\
from pyo2 import RustDLL

_dll = RustDLL({path!r})


def __getattr__(name: str) -> object:
    return _dll[name]
"""

GOOD = """\
from __future__ import annotations

import fixture_lib

total: int = fixture_lib.ex_add_u8(1, 2)
greeting: str = fixture_lib.ex_greet("you")
found: int | None = fixture_lib.ex_find("hay", "a")
numbers: list[int] = fixture_lib.ex_range(3)
rows = [[1, 2], [3]]
count: int = fixture_lib.ex_nested(rows)
halves: list[float] = fixture_lib.ex_halves(2)
fixture_lib.ex_double([1.0, 2.0])
fixture_lib.plain_twice(21)
print(total, greeting, found, numbers, count, halves, rows)
"""


def stubgen(fixture_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyo2", "stubgen", str(fixture_path), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


@pytest.fixture
def module(fixture_path: Path, tmp_path: Path) -> Path:
    """A module fixture_lib (.py loader + generated .pyi) in tmp_path."""
    result = stubgen(fixture_path, "-o", str(tmp_path / "fixture_lib.pyi"))
    assert result.returncode == 0, result.stderr
    (tmp_path / "fixture_lib.py").write_text(LOADER.format(path=str(fixture_path)))
    return tmp_path


def mypy(directory: Path, script: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy is not installed for this Python (it does not run on PyPy)")
    (directory / "use.py").write_text(script)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "use.py"],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
    )


def test_the_stub_has_the_rust_types(module: Path) -> None:
    text = (module / "fixture_lib.pyi").read_text()
    assert "def ex_add_u8(a: int, b: int) -> int:" in text
    assert "def ex_greet(name: str | bytes | bytearray) -> str:" in text
    assert (
        "def ex_find(haystack: str | bytes | bytearray, needle: str | bytes | bytearray) -> int | None:"
        in text
    )
    assert "def ex_one_word(s: str | bytes | bytearray) -> str | None:" in text
    assert "def ex_nested(rows: list[list[int]]) -> int:" in text
    assert "def ex_lengths(words: list[str] | list[bytes]) -> list[int]:" in text
    assert "def plain_twice(*args: Any) -> None:" in text
    assert (
        "fn ex_parse(s: &str) -> Result<i64, ParseIntError>" in text
    )  # the Rust signature, in the docstring


def test_mypy_accepts_right_calls_and_the_module_runs(module: Path) -> None:
    checked = mypy(module, GOOD)
    assert checked.returncode == 0, checked.stdout
    ran = subprocess.run([sys.executable, "use.py"], capture_output=True, text=True, check=True, cwd=module)
    assert ran.stdout.strip() == "3 Hello, you! 1 [0, 1, 2] 3 [0.0, 0.5] [[1, 2], [13]]"


@pytest.mark.parametrize(
    ("call", "complaint"),
    [
        (
            'fixture_lib.ex_add_u8("1", 2)',
            'Argument 1 to "ex_add_u8" has incompatible type "str"; expected "int"',
        ),
        ("fixture_lib.ex_greet(42)", 'Argument 1 to "ex_greet" has incompatible type "int"'),
        (
            "x: str = fixture_lib.ex_range(3)",
            'Incompatible types in assignment (expression has type "list[int]"',
        ),
        ("fixture_lib.ex_sum([1.5])", 'List item 0 has incompatible type "float"; expected "int"'),
    ],
)
def test_mypy_flags_a_wrong_typed_call(module: Path, call: str, complaint: str) -> None:
    checked = mypy(module, f"import fixture_lib\n\n{call}\n")
    assert checked.returncode == 1
    assert complaint in checked.stdout, checked.stdout


def test_stubgen_reports_a_missing_library(tmp_path: Path) -> None:
    result = stubgen(tmp_path / "nope.so")
    assert result.returncode == 1
    assert "no such file" in result.stderr


def test_the_stub_is_python_and_names_what_it_leaves_out(module: Path) -> None:
    """Every stub compiles; a function whose descriptor is unreadable (here
    from another ABI version) is a comment saying why, not a missing line."""
    text = (module / "fixture_lib.pyi").read_text(encoding="utf-8")
    compile(text, "fixture_lib.pyi", "exec")
    assert "# 'ex_future' is not in this stub: unreadable descriptor:" in text
    assert "ABI version 2" in text
    assert "def ex_future(" not in text
