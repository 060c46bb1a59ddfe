"""python -m pyo2 bindgen: a typed module of the library's functions.

The module runs (its functions are the library's, bound on first use), mypy
--strict checks calls against it (types, keyword names), ``--check`` tells a
stale module from a fresh one, and every Python type the annotations promise
is one pyo2 accepts: each exported function of the fixture is called with a
value of each type each of its parameters promises.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from array import array
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyo2
from pyo2._bindgen import Loader, _fingerprint, derive_lib_name, module
from pyo2._dll import function_names
from pyo2._stubgen import _Names
from pyo2._types import SCALARS, U8, CallbackT, Owned, Param, Ret, Rich, Scalar, Signature, VecRef
from support import ROOT, pep604


def bindgen(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "pyo2", "bindgen", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**environ, **env},
    )


@pytest.fixture
def generated(fixture_path: Path, tmp_path: Path) -> Path:
    """tmp_path/fixture_lib.py, loading the fixture by its absolute path."""
    out = tmp_path / "fixture_lib.py"
    result = bindgen(str(fixture_path), "-o", str(out), "--path", str(fixture_path))
    assert result.returncode == 0, result.stderr
    assert "pyo2 bindgen: skipping 'ex_future'" in result.stderr
    return out


def load(path: Path, name: str = "fixture_lib") -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_{id(path)}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # for `from ... import *`
    spec.loader.exec_module(mod)
    return mod


def run(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False, cwd=directory)


# ---------------------------------------------------------------------------
# The module at run time.


def test_the_functions_are_the_librarys_own(generated: Path) -> None:
    """No wrapper: the module's function is the library's function object,
    bound as a global on first use; unknown names are AttributeErrors."""
    m = load(generated)
    assert isinstance(m.library, pyo2.RustDLL)
    assert "ex_add_u8" not in vars(m)  # nothing bound before it is used
    add = m.ex_add_u8
    assert add is m.library["ex_add_u8"]
    assert vars(m)["ex_add_u8"] is add  # later uses are a dict look-up
    assert add(1, b=2) == 3
    assert m.ex_greet(name="you") == "Hello, you!"
    assert m.ex_find("hay", "a") == 1
    rows = [[1, 2], [3]]
    assert m.ex_nested(rows) == 3 and rows == [[1, 2], [13]]
    values = array("d", [1.0, 2.0])
    assert m.ex_double(values) is None and list(values) == [2.0, 4.0]
    assert m.match(3, 1, arg2=0) == 7  # a Rust keyword as a parameter: positional-only
    assert m.library["in"](3, 1) == 7  # a function Python can't spell
    with pytest.raises(pyo2.RustError, match="invalid digit"):
        m.ex_parse("x")
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = m.nope
    with pytest.raises(AttributeError, match="has no attribute 'ng_dup'"):
        _ = m.ng_dup  # unreadable descriptor: not in the module
    assert {"ex_add_u8", "ex_sum", "plain_twice", "library"} <= set(dir(m))
    assert "in" not in dir(m)
    assert "ex_add_u8" in m.__all__ and "library" not in m.__all__
    from_all: dict[str, Any] = {}
    exec(f"from {m.__name__} import *", from_all)  # binds every function of __all__
    assert from_all["ex_sum"] is m.library["ex_sum"]


def test_the_module_loads_the_library_by_name(fixture_path: Path, tmp_path: Path) -> None:
    """By default LIB's lib name, found with RustDLL.find when imported;
    --find and --package choose another name and the package to look in."""
    out = tmp_path / "by_name.py"
    target = str(fixture_path.parent.parent)
    assert bindgen(str(fixture_path), "-o", str(out)).returncode == 0
    text = out.read_text(encoding="utf-8")
    assert 'library = _pyo2.RustDLL.find("pyo2_fixture")\n' in text
    assert "#     python -m pyo2 bindgen LIB -o THIS_FILE --find pyo2_fixture\n" in text
    code = "import by_name; print(by_name.library.path, by_name.ex_add_u8(1, 2))"
    env = {**os.environ, "CARGO_TARGET_DIR": target}
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path, env=env
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split()[-1] == "3"
    # LIB as a crate name: the module finds it by that name.
    named = bindgen("pyo2-fixture", cwd=tmp_path, CARGO_TARGET_DIR=target)
    assert named.returncode == 0, named.stderr
    assert 'library = _pyo2.RustDLL.find("pyo2-fixture")\n' in named.stdout
    other = bindgen(str(fixture_path), "--find", "my-lib", "--package", "mypkg")
    assert 'library = _pyo2.RustDLL.find("my-lib", package="mypkg")\n' in other.stdout


def test_a_relative_path_is_relative_to_the_module(fixture_path: Path, tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libcopy.so").write_bytes(fixture_path.read_bytes())
    out = tmp_path / "copy_lib.py"
    assert bindgen(str(fixture_path), "-o", str(out), "--path", "lib/libcopy.so").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ran = run(
        elsewhere,
        "-c",
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import copy_lib as c; print(c.ex_sub(5, b=7))",
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "-2"


# ---------------------------------------------------------------------------
# mypy --strict on an app that uses the module (and on the module itself).

GOOD = """\
from __future__ import annotations

