"""``import pyo2`` imports only what a call needs: the heavy standard modules
(``typing``, ``re``, ``enum``, ``inspect``, ``linecache``, ``threading``…) are
imported when something first uses them, not with the package; loading a
library and getting its functions doesn't import ``inspect`` (nor ``ast``,
``dis``), and the signature ``inspect`` then shows is the same. A behaviour
test (which modules are loaded), not a timing test; ``python -X importtime``
is what shows their cost."""

from __future__ import annotations

import inspect
import json
import pydoc
import sys
from pathlib import Path
from typing import Any

import pytest

import pyo2
from pyo2 import _accelerate, _function
from pyo2._types import BOOL, SCALARS, Ret, Signature
from support import pep604, run_python

#: Not imported by ``import pyo2`` (each costs 0.5 to 9 ms of import time).
HEAVY = [
    "typing",
    "re",
    "enum",
    "inspect",
    "linecache",
    "tokenize",
    "threading",
    "dataclasses",
    "functools",
    "contextlib",
    "pyo2._protocol",
    "pyo2._records",
    "pyo2._stubgen",
]


def loaded_after(code: str) -> set[str]:
    """The modules ``code`` loads, in a fresh interpreter (what was loaded
    before it, by the interpreter and its site setup, doesn't count)."""
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "import json\n"  # after the snapshot: json's own imports don't count
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    done = run_python(script)
    assert done.returncode == 0, done.stderr
    loaded: set[str] = set(json.loads(done.stdout.splitlines()[-1]))
    return loaded


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="PyPy preloads most of the standard library")
def test_import_pyo2_leaves_the_heavy_modules_out() -> None:
    loaded = loaded_after("import pyo2")
    assert "pyo2._dll" in loaded  # the snapshot sees what the import brings
    baseline = loaded_after("pass")
    assert not (set(HEAVY) - baseline) & loaded, sorted((set(HEAVY) - baseline) & loaded)


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="PyPy preloads most of the standard library")
def test_a_call_still_works_and_imports_what_it_uses(fixture_path: Path) -> None:
    """The deferred imports happen when needed: a declared and an exported
    call, ``pyo2.RustFunction`` (a ``typing.Protocol``) and a traceback
    showing the generated line (``linecache``) all work in a fresh
    interpreter."""
    code = (
        "import pyo2, traceback\n"
        f"dll = pyo2.RustDLL({str(fixture_path)!r})\n"
        "assert dll.ex_add_u8(2, 3) == 5\n"
        "assert isinstance(dll.ex_add_u8, pyo2.RustFunction)\n"
        "assert pyo2.RustFunction.__module__ == 'pyo2'\n"
        "try:\n"
        "    dll.ex_add_u8(300, 1)\n"
        "except (OverflowError, TypeError, ValueError) as e:\n"
        "    shown = ''.join(traceback.format_exception(type(e), e, e.__traceback__))\n"
        "    assert '<pyo2 ' in shown, shown\n"
        "else:\n"
        "    raise AssertionError('no error')\n"
    )
    loaded = loaded_after(code)
    # (linecache itself: imported by traceback on 3.9-3.12, and on 3.13 only
    # when a frame's line is read; the '<pyo2 ' assertion above covers it.)
    assert {"typing", "pyo2._protocol"} <= loaded


# ---------------------------------------------------------------------------
# Loading a library and getting its functions: no inspect, the same signatures.

I64, F32 = SCALARS["i64"], SCALARS["f32"]

#: What loading a function must not import (``inspect`` imports ``ast`` and ``dis``).
INSPECT = ["inspect", "ast", "dis"]

#: Functions of plain scalars: annotated without pyo2._stubgen (and typing).
SCALAR = {
    "ex_add_u8": "(a: int, b: int) -> int",
    "ng_raw": "(arg0: int, /, b: int) -> int",  # `in`: a positional-only arg0
    "ng_keywords": "(arg0: int, arg1: int, /) -> int",  # `in`, `lambda`
    "ng_soft": "(match: int, type: int) -> int",
    "ex_div": "(a: int, b: int) -> int",  # Result<i32, DivError>
    "ex_echo_f32": "(x: float) -> float",
    "ex_unit": "() -> None",
    "clear_logger": "() -> bool",
}
#: Any other function: annotated by the stubs' spelling (pyo2._stubgen).
OTHER = {
    "ex_repeat": "(s: str | bytes | bytearray | memoryview, n: int) -> str",
    "ex_find": (
        "(haystack: str | bytes | bytearray | memoryview, needle: str | bytes | bytearray | memoryview)"
        " -> int | None"
    ),
    "ex_seen_i64": "(v: list[int] | array.array[int]) -> list[int]",
    "double_i64": "(*args: Any) -> None",  # no descriptor: inferred
    "scale": "(v: list[float] | array.array[float], k: float) -> float",  # declared
}
SCALE = "fn scale(v: &mut PyVec<f64>, k: f64) -> f64"


