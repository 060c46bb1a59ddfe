"""A Rust function introspects as one: clean tracebacks that show the
generated line, ``__signature__`` with the Python types (the stubs'),
``__module__`` / ``__qualname__`` naming the library and the function, the raw
ctypes function, and wrong calls worded as Python words them plus the Rust
signature, on every path (generated, inferred, names Python can't spell)."""

from __future__ import annotations

import ctypes
import inspect
import itertools
import linecache
import re
import traceback
from pathlib import Path
from typing import Any, Callable

import pytest

import pyo2
from pyo2 import _codegen
from pyo2._abi import CSlot
from pyo2._function import make_function
from pyo2._stubgen import stub
from pyo2._types import U8, Ret, Signature
from support import pep604


def raised(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as e:  # whatever it is: the test looks at it
        return e
    raise AssertionError("the call did not raise")


def shown(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


# ---------------------------------------------------------------------------
# Tracebacks.


def bad_calls(dll: pyo2.RustDLL) -> list[tuple[str, Callable[[], object]]]:
    scale = dll.declare("fn scale(v: &mut PyVec<f64>, k: f64) -> f64")
    add = dll.declare("fn add_i64(a: i64, b: i64) -> i64")
    sum_u8 = dll.declare("fn sum_u8(v: &PyVec<u8>) -> u64")
    return [
        ("declared scalar", lambda: add(1, "x")),
        ("declared scalar out of range", lambda: add(1, 2**64)),
        ("declared list item", lambda: scale([1.0, "x"], 2.0)),
        ("declared list item out of range", lambda: sum_u8([1, 256])),
        ("declared list of the wrong type", lambda: scale("text", 2.0)),
        ("exported scalar", lambda: dll.ex_add_u8(1, 300)),
        ("exported str", lambda: dll.ex_parse(b"\xff")),
        ("inferred mixed list", lambda: dll.double_i64([1, "x"])),
        ("inferred item", lambda: dll.double_i64([1, 2**70])),
        ("inferred unsupported", lambda: dll.double_i64(object())),
        ("lone surrogate", lambda: dll.byte_len("\ud800")),
        ("missing argument", lambda: scale([1.0])),
        ("too many arguments", lambda: add(1, 2, 3)),
    ]


def test_a_bad_argument_has_no_chained_traceback(dll: pyo2.RustDLL) -> None:
    for what, call in bad_calls(dll):
        exc = raised(call)
        text = shown(exc)
        assert "During handling of the above exception" not in text, what
        assert "direct cause" not in text, what
        assert exc.__cause__ is None, what
        assert exc.__context__ is None or exc.__suppress_context__, what


def generated_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<pyo2 fn ")]


def test_tracebacks_show_the_generated_line(dll: pyo2.RustDLL) -> None:
    scale = dll.declare("fn scale(v: &mut PyVec<f64>, k: f64) -> f64")
    exc = raised(lambda: scale([1.0], "x"))
    frames = generated_frames(exc)
    assert len(frames) == 1
    frame = frames[0]
    assert frame.filename.startswith("<pyo2 fn scale(v: &mut PyVec<f64>, k: f64) -> f64 #")
    assert frame.name == "scale"
    assert frame.line == "return _pyo2_general(_pyo2_state, (v, k,))"
    assert frame.line in shown(exc)


def test_the_generated_source_is_inspectable(dll: pyo2.RustDLL) -> None:
    add = dll.declare("fn add_i64(a: i64, b: i64) -> i64")
    source = inspect.getsource(add)
    assert source.startswith("def add_i64(a=_pyo2_M, b=_pyo2_M, *_pyo2_extra):\n")
    assert "return _pyo2_c(a, b)" in source
    code = add.__code__  # type: ignore[attr-defined]  # a plain Python function
    assert linecache.getline(code.co_filename, 1) == source.splitlines(True)[0]
    exported = inspect.getsource(dll.ex_add_u8)
    assert exported.startswith("def ex_add_u8(")


def test_inferred_shapes_show_their_line_and_linecache_stays_bounded(dll: pyo2.RustDLL) -> None:
    exc = raised(lambda: dll.double_i64([1, 2**70]))  # the shape's function, then the general path
    assert [f.line for f in generated_frames(exc)] == ["return _pyo2_general(_pyo2_state, (a0,))"]

    def entries() -> int:
        return sum(1 for name in linecache.cache if name.startswith("<pyo2 fn "))

    function = pyo2.RustDLL(pyo2.library_path(dll)).plain_twice
    before = entries()
    for args in itertools.product([1, 1.5, True, "s"], repeat=5):  # 1024 shapes
        function(*args)
        assert entries() <= before + _codegen.MAX_SHAPE_SOURCES


# ---------------------------------------------------------------------------
# Signature, names, the raw C function.


def test_signatures_have_the_stubs_annotations(dll: pyo2.RustDLL, fixture_path: Path) -> None:
    functions = ["ex_add_u8", "ex_parse", "ex_double", "ex_seen_i64", "ex_index"]
    text = stub(str(fixture_path), {name: dll[name].signature for name in functions})
    for name in functions:
        defined = next(line for line in text.splitlines() if line.startswith(f"def {name}("))
        shown = pep604(f"def {name}{inspect.signature(dll[name])}:")
        assert defined == shown.replace("array.array[", "array[")
    add = dll.ex_add_u8
    sig = inspect.signature(add)
    assert [(p.name, p.annotation, p.kind) for p in sig.parameters.values()] == [
        ("a", int, inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ("b", int, inspect.Parameter.POSITIONAL_OR_KEYWORD),
    ]
    assert sig.return_annotation is int
    assert add.__signature__ is sig  # type: ignore[attr-defined]
    assert str(inspect.signature(dll.ng_raw)) == "(arg0: int, /, b: int) -> int"
    assert str(inspect.signature(dll.double_i64)) == "(*args: Any) -> None"


def test_module_and_qualname_name_the_library(dll: pyo2.RustDLL) -> None:
    scale = dll.declare("fn scale(v: &mut PyVec<f64>, k: f64) -> f64")
    for f in [scale, dll.ex_add_u8, dll.double_i64, dll["in"]]:
        assert f.__module__ == "pyo2.lib.pyo2_fixture"
        assert f.__qualname__ == f.__name__ == f.name
        assert all(part.isidentifier() for part in f.__module__.split("."))
    assert re.fullmatch(r"<function scale at 0x[0-9a-f]+>", repr(scale))  # a plain function
    assert "fn scale(v: &mut PyVec<f64>, k: f64) -> f64" in pydoc_text(scale)


def pydoc_text(f: Any) -> str:
    import pydoc

    return pydoc.plain(pydoc.render_doc(f))


def test_the_raw_ctypes_function_is_callable(dll: pyo2.RustDLL) -> None:
    add = dll.declare("fn add_i64(a: i64, b: i64) -> i64")
    assert isinstance(add, pyo2.RustFunction)
    assert add.c_function(2, 3) == 5
    assert add.c_function.restype is ctypes.c_int64
    inferred = pyo2.RustDLL(pyo2.library_path(dll)).add_i64
    assert inferred.signature is None
    assert inferred.c_function(2, 3) == 5
    assert inferred.c_function.restype is ctypes.c_int
    exported = dll.ex_add_u8
    slot = CSlot()
    assert exported.c_function(200, 100, ctypes.addressof(slot)) == 0  # OK
    assert slot.u8 == 44  # wrapping_add
    values = [1.0, 2.0]
    scale = dll.declare("fn scale(v: &mut PyVec<f64>, k: f64) -> f64")
    data = (ctypes.c_double * 2)(*values)
    header = (ctypes.c_size_t * 2)(ctypes.addressof(data), 2)
    assert scale.c_function(ctypes.addressof(header), 3.0) == 9.0
    assert list(data) == [3.0, 6.0]


# ---------------------------------------------------------------------------
# Wrong calls: Python's words, then the Rust signature.


def python_says(params: str, *args: Any, **kwargs: Any) -> str:
    """What Python itself says for the call of a function ``f(params)``."""
    namespace: dict[str, Any] = {}
    exec(f"def f({params}): pass", namespace)
    message = str(raised(lambda: namespace["f"](*args, **kwargs)))
    assert message.startswith("f() ")
    return message[len("f() ") :]


CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("a, b", (), {}),
    ("a, b", (1,), {}),
    ("a, b", (), {"b": 1}),
    ("a, b", (1, 2, 3), {}),
    ("a, b", (1,), {"x": 2}),
    ("a, b", (1,), {"a": 2}),
    ("a, b, c", (), {}),
    ("a, b, c", (1,), {"c": 2}),
    ("a", (1, 2), {}),
    ("", (1,), {}),
    ("", (1, 2), {}),
]


@pytest.mark.parametrize(("params", "args", "kwargs"), CALLS)
def test_wrong_calls_are_worded_as_python_words_them(
    dll: pyo2.RustDLL, params: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """A function with usable names (Python binds keywords itself), and the
    same with names Python can't spell (pyo2 binds them): the same words."""
    names = [p for p in params.split(", ") if p]
    address = ctypes.cast(ctypes.CDLL(pyo2.library_path(dll))["ng_soft"], ctypes.c_void_p).value
    assert address is not None
    expected = python_says(params, *args, **kwargs)
    usable = Signature("ng_soft", tuple((n, U8) for n in names), Ret(U8))
    f = make_function(dll, "ng_soft", address, usable)
    message = str(raised(lambda: f(*args, **kwargs)))
    if "missing" in expected or "takes" in expected:
        assert message == f"ng_soft() {expected} ({usable})"
    else:  # unexpected keyword, multiple values: Python's own message, from the generated function
        assert message.startswith(f"ng_soft() {expected}")
    # The same parameters, but the first spelled `in` (positional-only in Python,
    # a keyword by its Rust name): pyo2 binds every call, in the same words.
    if names:
        spelled = ["in", *names[1:]]
        hostile = Signature("ng_soft", tuple((n, U8) for n in spelled), Ret(U8))
        g = make_function(dll, "ng_soft", address, hostile)
        renamed = {"in" if k == "a" else k: v for k, v in kwargs.items()}
        message = str(raised(lambda: g(*args, **renamed)))
        assert message == f"ng_soft() {expected.replace(repr('a'), repr('in'))} ({hostile})"


def test_missing_arguments_on_every_path(dll: pyo2.RustDLL) -> None:
    scale = dll.declare("fn scale(v: &mut PyVec<f64>, k: f64) -> f64")
    rust = "(fn scale(v: &mut PyVec<f64>, k: f64) -> f64)"
    for call in [lambda: scale([1.0]), lambda: scale(v=[1.0]), lambda: scale(k=2.0)]:
        exc = raised(call)
        assert type(exc) is TypeError
        assert str(exc) in (
            f"scale() missing 1 required positional argument: 'k' {rust}",
            f"scale() missing 1 required positional argument: 'v' {rust}",
        )
    assert str(raised(lambda: dll.ex_add_u8(1))) == (
        "ex_add_u8() missing 1 required positional argument: 'b' (fn ex_add_u8(a: u8, b: u8) -> u8)"
    )
    assert str(raised(dll.ex_add_u8)) == (
        "ex_add_u8() missing 2 required positional arguments: 'a' and 'b' (fn ex_add_u8(a: u8, b: u8) -> u8)"
    )
    match = dll["match"]  # fn match(in: u8, type: u8, arg2: u8) -> u8: `in` is positional-only
    assert str(raised(match)) == (
        "match() missing 3 required positional arguments: 'in', 'type', and 'arg2' "
        "(fn match(in: u8, type: u8, arg2: u8) -> u8)"
    )
    assert str(raised(lambda: match(**{"in": 1, "arg2": 2}))) == (
        "match() missing 1 required positional argument: 'type' (fn match(in: u8, type: u8, arg2: u8) -> u8)"
    )
    assert str(raised(lambda: dll.ng_raw(1))) == (
        "ng_raw() missing 1 required positional argument: 'b' (fn ng_raw(in: u8, b: u8) -> u8)"
    )
    add = dll.declare("fn add_i64(a: i64, b: i64) -> i64")
    assert str(raised(lambda: add(1, 2, 3))) == (
        "add_i64() takes 2 positional arguments but 3 were given (fn add_i64(a: i64, b: i64) -> i64)"
    )
