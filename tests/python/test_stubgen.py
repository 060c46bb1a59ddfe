"""python -m pyo2 stubgen: the stubs let mypy flag a call with the wrong types."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

LOADER = """\
from pyo2 import RustDLL

_dll = RustDLL({path!r})


def __getattr__(name: str) -> object:
    if name in _dll.types.classes():  # a #[pyo2::class]
        return _dll.types[name]
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


# Wrong calls, each with what mypy must say about it.
WRONG_CALLS = [
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
    ('fixture_lib.ex_sum_f64(bytearray(b"12345678"))', 'incompatible type "bytearray"'),
    ('fixture_lib.ex_double(b"12345678")', 'incompatible type "bytes"'),
    (
        'fixture_lib.ex_copy_into(b"ab", b"cd")',
        'Argument 1 to "ex_copy_into" has incompatible type "bytes"',
    ),
    ("fixture_lib.ex_count_true([1, 0])", 'List item 0 has incompatible type "int"; expected "bool"'),
    ("fixture_lib.ex_find(hay='a', needle='b')", 'Unexpected keyword argument "hay" for "ex_find"'),
]
WRONG_OBJECT_USES = [
    ("fixture_lib.Tokenizer(1)", 'Argument 1 to "Tokenizer" has incompatible type "int"'),
    (
        'x: str = fixture_lib.Tokenizer("builtin").seen',
        'Incompatible types in assignment (expression has type "int", variable has type "str")',
    ),
    ('fixture_lib.Tokenizer("builtin").seen = 3', 'Property "seen" defined in "Tokenizer" is read-only'),
    (
        'fixture_lib.Tokenizer("builtin").encode()',
        'Missing positional argument "text" in call to "encode"',
    ),
    ("fixture_lib.Counter(1).add(1.5)", 'Argument 1 to "add" of "Counter" has incompatible type "float"'),
    ('fixture_lib.scan("x", lambda i: True)', 'Argument 2 to "scan" has incompatible type'),
    ('fixture_lib.scan("x", print)', 'Argument 2 to "scan" has incompatible type'),
    ("x: list[str] = list(fixture_lib.count_to(3))", 'Argument 1 to "list" has incompatible type'),
]


