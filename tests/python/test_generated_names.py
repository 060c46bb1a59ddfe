"""Names and doc comments that reach generated Python: the call functions
(generated per signature with ``exec``) and ``python -m pyo2 stubgen``.

Names come from declarations and from the library's descriptors (untrusted
text): anything that isn't an identifier is refused before generation; every
identifier works, with keyword arguments by the Rust name where Python
allows it and positional-only where Python can't spell the name. The hostile
descriptors are in tests/fixture/src/names_gen.rs.
"""

from __future__ import annotations

import ast
import ctypes
import inspect
import keyword
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyo2
from pyo2._codegen import source as generated_source
from pyo2._function import make_function
from pyo2._signature import parse_descriptor, python_name, python_parameters
from pyo2._stubgen import stub
from pyo2._types import SCALARS, U8, Owned, Ret, Signature, VecRef
from support import ROOT

F64, I64, BOOL = SCALARS["f64"], SCALARS["i64"], SCALARS["bool"]

# Names Python can't (or can only just) use, and names of the generated
# code's own helpers and of the builtins it would use.
HOSTILE = [
    "__debug__",
    *keyword.kwlist,  # in, from, lambda, class, None, True…
    *keyword.softkwlist,  # match, case, type, _
    "\ufb01",  # ﬁ: NFKC makes it fi
    "fi",
    "\u210c",  # black-letter H: NFKC makes it H
    "größe",
    "_pyo2_c",
    "_pyo2_M",
    "_pyo2_extra",
    "_pyo2_kw",
    "_pyo2_p0",
    "_pyo2_p1",
    "_pyo2_template",
    "_pyo2_args",
    "rust_function",
    "int",
    "type",
    "len",
    "print",
    "arg0",
    "arg1",
    "self",
    "__class__",
    "a",
]

names = st.sampled_from(HOSTILE) | st.text(
    st.characters(categories=["Lu", "Ll", "Lo", "Nd", "Pc", "Mn"]), min_size=1, max_size=3
).filter(str.isidentifier)


def address(dll: pyo2.RustDLL, name: str) -> int:
    """The address of the fixture's function ``name`` (the same library, loaded again)."""
    value = ctypes.cast(ctypes.CDLL(pyo2.library_path(dll))[name], ctypes.c_void_p).value
    assert value is not None
    return value


def twice_plus(dll: pyo2.RustDLL, first: str, second: str) -> Any:
    """The fixture's ``ng_soft`` (exported ABI, ``2 * a + b``) under another signature."""
    sig = Signature("ng_soft", ((first, U8), (second, U8)), Ret(U8))
    return make_function(dll, "ng_soft", address(dll, "ng_soft"), sig)


# ---------------------------------------------------------------------------
# Any two names: the function works, by position and by the Rust names.