def get(dll: Any, name: str) -> Any:
    return dll.declare(SCALE) if name == "scale" else dll[name]


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="PyPy preloads most of the standard library")
@pytest.mark.parametrize("pure", [False, True], ids=["accelerated", "pure"])
def test_loading_functions_leaves_inspect_out(fixture_path: Path, pure: bool) -> None:
    """In a fresh interpreter: getting functions imports no ``inspect``
    (scalar ones not even ``typing``); imported afterwards, it shows the
    signatures a process that had it loaded shows, ``help`` the same text,
    ``getsource`` the generated source."""
    code = f"""
import os, sys
os.environ.pop("PYO2_PURE", None)
if {pure!r}:
    os.environ["PYO2_PURE"] = "1"
import pyo2
dll = pyo2.RustDLL({str(fixture_path)!r})
SCALE = {SCALE!r}
def get(name):
    return dll.declare(SCALE) if name == "scale" else dll[name]
functions = {{name: get(name) for name in {list(SCALAR)!r}}}
assert dll.ex_add_u8(2, b=3) == 5
scalar_only = sorted(m for m in {[*INSPECT, "typing", "pyo2._stubgen"]!r} if m in sys.modules)
functions.update({{name: get(name) for name in {list(OTHER)!r}}})
still_out = sorted(m for m in {INSPECT!r} if m in sys.modules)
import inspect, json, pydoc
print(json.dumps({{
    "scalar_only": scalar_only,
    "still_out": still_out,
    "types": {{name: type(f).__name__ for name, f in functions.items()}},
    "signatures": {{name: str(inspect.signature(f)) for name, f in functions.items()}},
    "help": {{name: pydoc.plain(pydoc.render_doc(f)) for name, f in functions.items()}},
    "source": inspect.getsource(functions["ex_add_u8"]),
}}))
"""
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    fresh = json.loads(done.stdout.splitlines()[-1])
    assert fresh["scalar_only"] == [] and fresh["still_out"] == []
    if not pure and _accelerate.available():
        assert fresh["types"]["ex_add_u8"] == "Function" and fresh["types"]["ex_repeat"] == "Function"
    expected = {**SCALAR, **OTHER}
    assert {name: pep604(text) for name, text in fresh["signatures"].items()} == expected
    # This process has inspect loaded: its functions have their __signature__.
    dll = pyo2.RustDLL(fixture_path)
    for name in expected:
        here = get(dll, name)
        assert fresh["signatures"][name] == str(here.__signature__), name
        if fresh["types"][name] == type(here).__name__:  # both accelerated, or both pure
            assert fresh["help"][name] == pydoc.plain(pydoc.render_doc(here)), name
    assert fresh["source"].startswith("def ex_add_u8(")  # the generated source
    assert fresh["source"] == inspect.getsource(dll.ex_add_u8)


def test_the_stand_in_gives_the_signature_itself(dll: pyo2.RustDLL) -> None:
    """For every function of the fixture, the signature ``inspect`` makes from
    the stand-in is the ``__signature__`` it has when inspect is loaded."""
    names = [n for n in pyo2._dll.function_names(dll) if not n.startswith("__")]
    checked = 0
    for name in names:
        try:
            function: Any = dll[name]
        except (pyo2.Pyo2Error, AttributeError):
            continue  # a descriptor the fixture makes unreadable on purpose
        stand_in = _function._stand_in(function, function.signature)
        assert inspect.signature(stand_in) == function.__signature__, name
        assert stand_in.__name__ == function.__name__ and stand_in.__module__ == function.__module__
        with pytest.raises(TypeError, match="only shows a pyo2 function's signature"):
            stand_in(*[0] * len(inspect.signature(stand_in).parameters))
        checked += 1
    assert checked > 200


@pytest.mark.parametrize(
    "ret",
    [
        None,
        I64,
        Ret(None),
        Ret(I64),
        Ret(BOOL, optional=True),
        Ret(None, optional=True),
        Ret(F32, error="E"),
        Ret(F32, optional=True, error="E"),
    ],
    ids=lambda ret: f"{type(ret).__name__}:{ret}",
)
def test_scalar_annotations_are_the_stubs(ret: Any) -> None:
    """:func:`pyo2._function._annotations` annotates plain scalars itself, as
    the stubs' spelling (``_stubgen._Names``) does."""
    from pyo2._stubgen import _Names

    sig = Signature("f", (("a", I64), ("b", F32), ("c", BOOL)), ret)
    names = _Names(set())
    stubs = (
        [_function._annotation(names.param(t)) for _, t in sig.params],
        _function._annotation(names.ret(sig.ret)),
    )
    assert _function._annotations(sig) == stubs