@pytest.fixture(scope="module")
def wrong_uses(fixture_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What mypy says about each wrong call (by call), from one mypy run over
    all of them: each call in a function of its own, so each is reported on
    its own line (a mypy run per call costs a second or two each)."""
    directory = tmp_path_factory.mktemp("wrong_uses")
    result = stubgen(fixture_path, "-o", str(directory / "fixture_lib.pyi"))
    assert result.returncode == 0, result.stderr
    (directory / "fixture_lib.py").write_text(LOADER.format(path=str(fixture_path)))
    calls = [call for call, _ in WRONG_CALLS + WRONG_OBJECT_USES]
    script = "import fixture_lib\n" + "".join(
        f"\n\ndef case_{i}() -> None:\n    {c}\n" for i, c in enumerate(calls)
    )
    line_of = {line.strip(): n for n, line in enumerate(script.splitlines(), 1) if line.startswith("    ")}
    assert len(line_of) == len(calls)
    checked = mypy(directory, script)
    assert checked.returncode == 1, checked.stdout
    said: dict[int, list[str]] = {}
    for line in checked.stdout.splitlines():
        found = re.match(r"use\.py:(\d+): (.*)", line)
        if found:
            said.setdefault(int(found[1]), []).append(found[2])
    return {call: "\n".join(said.get(line_of[call], [])) for call in calls}


def test_the_stub_has_the_rust_types(module: Path) -> None:
    """Each parameter promises the Python types pyo2 accepts for it, and no
    other (test_bindgen.py calls each function with a value of each)."""
    text = (module / "fixture_lib.pyi").read_text()
    assert "def ex_add_u8(a: int, b: int) -> int:" in text
    assert "def ex_greet(name: str | bytes | bytearray | memoryview) -> str:" in text
    assert (
        "def ex_find(haystack: str | bytes | bytearray | memoryview, "
        "needle: str | bytes | bytearray | memoryview) -> int | None:" in text
    )
    assert "def ex_one_word(s: str | bytes | bytearray | memoryview) -> str | None:" in text
    assert "def ex_nested(rows: list[list[int]] | list[array[int]]) -> int:" in text
    assert (
        "def ex_lengths(words: list[str] | list[bytes] | list[bytearray] | list[memoryview]"
        " | list[list[int]] | list[array[int]]) -> list[int]:" in text
    )
    # Numbers: a list or an array of their kind, never bytes.
    assert "def ex_sum_f64(v: list[float] | array[float]) -> float:" in text
    assert "def ex_double(v: list[float] | array[float]) -> None:" in text
    assert "def ex_sum(v: list[int] | array[int]) -> int:" in text
    assert "def ex_count_true(v: list[bool]) -> int:" in text
    # u8: bytes too, but a &mut one nothing immutable.
    assert "def ex_sum_u8(v: str | bytes | bytearray | memoryview | list[int] | array[int]) -> int:" in text
    assert (
        "def ex_copy_into(a: bytearray | memoryview | list[int] | array[int], "
        "b: str | bytes | bytearray | memoryview | list[int] | array[int]) -> int:" in text
    )
    assert "def plain_twice(*args: Any) -> None:" in text
    assert (
        "fn ex_parse(s: &str) -> Result<i64, ParseIntError>" in text
    )  # the Rust signature, in the docstring


def test_mypy_accepts_right_calls_and_the_module_runs(module: Path) -> None:
    checked = mypy(module, GOOD)
    assert checked.returncode == 0, checked.stdout
    ran = subprocess.run([sys.executable, "use.py"], capture_output=True, text=True, check=True, cwd=module)
    assert ran.stdout.strip() == "3 Hello, you! 1 [0, 1, 2] 3 [0.0, 0.5] [[1, 2], [13]]"


@pytest.mark.parametrize(("call", "complaint"), WRONG_CALLS)
def test_mypy_flags_a_wrong_typed_call(wrong_uses: dict[str, str], call: str, complaint: str) -> None:
    assert complaint in wrong_uses[call], wrong_uses[call]


def test_stubgen_reports_a_missing_library(tmp_path: Path) -> None:
    result = stubgen(tmp_path / "nope.so")
    assert result.returncode == 1
    assert "no such file" in result.stderr


def cli(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CARGO_TARGET_DIR", "PYO2_FIXTURE")}
    return subprocess.run(
        [sys.executable, "-m", "pyo2", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**environ, **env},
    )


@pytest.mark.parametrize("name", ["pyo2-fixture", "pyo2_fixture"])
def test_inspect_and_stubgen_take_a_crate_or_lib_name(fixture_path: Path, tmp_path: Path, name: str) -> None:
    """A LIB without a directory that is not a file is found as RustDLL.find
    finds it: here through $CARGO_TARGET_DIR, from a directory elsewhere."""
    env = {"CARGO_TARGET_DIR": str(fixture_path.parent.parent)}
    inspected = cli("inspect", name, cwd=tmp_path, **env)
    assert re.search(
        rf"^{re.escape(str(fixture_path))}: \d+ exported", inspected.stdout, re.M
    )  # names the file found
    assert "fn ex_add_u8(a: u8, b: u8) -> u8" in inspected.stdout
    stubbed = cli("stubgen", name, cwd=tmp_path, **env)
    assert stubbed.returncode == 0, stubbed.stderr
    assert "# Generated by `python -m pyo2 stubgen libpyo2_fixture.so`" in stubbed.stdout
    assert "def ex_add_u8(a: int, b: int) -> int:" in stubbed.stdout


@pytest.mark.parametrize("command", ["inspect", "stubgen"])
def test_a_name_that_finds_nothing_says_what_was_tried(tmp_path: Path, command: str) -> None:
    result = cli(command, "no-such-crate", cwd=tmp_path, CARGO_TARGET_DIR=str(tmp_path / "target"))
    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        f"pyo2 {command}: 'no-such-crate' is not a file, so it was taken as a crate or lib name: "
        "found no Rust library 'no-such-crate'" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_path_is_never_taken_as_a_name(fixture_path: Path, tmp_path: Path) -> None:
    """With a directory part, LIB is a path even when a crate has that name;
    a bare name that is a file in the current directory is that file."""
    result = cli("inspect", "./pyo2-fixture", CARGO_TARGET_DIR=str(fixture_path.parent.parent))
    assert result.returncode == 1
    assert "pyo2 inspect: can't load the Rust library: no such file: ./pyo2-fixture" in result.stderr
    local = tmp_path / "pyo2-fixture"
    local.write_bytes(fixture_path.read_bytes())
    here = cli("inspect", "pyo2-fixture", cwd=tmp_path, CARGO_TARGET_DIR=str(tmp_path / "none"))
    assert re.match(rf"{re.escape(os.path.join(os.curdir, 'pyo2-fixture'))}: \d+ exported", here.stdout), (
        here.stderr
    )


def test_the_stub_is_python_and_names_what_it_leaves_out(module: Path) -> None:
    """Every stub compiles; a function whose descriptor is unreadable (here
    from another ABI version) is a comment saying why, not a missing line."""
    text = (module / "fixture_lib.pyi").read_text(encoding="utf-8")
    compile(text, "fixture_lib.pyi", "exec")
    assert "# 'ex_future' is not in this stub: unreadable descriptor:" in text
    assert "ABI version 3" in text
    assert "def ex_future(" not in text


def test_the_stub_has_the_classes_iterators_and_callbacks(module: Path) -> None:
    """#[pyo2::class]es with their constructor, methods, getters (properties),
    static methods, close and `with`; Iter<T> returns; callback parameters."""
    text = (module / "fixture_lib.pyi").read_text(encoding="utf-8")
    assert "from collections.abc import Callable, Iterator\n" in text
    assert "class Tokenizer:\n" in text
    start = text.index("class Tokenizer:")
    tokenizer = text[start : text.index("\ndef ", start)]
    assert "    def __init__(self, path: str | bytes | bytearray | memoryview) -> None:\n" in tokenizer
    assert '        """fn new(path: &str) -> Result<Self, Error>\n' in tokenizer
    assert "    def encode(self, text: str | bytes | bytearray | memoryview) -> list[int]:\n" in tokenizer
    assert "    @property\n    def seen(self) -> int:\n" in tokenizer
    assert "    def tokens(self) -> Iterator[str]:\n" in tokenizer
    assert "    @staticmethod\n    def builtin_size() -> int:\n" in tokenizer
    assert (
        "    def each(self, text: str | bytes | bytearray | memoryview, "
        "on_word: Callable[[int, str], bool]) -> int:\n" in tokenizer
    )
    assert "    def close(self) -> None:\n" in tokenizer
    assert "    def __enter__(self) -> Tokenizer: ...\n" in tokenizer
    assert "    def __exit__(self, *exc: object) -> None: ...\n" in tokenizer
    assert "Splits text into known words" in tokenizer  # the struct's doc comment
    counter = text[text.index("class Counter:") : start]
    assert "    def peek(self, f: Callable[[int], object]) -> None:\n" in counter  # () returns: anything
    assert "    def range(self) -> Iterator[int]:\n" in counter
    assert (
        "def scan(text: str | bytes | bytearray | memoryview, on_hit: Callable[[int, str], bool]) -> int:\n"
        in text
    )
    assert "def set_logger(log: Callable[[str], object]) -> None:\n" in text
    assert "def call_with(f: Callable[[int, bool, str], int]) -> int:\n" in text
    assert "def count_to(n: int) -> Iterator[int]:\n" in text
    assert "def iter_words(text: str | bytes | bytearray | memoryview) -> Iterator[str]:\n" in text


OBJECTS = """\
from __future__ import annotations

import fixture_lib

with fixture_lib.Tokenizer("builtin") as tok:
    ids: list[int] = tok.encode("the lazy cat")
    seen: int = tok.seen
    first: list[str] = list(tok.tokens())[:2]
size: int = fixture_lib.Tokenizer.builtin_size()
counter = fixture_lib.Counter(5)
counter.add(2)
squares: list[int] = [n * n for n in counter.range()]
counter.close()
words: list[str] = []


def on_hit(index: int, word: str) -> bool:
    words.append(word)
    return True


hits: int = fixture_lib.scan("xa b xc", on_hit)
print(ids, seen, first, size, squares, hits, words, list(fixture_lib.count_to(3)))
"""


def test_mypy_accepts_objects_and_callbacks_and_the_module_runs(module: Path) -> None:
    checked = mypy(module, OBJECTS)
    assert checked.returncode == 0, checked.stdout
    ran = subprocess.run([sys.executable, "use.py"], capture_output=True, text=True, check=True, cwd=module)
    assert ran.stdout.strip() == (
        "[0, 6] 1 ['the', 'quick'] 8 [0, 1, 4, 9, 16, 25, 36] 2 ['xa', 'xc'] [0, 1, 2]"
    )


@pytest.mark.parametrize(("call", "complaint"), WRONG_OBJECT_USES)
def test_mypy_flags_a_wrong_use_of_an_object_or_callback(
    wrong_uses: dict[str, str], call: str, complaint: str
) -> None:
    assert complaint in wrong_uses[call], wrong_uses[call]


def test_inspect_lists_the_classes_with_their_methods(fixture_path: Path) -> None:
    import io

    from pyo2._cli import main

    out = io.StringIO()
    main(["inspect", str(fixture_path)], out=out)
    text = out.getvalue()
    assert "\n// classes: #[pyo2::class], the classes dll.types.NAME\n" in text
    classes = text[text.index("// classes:") :]
    assert (
        "/// Splits text into known words, counting how many texts it has seen.\nclass Tokenizer {\n"
        in classes
    )
    tokenizer = classes[classes.index("class Tokenizer {") :]
    tokenizer = tokenizer[: tokenizer.index("\n}\n")]
    assert "    #[new] fn new(path: &str) -> Result<Self, Error>\n" in tokenizer
    assert (
        "    /// The ids of the known words of `text`.\n    fn encode(&mut self, text: &str) -> Vec<u32>\n"
        in tokenizer
    )
    assert "    #[getter] fn seen(&self) -> u64\n" in tokenizer
    assert "    fn tokens(&self) -> Iter<String>\n" in tokenizer
    assert (
        "    fn each(&self, text: &str, on_word: &mut dyn FnMut(u32, &str) -> bool) -> usize\n" in tokenizer
    )
    assert "    fn builtin_size() -> usize" in tokenizer
    assert "class Counter {\n" in classes
    assert "__pyo2_m__" not in text