@given(first=names, second=names)
def test_any_parameter_names_work(dll_module: pyo2.RustDLL, first: str, second: str) -> None:
    if first == second:
        return
    f = twice_plus(dll_module, first, second)
    assert f(3, 1) == 7
    assert f(**{first: 3, second: 1}) == 7
    assert f(3, **{second: 1}) == 7
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: .* \(fn ng_soft\("):
        f(3)
    with pytest.raises(TypeError, match=r"takes 2 positional arguments but 3 were given"):
        f(3, 1, 2)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        f(3, 1, **{first + "x": 1})
    with pytest.raises(TypeError, match="multiple values"):
        f(3, 1, **{first: 3})
    with pytest.raises(OverflowError, match=r"ng_soft\(\): parameter .* out of range for u8"):
        f(3, 256)
    shown = inspect.signature(f)
    assert shown.bind(3, 1).args == (3, 1)
    usable = python_name(first) and python_name(second)
    assert list(shown.parameters) == ([first, second] if usable else python_parameters([first, second])[0])


@pytest.fixture(scope="module")
def dll_module(fixture_path: Path) -> pyo2.RustDLL:
    return pyo2.RustDLL(fixture_path)


@pytest.mark.parametrize("name", HOSTILE)
def test_each_hostile_name_in_each_position_and_path(dll: pyo2.RustDLL, name: str) -> None:
    """Declared ABI, scalar fast path (``mix``) and flat fast path (``scale``)."""
    others = [n for n in ("x", "y") if n != name]
    mix = make_function(
        dll,
        "mix",
        address(dll, "mix"),
        Signature("mix", ((others[0], I64), (name, F64), (others[1], BOOL)), F64),
    )
    assert mix(1, 2.5, True) == -3.5
    assert mix(1, **{name: 2.5, others[1]: False}) == 3.5
    scale = make_function(
        dll,
        "scale",
        address(dll, "scale"),
        Signature("scale", ((name, VecRef(F64, mutable=True)), (others[0], F64)), F64),
    )
    values = [1.0, 2.0]
    assert scale(values, 3.0) == 9.0
    assert values == [3.0, 6.0]
    assert scale(**{name: values, others[0]: 0.5}) == 4.5
    assert values == [1.5, 3.0]


@pytest.mark.parametrize("name", [*HOSTILE, "\uff21\uff22"])
def test_any_function_name_works(dll: pyo2.RustDLL, name: str) -> None:
    sig = Signature(name, (("a", U8), ("b", U8)), Ret(U8))
    f = make_function(dll, name, address(dll, "ng_soft"), sig)
    assert f(3, 1) == 7
    assert f(b=1, a=3) == 7
    assert f.__name__ == f.__qualname__ == name
    with pytest.raises(
        TypeError, match=rf"^{re.escape(name)}\(\) missing 1 required positional argument: 'b' \(fn "
    ):
        f(3)


def test_nfkc_twins_are_two_parameters(dll: pyo2.RustDLL) -> None:
    """``ﬁ`` and ``fi`` are two Rust names; Python reads both as ``fi``. The
    function keeps them apart: ``fi`` is a keyword, ``ﬁ`` is positional or
    passed with ``**``; and a lone ``ﬁ`` is also reachable as Python spells it."""
    f = dll.ng_nfkc
    assert str(f.signature) == "fn ng_nfkc(\ufb01: u8, fi: u8) -> u8"
    assert f(3, fi=1) == 7
    assert f(**{"\ufb01": 3, "fi": 1}) == 7
    assert str(inspect.signature(f)) == "(arg0: int, /, fi: int) -> int"
    lone = twice_plus(dll, "\ufb01", "b")
    assert lone(ﬁ=3, b=1) == 7  # Python reads this as fi=3


# ---------------------------------------------------------------------------
# The hand-made descriptors of the fixture (names_gen.rs).


@pytest.mark.parametrize(
    ("name", "signature", "shown", "keywords"),
    [
        (
            "ng_keywords",
            "fn ng_keywords(in: u8, lambda: u8) -> u8",
            "(arg0: int, arg1: int, /) -> int",
            {"in": 3, "lambda": 1},
        ),
        (
            "ng_debug",
            "fn ng_debug(__debug__: u8, b: u8) -> u8",
            "(arg0: int, /, b: int) -> int",
            {"__debug__": 3, "b": 1},
        ),
        (
            "ng_helpers",
            "fn ng_helpers(_pyo2_c: u8, _pyo2_M: u8) -> u8",
            "(arg0: int, arg1: int, /) -> int",
            {"_pyo2_c": 3, "_pyo2_M": 1},
        ),
        (
            "ng_soft",
            "fn ng_soft(match: u8, type: u8) -> u8",
            "(match: int, type: int) -> int",
            {"match": 3, "type": 1},
        ),
        (
            "ng_underscore",
            "fn ng_underscore(_: u8, case: u8) -> u8",
            "(_: int, case: int) -> int",
            {"_": 3, "case": 1},
        ),
        (
            "ng_builtins",
            "fn ng_builtins(int: u8, len: u8) -> u8",
            "(int: int, len: int) -> int",
            {"int": 3, "len": 1},
        ),
        ("ng_raw", "fn ng_raw(in: u8, b: u8) -> u8", "(arg0: int, /, b: int) -> int", {"in": 3, "b": 1}),
        ("in", "fn in(a: u8, b: u8) -> u8", "(a: int, b: int) -> int", {"a": 3, "b": 1}),
        ("__debug__", "fn __debug__(a: u8, b: u8) -> u8", "(a: int, b: int) -> int", {"a": 3, "b": 1}),
        (
            "_pyo2_template",
            "fn _pyo2_template(a: u8, b: u8) -> u8",
            "(a: int, b: int) -> int",
            {"a": 3, "b": 1},
        ),
        # Through #[pyo2::export] itself: r#match(r#in, r#type, _).
        (
            "match",
            "fn match(in: u8, type: u8, arg2: u8) -> u8",
            "(arg0: int, /, type: int, arg2: int) -> int",
            {"in": 3, "type": 1, "arg2": 0},
        ),
        (
            "ng_unicode",
            "fn ng_unicode(größe: u8, b: u8) -> u8",
            "(größe: int, b: int) -> int",
            {"größe": 3, "b": 1},
        ),
    ],
)
def test_hand_made_descriptors_with_hostile_names(
    dll: pyo2.RustDLL, name: str, signature: str, shown: str, keywords: dict[str, int]
) -> None:
    f = dll[name]
    assert str(f.signature) == signature
    assert str(inspect.signature(f)) == shown
    args = list(keywords.values())
    assert f(*args) == 7
    assert f(**keywords) == 7
    assert f(args[0], **dict(list(keywords.items())[1:])) == 7
    assert f.__name__ == name


def test_raw_identifiers_in_a_declaration(dll: pyo2.RustDLL) -> None:
    """``r#`` is stripped as the macro strips it: the declaration of the
    exported ``r#match`` matches the descriptor, and a plain function can be
    declared with raw names."""
    assert dll.declare("fn r#match(r#in: u8, r#type: u8, arg2: u8) -> u8") is dll["match"]
    mix = dll.declare("fn r#mix(r#in: i64, r#type: f64, r#match: bool) -> f64")
    assert str(mix.signature) == "fn mix(in: i64, type: f64, match: bool) -> f64"
    assert mix(1, 2.5, **{"match": True}) == -3.5
    assert mix(**{"in": 1, "type": 2.5, "match": False}) == 3.5


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ng_bad_utf8", "unexpected character '\ufffd'"),  # invalid UTF-8, decoded with "replace"
        ("ng_not_ident", "a letter or '_', then letters, digits or '_', found 'a²'"),
        ("ng_inject", "expected the end of the declaration, found '#'"),
        ("ng_dup", "parameter 'a' of fn ng_dup appears twice; give each parameter its own name"),
    ],
)
def test_bad_descriptors_are_refused_naming_the_function(dll: pyo2.RustDLL, name: str, reason: str) -> None:
    with pytest.raises(pyo2.SignatureError) as info:
        dll[name]
    message = str(info.value)
    assert f"the #[pyo2::export] descriptor of fn '{name}' does not parse" in message
    assert reason in message
    assert "build the library with the pyo2 crate of this version" in message
    assert dll.ng_soft(3, 1) == 7  # the rest of the library is fine