from array import array

import fixture_lib as f

total: int = f.ex_add_u8(1, b=2)
greeting: str = f.ex_greet(name="you")
found: int | None = f.ex_find("hay", needle="a")
numbers: list[int] = f.ex_range(3)
rows = [[1, 2], [3]]
count: int = f.ex_nested(rows)
halves: list[float] = f.ex_halves(2)
values = array("d", [1.0, 2.0])
f.ex_double(values)
f.ex_double([1.0, 2.0])
s: float = f.ex_sum_f64([0.5, 2])
n: int = f.ex_sum_u8(b"ab") + f.ex_sum_u8(bytearray(b"ab")) + f.ex_sum_u8([1, 2]) + f.ex_sum(array("q", [1]))
b: bool = f.ex_not(True)
flags: list[bool] = [True, False]
f.ex_not_all(flags)
buffer = bytearray(b"ab")
copied: int = f.ex_copy_into(buffer, b"cd")
lengths: list[int] = f.ex_lengths(["a", "bc"])
odd: int = f.ng_keywords(3, 1) + f.match(3, 1, arg2=0) + f.ng_soft(match=3, type=1)
odd += f.ng_unicode(größe=3, b=1)
f.plain_twice(21)
f.ex_unit()
print(total, greeting, found, numbers, count, halves, list(values), s, n, b, flags)
print(bytes(buffer), lengths, odd)
"""

#: Calls mypy must flag, each with (part of) its message.
BAD = [
    ('f.ex_add_u8("1", 2)', 'Argument 1 to "ex_add_u8" has incompatible type "str"; expected "int"'),
    ("f.ex_add_u8(1, c=2)", 'Unexpected keyword argument "c" for "ex_add_u8"'),
    ("f.ex_find(hay='a', needle='b')", 'Unexpected keyword argument "hay" for "ex_find"'),
    ("f.ex_greet(42)", 'Argument 1 to "ex_greet" has incompatible type "int"'),
    ('f.ex_sum_f64(bytearray(b"12345678"))', 'Argument 1 to "ex_sum_f64" has incompatible type "bytearray"'),
    ('f.ex_double(array("q", [1]))', 'incompatible type "array[int]"; expected "list[float] | array[float]"'),
    ('f.ex_copy_into(b"ab", b"cd")', 'Argument 1 to "ex_copy_into" has incompatible type "bytes"'),
    ("f.ex_count_true([1, 0])", 'List item 0 has incompatible type "int"; expected "bool"'),
    ("f.ex_sum([1.5])", 'List item 0 has incompatible type "float"; expected "int"'),
    ("f.ex_str_len([104, 105])", 'Argument 1 to "ex_str_len" has incompatible type "list[int]"'),
    ("x: str = f.ex_range(3)", 'Incompatible types in assignment (expression has type "list[int]"'),
    ("f.match(type=1, arg2=0)", 'Too few arguments for "match"'),  # `in` is positional-only
    ("f.ng_keywords(arg0=3, arg1=1)", 'Unexpected keyword argument "arg0" for "ng_keywords"'),
    ("f.ex_not_there(1)", 'Module has no attribute "ex_not_there"'),
    ("f.ng_dup(1, 2)", 'Module has no attribute "ng_dup"'),
    ("y: int = f.ex_find('a', 'b')", 'Incompatible types in assignment (expression has type "int | None"'),
]


def mypy(directory: Path, script: str, *files: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy is not installed for this Python (it does not run on PyPy)")
    (directory / "app.py").write_text(script, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "app.py", *files],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
    )


def test_mypy_accepts_good_calls_and_the_app_runs(generated: Path) -> None:
    checked = mypy(generated.parent, GOOD, "fixture_lib.py")
    assert checked.returncode == 0, checked.stdout
    assert "Success: no issues found in 2 source files" in checked.stdout
    ran = run(generated.parent, "app.py")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "3 Hello, you! 1 [0, 1, 2] 3 [0.0, 0.5] [2.0, 4.0] 2.5 394 False [False, True]",
        "b'cd' [1, 2] 28",
    ]


def test_mypy_flags_each_wrong_call(generated: Path) -> None:
    script = "import fixture_lib as f\nfrom array import array\n\n" + "".join(f"{call}\n" for call, _ in BAD)
    checked = mypy(generated.parent, script)
    assert checked.returncode == 1
    errors: dict[int, str] = {}
    for line in checked.stdout.splitlines():
        found = re.match(r"app\.py:(\d+): error: (.*)", line)
        if found:
            errors[int(found.group(1))] = errors.get(int(found.group(1)), "") + pep604(found.group(2))
    for number, (call, complaint) in enumerate(BAD, start=4):
        assert complaint in errors.get(number, ""), f"{call}: {errors.get(number)}\n{checked.stdout}"


# ---------------------------------------------------------------------------
# --check


def test_check_passes_for_a_fresh_module_and_fails_for_a_stale_one(
    fixture_path: Path, generated: Path
) -> None:
    args = [str(fixture_path), "-o", str(generated), "--path", str(fixture_path)]
    fresh = bindgen(*args, "--check")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert fresh.stderr == f"pyo2 bindgen --check: {generated} is up to date\n"  # no "skipping" lines
    text = generated.read_text(encoding="utf-8")
    found = re.search(r"^# pyo2-bindgen-fingerprint: sha256:([0-9a-f]{64})$", text, re.MULTILINE)
    assert found is not None
    edited = text.replace(found.group(1), "0" * 64)
    generated.write_text(edited, encoding="utf-8")
    stale = bindgen(*args, "--check")
    assert stale.returncode == 1
    assert f"{generated} is out of date with the library; generate it again:" in stale.stdout
    assert f"--- {generated}\n+++ {generated} (generated now)\n" in stale.stdout
    assert f"-# pyo2-bindgen-fingerprint: sha256:{'0' * 64}" in stale.stdout
    assert f"+# pyo2-bindgen-fingerprint: sha256:{found.group(1)}" in stale.stdout
    assert generated.read_text(encoding="utf-8") == edited  # --check writes nothing


def test_check_fails_when_what_it_would_write_changed(fixture_path: Path, generated: Path) -> None:
    """Another loader, or a signature that changed (here: the module of an
    older signature of ex_add_u8), is stale; a missing file is an error."""
    other_loader = bindgen(str(fixture_path), "-o", str(generated), "--find", "pyo2-fixture", "--check")
    assert other_loader.returncode == 1
    assert '+library = _pyo2.RustDLL.find("pyo2-fixture")' in other_loader.stdout
    text = generated.read_text(encoding="utf-8")
    old = text.replace("def ex_add_u8(a: int, b: int) -> int:", "def ex_add_u8(a: int) -> int:")
    old = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + _fingerprint(old), old)
    generated.write_text(old, encoding="utf-8")
    changed = bindgen(str(fixture_path), "-o", str(generated), "--path", str(fixture_path), "--check")
    assert changed.returncode == 1
    assert "-    def ex_add_u8(a: int) -> int:\n+    def ex_add_u8(a: int, b: int) -> int:" in changed.stdout
    missing = bindgen(str(fixture_path), "-o", str(generated.parent / "nope.py"), "--check")
    assert missing.returncode == 1
    assert "nope.py: can't read it (No such file or directory); generate it first" in missing.stdout


def test_check_ignores_reformatting(fixture_path: Path, generated: Path) -> None:
    """The fingerprint is of what bindgen wrote: a formatter's line length doesn't make the module stale."""
    pytest.importorskip("ruff")
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--isolated", "--line-length", "150", str(generated)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "1 file reformatted" in formatted.stdout
    checked = bindgen(str(fixture_path), "-o", str(generated), "--path", str(fixture_path), "--check")
    assert checked.returncode == 0, checked.stdout


def test_the_pytest_snippet_of_the_readme(fixture_path: Path, generated: Path) -> None:
    """What a user's test suite runs (README, "Typed bindings")."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyo2",
            "bindgen",
            str(fixture_path),
            "-o",
            str(generated),
            "--path",
            str(fixture_path),
            "--check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--check"], "pyo2 bindgen: --check needs the module to check: -o FILE"),
        (["--path", "x.so", "--find", "x"], "--path loads a file: it doesn't go with --find or --package"),
        (["--path", "x.so", "--package", "p"], "--path loads a file: it doesn't go with --find or --package"),
    ],
)
def test_options_that_dont_go_together(fixture_path: Path, args: list[str], message: str) -> None:
    result = bindgen(str(fixture_path), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_a_file_name_that_tells_no_lib_name(fixture_path: Path, tmp_path: Path) -> None:
    odd = tmp_path / "fixture.so.1"
    odd.write_bytes(fixture_path.read_bytes())
    result = bindgen(str(odd))
    assert result.returncode == 2
    assert "can't tell the lib name RustDLL.find() would find" in result.stderr
    assert "pass --find NAME (the crate or lib name) or --path PATH" in result.stderr
    assert bindgen(str(odd), "--path", "fixture.so.1").returncode == 0


def test_derive_lib_name() -> None:
    assert derive_lib_name("target/release/libmy_lib.so") == "my_lib"
    assert derive_lib_name("libmy_lib.dylib") == "my_lib"
    assert derive_lib_name("C:/x/my_lib.dll") == "my_lib"
    assert derive_lib_name("pkg/my_lib.cpython-311-x86_64-linux-gnu.so") == "my_lib"
    assert derive_lib_name("pkg/my_lib.abi3.so") == "my_lib"
    assert derive_lib_name("libmy_lib.so.1") is None
    assert derive_lib_name("my-lib.so") is None


# ---------------------------------------------------------------------------
# What the annotations promise is what pyo2 accepts.


def sample(alternative: str, t: Param) -> object:
    """A fresh value of the Python type ``alternative`` for a parameter of Rust type ``t``."""
    if isinstance(t, Scalar):
        return {"int": 1, "float": 0.5, "bool": True}[alternative]
    assert isinstance(t, VecRef)
    text = {"str": "ab", "bytes": b"ab"}
    if alternative in text:
        return text[alternative]
    if alternative == "bytearray":
        return bytearray(b"ab")
    if alternative == "memoryview":
        return memoryview(bytearray(b"ab"))
    inner = re.fullmatch(r"(list|array)\[(.*)\]", alternative)
    assert inner is not None, alternative
    kind, item = inner.groups()
    elem = t.elem
    if kind == "array":
        assert isinstance(elem, Scalar) and item == elem.kind
        return array(elem.code, [1, 0])
    return [sample(item, elem) for _ in range(2)]


def alternatives(t: Param) -> list[str]:
    return _Names(set()).alternatives(t)


def accepted(f: Any, args: list[object]) -> str | None:
    """None if the call got to Rust (a RustError or panic is Rust's answer), else the error."""
    try:
        f(*args)
    except (pyo2.RustError, pyo2.RustPanic):
        pass
    except Exception as e:  # the conversion refused a value it promised to take
        return f"{type(e).__name__}: {e}"
    return None


def test_every_promised_type_is_accepted(fixture_path: Path) -> None:
    """For each parameter of each exported function of the fixture, a call
    with a value of each type its annotation promises gets to Rust."""
    dll = pyo2.RustDLL(fixture_path)
    refused: list[str] = []
    kinds: set[str] = set()
    for name in function_names(dll):
        try:
            sig = dll[name].signature
        except pyo2.Pyo2Error:
            continue  # unreadable: not in the module
        if sig is None or any(isinstance(t, Rich) for _, t in sig.params):
            continue  # records and owned parameters: tests/python/test_records.py
        if any(isinstance(t, CallbackT) for _, t in sig.params):
            continue  # callbacks: tests/python/test_callbacks.py
        for i, (pname, t) in enumerate(sig.params):
            kinds.add(kind_of(t))
            for alternative in alternatives(t):
                args = [sample(alternatives(u)[0], u) for _, u in sig.params]
                args[i] = sample(alternative, t)
                why = accepted(dll[name], args)
                if why is not None:
                    refused.append(f"{sig}: {pname}: {alternative}: {why}")
    assert not refused, "\n".join(refused)
    # Every kind of parameter was tried.
    assert kinds >= {"int", "float", "bool", "&PyStr", "&str", "&[T]", "&mut [T]", "&[&PyStr]", "nested &mut"}


def kind_of(t: Param) -> str:
    if isinstance(t, Scalar):
        return t.kind
    assert isinstance(t, VecRef)
    if t.utf8:
        return "&str"
    if isinstance(t.elem, VecRef):
        if t.elem.elem == U8 and not t.elem.mutable:
            return "&[&PyStr]"
        return "nested &mut" if t.elem.mutable else "nested"
    if t.elem == U8 and not t.mutable and not t.slice:
        return "&PyStr"
    return "&mut [T]" if t.mutable else "&[T]"


@pytest.mark.parametrize(
    ("function", "value"),
    [
        ("ex_sum_f64", bytearray(8)),  # &[f64]: bytes are not doubles
        ("ex_sum_f64", memoryview(bytearray(8))),
        ("ex_double", (1.0, 2.0)),  # &mut [f64]: a tuple is immutable
        ("ex_sum", b"12345678"),
        ("ex_count_true", bytearray(b"\x01")),  # &[bool]: only lists (and '?' buffers)
        ("ex_double", b"12345678"),
        ("ex_copy_into", b"ab"),  # &mut [u8]: nothing immutable
        ("ex_copy_into", "ab"),
        ("ex_str_len", [104, 105]),  # &str: text, not a list of numbers
    ],
)
def test_what_is_not_promised_is_refused(dll: pyo2.RustDLL, function: str, value: object) -> None:
    """The types left out of the annotations are the ones pyo2 refuses."""
    f = dll[function]
    assert f.signature is not None
    first = f.signature.params[0][1]
    assert type(value).__name__ not in " ".join(alternatives(first)).replace("list[", "").split(" | ")
    args: list[object] = [value] + [sample(alternatives(u)[0], u) for _, u in f.signature.params[1:]]
    with pytest.raises(TypeError, match=rf"^{function}\(\): parameter"):
        f(*args)


def test_what_mypy_allows_besides_works(dll: pyo2.RustDLL) -> None:
    """mypy takes an int for a float and a bool for an int: so does pyo2."""
    assert dll.ex_echo_f64(2) == 2.0
    assert dll.ex_echo_i64(True) == 1
    assert dll.ex_sum_f64([1, 2.5]) == 3.5


# ---------------------------------------------------------------------------
# Names: what a module can't define is a comment; the module's own names give way.


def test_names_python_cant_spell_are_comments(generated: Path) -> None:
    text = generated.read_text(encoding="utf-8")
    compile(text, str(generated), "exec")
    assert "    # 'in' is not in this module: a Python keyword\n    # (call it as library['in'])\n" in text
    assert "    # '__debug__' is not in this module: a name Python reserves\n" in text
    assert (
        "    # '_pyo2_template' is not in this module: a name the generated module keeps for itself\n" in text
    )
    assert "    # 'ex_future' is not in this module: unreadable descriptor:" in text
    assert "    # 'ng_dup' is not in this module: unreadable descriptor:" in text
    assert "    def ng_keywords(arg0: int, arg1: int, /) -> int:\n" in text
    assert "    def match(arg0: int, /, type: int, arg2: int) -> int:\n" in text
    assert "    def ng_nfkc(arg0: int, /, fi: int) -> int:\n" in text
    assert "    def plain_twice(*args: Any) -> None:\n" in text


def test_functions_named_like_the_modules_own_names(fixture_path: Path, tmp_path: Path) -> None:
    """A function called ``library``, ``annotations``, ``int`` or
    ``TYPE_CHECKING``: the library goes under another name, the future
    import goes, annotations go through ``builtins``, and ``TYPE_CHECKING``
    is a comment."""
    u8 = SCALARS["u8"]
    functions: dict[str, Signature | None] = {
        n: Signature(n, (("a", u8), ("b", u8)), Ret(u8))
        for n in ("library", "annotations", "int", "TYPE_CHECKING", "_pyo2_x", "ng_soft")
    }
    text = module(functions, {}, Loader(path=str(fixture_path)))
    assert "from __future__" not in text
    assert "library_ = _pyo2.RustDLL(" in text
    assert "    def int(a: _builtins.int, b: _builtins.int) -> _builtins.int:" in text
    assert "# 'TYPE_CHECKING' is not in this module: a name the generated module keeps for itself" in text
    assert "# (call it as library_['TYPE_CHECKING'])" in text
    (tmp_path / "odd.py").write_text(text, encoding="utf-8")
    use = (
        "import odd\nx: int = odd.library(1, 2) + odd.annotations(1, 2) + odd.int(1, 2) + odd.ng_soft(3, 1)\n"
    )
    checked = mypy(tmp_path, use, "odd.py")
    assert checked.returncode == 0, checked.stdout
    m = load(tmp_path / "odd.py", "odd")
    assert m.ng_soft(3, 1) == 7
    assert isinstance(m.library_, pyo2.RustDLL)
    with pytest.raises(AttributeError, match="exports no function 'library'"):
        _ = m.library  # the library's function of that name (the fixture has none)


identifiers = st.text(st.characters(categories=["Lu", "Ll", "Nd", "Pc"]), min_size=1, max_size=4)


@given(
    st.dictionaries(
        identifiers | st.sampled_from(["in", "library", "annotations", "_pyo2_a", "TYPE_CHECKING", "int"]),
        st.lists(
            identifiers | st.sampled_from(["in", "lambda", "__debug__", "arg0"]), max_size=3, unique=True
        ),
        max_size=5,
    )
)
def test_any_names_give_a_valid_module(functions: dict[str, list[str]]) -> None:
    sigs: dict[str, Signature | None] = {
        name: Signature(name, tuple((p, SCALARS["u8"]) for p in params), Ret(Owned(U8, text=True)))
        for name, params in functions.items()
    }
    text = module(sigs, {}, Loader(name="x"))
    compile(text, "<module>", "exec")


def test_the_module_is_ruff_clean(fixture_path: Path, generated: Path) -> None:
    """With the repository's rules, even without the module's ``# ruff: noqa``
    (but for the long lines and the non-ASCII names the Rust code has); and
    already formatted as ruff format has it (loading by a short name or path)."""
    pytest.importorskip("ruff")
    ruff = [sys.executable, "-m", "ruff"]
    lint = subprocess.run(
        [
            *ruff,
            "check",
            "--config",
            str(ROOT / "ruff.toml"),
            "--ignore-noqa",
            "--extend-ignore",
            "E501,PLC2401",
            str(generated),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout
    for options in (["--find", "pyo2-fixture"], ["--path", "lib/libpyo2_fixture.so"]):
        out = generated.parent / "short.py"
        assert bindgen(str(fixture_path), "-o", str(out), *options).returncode == 0
        fmt = subprocess.run(
            [*ruff, "format", "--isolated", "--check", str(out)], capture_output=True, text=True, check=False
        )
        assert fmt.returncode == 0, fmt.stdout


def test_the_docstrings_are_the_rust_signatures(generated: Path) -> None:
    m = load(generated)
    text = generated.read_text(encoding="utf-8")
    assert (
        "    def ex_parse(s: str | bytes | bytearray | memoryview) -> int:\n"
        '        """fn ex_parse(s: &str) -> Result<i64, ParseIntError>\n' in text
    )
    assert inspect.signature(m.ex_add_u8) == inspect.signature(m.library["ex_add_u8"])


def test_the_module_has_the_classes(fixture_path: Path, generated: Path) -> None:
    """#[pyo2::class]es are typed classes under TYPE_CHECKING and, at run
    time, the library's own classes (dll.types.NAME), bound on first use."""
    text = generated.read_text(encoding="utf-8")
    assert "    from collections.abc import Callable, Iterator\n" in text
    assert "    class Tokenizer:\n" in text
    assert "        def __init__(self, path: str | bytes | bytearray | memoryview) -> None:\n" in text
    assert "        @property\n        def seen(self) -> int:\n" in text
    assert "        @staticmethod\n        def builtin_size() -> int:\n" in text
    assert "        def tokens(self) -> Iterator[str]:\n" in text
    m = load(generated)
    assert m.Tokenizer is pyo2.types(m.library).Tokenizer
    assert "Tokenizer" in dir(m) and "Tokenizer" in vars(m)  # bound as a global by the first use
    with m.Tokenizer("builtin") as tok:
        assert tok.encode("the lazy fox") == [0, 6, 3]
        assert tok.seen == 1
    words: list[str] = []

    def on_hit(index: int, word: str) -> bool:
        words.append(word)
        return True

    assert m.scan("xa b xc", on_hit) == 2
    assert words == ["xa", "xc"]
    assert list(m.count_to(3)) == [0, 1, 2]
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        m.Nope  # noqa: B018