# ---------------------------------------------------------------------------
# Parsing: only identifiers get through.


@pytest.mark.parametrize(
    "text",
    [
        "fn f(a\ufffd: u8)",
        "fn f(a²: u8)",
        "fn f(1a: u8)",
        "fn f(a\x00: u8)",
        "fn f\u2028x(a: u8)",
        "fn f(a.b: u8)",
        "fn f(r#: u8)",
        "fn f(a-b: u8)",
        "fn f(a: u8) -> u8 # ): import os",
        "fn f(a: u8):\n    import os",
        "fn f(a: u8, a: u8)",
        "fn f(r#a: u8, a: u8)",
        "fn f(a: u8)\n\\",
        'fn f(a: u8) """',
        "fn f'(a: u8)",
        "fn (a: u8)",
    ],
)
def test_declarations_and_descriptors_with_non_identifiers_are_refused(text: str) -> None:
    with pytest.raises(pyo2.SignatureError):
        pyo2.parse_signature(text)
    with pytest.raises(pyo2.SignatureError):
        parse_descriptor(text)


def test_unicode_identifiers_are_names() -> None:
    sig = pyo2.parse_signature("fn café(größe: u8, ﬁ: u8, r#in: u8) -> u8")
    assert sig.name == "café" and [n for n, _ in sig.params] == ["größe", "\ufb01", "in"]


@given(st.text(max_size=30))
def test_whatever_the_descriptor_says_names_are_identifiers(text: str) -> None:
    for line in (text, f"fn {text}", f"fn f({text}: u8) -> u8", f"fn f(a: u8) -> Result<u8, {text}>"):
        try:
            sig = parse_descriptor(line)
        except pyo2.SignatureError:
            continue
        assert sig.name.isidentifier()
        assert all(n.isidentifier() for n, _ in sig.params)
        compile(generated_source(sig), "<test>", "exec")


@given(st.lists(names, min_size=0, max_size=6, unique=True), names)
def test_generated_source_always_compiles(params: list[str], function: str) -> None:
    for ret in (U8, Ret(U8), Ret(Owned(U8, text=True), optional=True, error="E")):
        for t in (U8, VecRef(F64, mutable=True), VecRef(VecRef(U8, mutable=False), mutable=False)):
            sig = Signature(function, tuple((p, t) for p in params), ret)
            source = generated_source(sig)
            compile(source, "<test>", "exec")
            if not all(map(python_name, params)):
                # No Rust name reaches the source unless Python spells it as
                # it is (the _pyo2 names the source has are its own).
                tree = ast.parse(source)
                spelled = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
                for n in ast.walk(tree):
                    if isinstance(n, ast.arguments):
                        spelled |= {a.arg for a in [*n.posonlyargs, *n.args, *n.kwonlyargs]}
                unspellable = {p for p in params if not python_name(p) and not p.startswith("_pyo2")}
                assert not unspellable & spelled


def test_python_parameters() -> None:
    assert python_parameters(["a", "b"]) == (["a", "b"], 0)
    assert python_parameters(["in", "b"]) == (["arg0", "b"], 1)
    assert python_parameters(["a", "in"]) == (["a", "arg1"], 2)
    assert python_parameters(["in", "arg0"]) == (["arg0_", "arg0"], 1)
    assert python_parameters(["\ufb01", "fi"]) == (["arg0", "fi"], 1)
    for name in ["__debug__", "None", "lambda", "_pyo2_c", "\ufb01", "\u210c", "\uff21", "a b", ""]:
        assert not python_name(name), name
    for name in ["match", "type", "_", "case", "größe", "int", "print", "__class__"]:
        assert python_name(name), name
        assert unicodedata.normalize("NFKC", name) == name


# ---------------------------------------------------------------------------
# Stubs: always valid Python that mypy accepts.

SIG_ANY = Signature("f", (("a", U8),), Ret(U8))


def sig_named(name: str, params: list[str], doc: str = "") -> Signature:
    return Signature(name, tuple((p, U8) for p in params), Ret(U8), doc)


TYPE_NAMES = [
    "int",
    "float",
    "bool",
    "str",
    "bytes",
    "bytearray",
    "memoryview",
    "list",
    "array",
    "Any",
    "typing",
    "builtins",
    "_builtins",
    "_typing",
    "_array",
    "annotations",
]


def test_functions_named_like_the_types_of_the_stub(tmp_path: Path) -> None:
    functions: dict[str, Signature | None] = {n: sig_named(n, ["x", "y"]) for n in TYPE_NAMES}
    functions["takes_all"] = Signature(
        "takes_all",
        (
            ("s", VecRef(U8, mutable=False, utf8=True)),
            ("b", VecRef(U8, mutable=False)),
            ("v", VecRef(F64, mutable=True)),
            ("rows", VecRef(VecRef(I64, mutable=True), mutable=True)),
            ("flag", BOOL),
        ),
        Ret(Owned(I64), optional=True),
    )
    functions["plain"] = None
    functions["__future__"] = sig_named("__future__", ["x"])
    text = stub("libx.so", functions)
    assert "# '__future__' is not in this stub: a dunder name" in text
    assert "import builtins as _builtins_\n" in text  # a function is called _builtins
    assert "def int(x: _builtins_.int, y: _builtins_.int) -> _builtins_.int:" in text
    for name in TYPE_NAMES:
        assert f"def {name}(" in text
    checked = mypy_stub(
        tmp_path,
        text,
        """
        from __future__ import annotations
        import m
        from array import array
        x: int = m.int(1, 2) + m.list(3, 4) + m.Any(5, 6) + m.array(7, 8) + m.typing(1, 2)
        r: list[int] | None = m.takes_all("s", b"b", array("d"), [[1]], True)
        m.plain(1, "x")
        """,
    )
    assert checked.returncode == 0, checked.stdout
    wrong = mypy_stub(tmp_path, text, 'import m\nm.int("1", 2)\n')
    assert wrong.returncode == 1 and 'incompatible type "str"; expected "int"' in wrong.stdout


def test_names_a_stub_cannot_define_are_comments(tmp_path: Path) -> None:
    functions: dict[str, Signature | None] = {
        n: sig_named(n, ["a"]) for n in ["in", "None", "__debug__", "\ufb01", "__getattr__", "ok"]
    }
    functions["a\nb"] = None
    functions["c\x1b[2J"] = None
    text = stub("lib\nname.so", functions, {"broken": "the descriptor does not parse\n    fn broken(\x00"})
    compile(text, "<stub>", "exec")
    assert "# 'in' is not in this stub: a Python keyword" in text
    assert "# 'None' is not in this stub: a Python keyword" in text
    assert "# '__debug__' is not in this stub: a name Python reserves" in text
    assert "# '\ufb01' is not in this stub: Python reads it as 'fi' (NFKC)" in text
    assert "# '__getattr__' is not in this stub: a dunder name" in text
    assert "# 'a\\nb' is not in this stub: not a Python identifier" in text
    assert "\x1b" not in text and "\x00" not in text
    assert "# 'broken' is not in this stub: unreadable descriptor: the descriptor does not parse" in text
    assert "def ok(a: int) -> int:" in text
    assert mypy_stub(tmp_path, text, "import m\nm.ok(1)\n").returncode == 0


def test_hostile_parameter_names_in_a_stub(tmp_path: Path) -> None:
    functions: dict[str, Signature | None] = {
        "kw": sig_named("kw", ["in", "lambda"]),
        "debug": sig_named("debug", ["__debug__", "b"]),
        "mixed": sig_named("mixed", ["a", "from", "c"]),
        "soft": sig_named("soft", ["match", "type", "_"]),
        "twins": sig_named("twins", ["\ufb01", "fi"]),
        "shadow": sig_named("shadow", ["int", "list", "arg0"]),
        "clash": sig_named("clash", ["in", "arg0"]),
    }
    text = stub("lib.so", functions)
    assert "def kw(arg0: int, arg1: int, /) -> int:" in text
    assert "def debug(arg0: int, /, b: int) -> int:" in text
    assert "def mixed(a: int, arg1: int, /, c: int) -> int:" in text
    assert "def soft(match: int, type: int, _: int) -> int:" in text
    assert "def twins(arg0: int, /, fi: int) -> int:" in text
    assert "def clash(arg0_: int, /, arg0: int) -> int:" in text
    use = """
        import m
        m.kw(1, 2)
        m.debug(1, b=2)
        m.mixed(1, 2, c=3)
        m.soft(match=1, type=2, _=3)
        m.twins(1, fi=2)
        m.shadow(int=1, list=2, arg0=3)
        m.clash(1, arg0=2)
        """
    checked = mypy_stub(tmp_path, text, use)
    assert checked.returncode == 0, checked.stdout


HOSTILE_DOCS = [
    'three """ quotes',
    "three ''' quotes",
    'ends with a quote"',
    '"',
    '""""""',
    "back\\slash \\",
    "\\",
    '\\"""',
    "\ufffd replacement",
    "NUL \x00 inside",
    "escape \x1b[31m, CR \r, FF \x0c, VT \x0b, LS \u2028, PS \u2029, NEL \x85",
    "lone \ud800 surrogate",
    "tab\there",
    "x" * 100_000,
    "\n\nblank lines\n\n\n",
    "    indented\n\tand tabbed",
    "{braces} and %s",
]


@pytest.mark.parametrize("doc", HOSTILE_DOCS, ids=range(len(HOSTILE_DOCS)))
def test_a_doc_comment_is_escaped_in_the_stub(doc: str) -> None:
    text = stub("lib.so", {"f": Signature("f", (("a", U8),), Ret(U8), doc)})
    assert "\x00" not in text and "\x1b" not in text
    tree = ast.parse(text)
    function = tree.body[-1]
    assert isinstance(function, ast.FunctionDef)
    # A lone surrogate is shown as its escape (CPython 3.13.0 can't compile one in a docstring).
    shown = "".join(ascii(c)[1:-1] if "\ud800" <= c <= "\udfff" else c for c in doc)
    assert doc_lines(ast.get_docstring(function, clean=False)) == lines(f"fn f(a: u8) -> u8\n\n{shown}")


def doc_lines(text: str | None) -> list[str]:
    """The lines of a docstring the stub wrote: its indentation and trailing
    blanks aside, the lines of the doc comment (see :func:`lines`)."""
    assert text is not None
    return lines("\n".join(line.removeprefix("    ") for line in text.split("\n")))


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip().split("\n")]


@given(st.text(), st.text())
def test_any_doc_comment_and_error_type_give_a_valid_stub(doc: str, error: str) -> None:
    sig = Signature("f", (("a", U8),), Ret(U8, error=error or "E"), doc)
    text = stub("lib.so", {"f": sig})
    function = ast.parse(text).body[-1]
    assert isinstance(function, ast.FunctionDef)
    expected = f"{sig}\nRaises pyo2.RustError for an Err, pyo2.RustPanic for a panic."
    assert doc_lines(ast.get_docstring(function, clean=False)) == lines(
        f"{expected}\n\n{doc}" if doc else expected
    )


@given(st.dictionaries(names | st.text(max_size=4), st.lists(names, max_size=4, unique=True), max_size=6))
def test_any_names_give_a_valid_stub(functions: dict[str, list[str]]) -> None:
    text = stub("lib.so", {name: sig_named(name, params) for name, params in functions.items()})
    compile(text, "<stub>", "exec")


def mypy_stub(directory: Path, stub_text: str, use: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy is not installed for this Python (it does not run on PyPy)")
    (directory / "m.pyi").write_text(stub_text, encoding="utf-8")
    (directory / "m.py").write_text("def __getattr__(name: str) -> object: ...\n")
    (directory / "use.py").write_text(inspect.cleandoc(use) + "\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "use.py"],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
    )


# ---------------------------------------------------------------------------
# The command line on the fixture: one bad function doesn't stop the rest.


_PYTHONPATH = {k: v for k, v in os.environ.items() if k == "PYTHONPATH"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyo2", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        # An ASCII-only terminal; PYTHONPATH kept (the other interpreters import pyo2 through it).
        env={
            "PYTHONIOENCODING": "ascii",
            "PATH": "",
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
        },
    )


def test_stubgen_on_the_hostile_fixture(fixture_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "fixture_lib.pyi"
    result = run_cli("stubgen", str(fixture_path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for name in ("ng_bad_utf8", "ng_not_ident", "ng_inject", "ng_dup"):
        assert f"pyo2 stubgen: skipping '{name}'" in result.stderr
    text = out.read_text(encoding="utf-8")
    compile(text, str(out), "exec")
    assert "# 'ng_dup' is not in this stub: unreadable descriptor:" in text
    assert "# 'in' is not in this stub: a Python keyword" in text
    assert "def ng_keywords(arg0: int, arg1: int, /) -> int:" in text
    assert "def match(arg0: int, /, type: int, arg2: int) -> int:" in text
    (tmp_path / "fixture_lib.py").write_text(
        f"import pyo2\n_dll = pyo2.RustDLL({str(fixture_path)!r})\n"
        "def __getattr__(name: str) -> object:\n    return _dll[name]\n"
    )
    use = """
        import fixture_lib as f
        total: int = f.ng_keywords(3, 1) + f.ng_soft(match=3, type=1) + f.match(3, 1, arg2=0)
        total += f.ng_nfkc(3, fi=1) + f.ng_unicode(größe=3, b=1) + f.ng_doc(3, 1) + f.ng_long_doc(3, 1)
        print(total)
        """
    checked = mypy_stub_module(tmp_path, use)
    assert checked.returncode == 0, checked.stdout
    ran = subprocess.run([sys.executable, "use.py"], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert ran.stdout.strip() == "49"


def mypy_stub_module(directory: Path, use: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy is not installed for this Python (it does not run on PyPy)")
    (directory / "use.py").write_text(inspect.cleandoc(use) + "\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "use.py"],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
    )


def test_inspect_on_the_hostile_fixture(fixture_path: Path) -> None:
    """On an ASCII terminal, with control characters in a doc comment."""
    result = run_cli("inspect", str(fixture_path))
    assert result.returncode == 1  # some descriptors are unreadable
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "fn ng_dup(?)  // unreadable descriptor: the #[pyo2::export] descriptor of fn 'ng_dup'" in out
    assert "fn ng_bad_utf8(?)  // unreadable descriptor:" in out
    assert "fn ng_keywords(in: u8, lambda: u8) -> u8" in out
    if sys.implementation.name == "cpython":  # (PyPy's stdout escapes another way)
        assert "fn ng_nfkc(\\ufb01: u8, fi: u8) -> u8" in out  # escaped for the ASCII terminal
    assert "/// Replacement \\ufffd, escape \\x1b[31mred\\x1b[0m, CR \\r, form feed \\x0c, LS \\u2028." in out
    assert "\x1b" not in out and "\r" not in out
    assert "fn ex_add_u8(a: u8, b: u8) -> u8" in out  # and the rest of the library
