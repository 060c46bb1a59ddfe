"""The compiled accelerator (``pyo2._accel``): used where it should be, and
indistinguishable from the pure-Python path except in speed.

The differential tests build both functions for the same fixture function
(the accelerated one falls back to the pure one, ``f.fallback``) and
compare results, exceptions (type and message) and what ends up in
``&mut`` lists, for Hypothesis-drawn arguments right and wrong. They run
with or without ``PYO2_PURE=1``: the accelerated function is then built
explicitly.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import functools
import gc
import importlib
import itertools
import operator
import os
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ANY_SCALAR, VIEW_ARGS, Color, Liar, as_f32

import pyo2
from pyo2 import _abi, _accelerate
from pyo2._types import SCALARS
from support import library, run_python

if sys.implementation.name != "cpython" or sys.version_info < (3, 10):  # pragma: no cover
    pytest.skip("the accelerator is built for CPython 3.10+ only", allow_module_level=True)

import tracemalloc  # after the skip: PyPy has no _tracemalloc

#: The accelerator module: built by the dev install on CPython 3.10+ (the
#: import fails loudly if it wasn't).
accel: Any = importlib.import_module("pyo2._accel")


def pair(dll: pyo2.RustDLL, name: str) -> tuple[Any, Any]:
    """The accelerated and the pure function for the exported ``name``."""
    f = dll[name]
    if isinstance(f, accel.Function):
        return f, f.fallback
    sig = f.signature
    assert sig is not None
    fast = _accelerate.accelerate(dll, sig, f, [n for n, _ in sig.params], module=accel)
    assert isinstance(fast, accel.Function), name
    return fast, f


@pytest.fixture(scope="module")
def lib(fixture_path: Path) -> pyo2.RustDLL:
    return pyo2.RustDLL(fixture_path)


def outcome(call: Any) -> tuple[str, Any]:
    try:
        result = call()
    except Exception as e:  # comparing whatever either path raises
        return ("raised", (type(e), str(e)))
    if isinstance(result, float):
        return ("returned", struct.pack("<d", result))  # NaN- and -0.0-exact
    if isinstance(result, list):
        return ("returned", [struct.pack("<d", x) if isinstance(x, float) else (type(x), x) for x in result])
    return ("returned", (type(result), result))


def copied(value: Any) -> Any:
    """A fresh copy of a (possibly nested) argument, so each path gets its own."""
    if type(value) is list:
        return [copied(v) for v in value]
    if type(value) is bytearray:
        return bytearray(value)
    return value


def bits(value: Any) -> Any:
    """``value`` for comparing: floats bit for bit (NaN payloads, -0.0), every
    item with its exact type, lists and tuples item by item."""
    if type(value) is float:
        return (float, struct.pack("<d", value))
    if type(value) in (list, tuple):
        return (type(value), [bits(v) for v in value])
    if type(value) is dict:
        return {k: bits(v) for k, v in value.items()}
    return (type(value), repr(value))


def agree(fast: Any, pure: Any, *args: Any, **kwargs: Any) -> None:
    """Both functions give the same outcome for copies of the arguments, and
    leave the same values in them (of the same types, floats bit for bit)."""
    a_args, b_args = copied(args), copied(args)
    a_kw, b_kw = copied(kwargs), copied(kwargs)
    a = outcome(lambda: fast(*a_args, **a_kw))
    b = outcome(lambda: pure(*b_args, **b_kw))
    assert a == b, (args, kwargs)
    assert bits(a_args) == bits(b_args) and bits(a_kw) == bits(b_kw), (args, kwargs)


# ---------------------------------------------------------------------------
# Where it is used.


def test_exported_functions_are_accelerated_and_declared_ones_are_not(lib: pyo2.RustDLL) -> None:
    if not _accelerate.available():  # this process runs with PYO2_PURE=1
        assert not isinstance(lib.ex_sum, accel.Function)
        return
    for name in ["ex_add_u8", "ex_greet", "ex_sum", "ex_double", "ex_range", "ex_parse", "ex_unit"]:
        assert isinstance(lib[name], accel.Function), name
    # Unsupported parameters (nested views, records…) and declared functions: pure.
    assert not isinstance(lib.ex_nested, accel.Function)
    assert not isinstance(lib.ex_lengths, accel.Function)
    assert not isinstance(lib.declare("fn add_i64(a: i64, b: i64) -> i64"), accel.Function)


@pytest.mark.parametrize(("env", "expected"), [("0", "Function"), ("1", "function")])
def test_pyo2_pure_turns_it_off(fixture_path: Path, env: str, expected: str) -> None:
    code = (
        "import os, sys\n"
        f"os.environ['PYO2_PURE'] = {env!r}\n"
        "import pyo2\n"
        f"dll = pyo2.RustDLL({str(fixture_path)!r})\n"
        "print(type(dll.ex_sum).__name__, dll.ex_sum([1, 2, 3]))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [expected, "6"]


def test_it_introspects_as_the_pure_function(lib: pyo2.RustDLL) -> None:
    import inspect

    fast, pure = pair(lib, "ex_repeat")
    for attr in [
        "__name__",
        "__qualname__",
        "__module__",
        "__doc__",
        "__signature__",
        "signature",
        "doc",
        "dll",
    ]:
        assert getattr(fast, attr) == getattr(pure, attr), attr
    assert inspect.signature(fast) == inspect.signature(pure)
    assert fast.__wrapped__ is pure
    assert copy.copy(fast) is fast and copy.deepcopy(fast) is fast  # as for a function
    assert fast.__globals__ is pure.__globals__  # the pure function's own attributes show through
    assert repr(fast) == "<pyo2 function pyo2_fixture::ex_repeat(s: &str, n: usize) -> String>"
    fast.note = 1  # attributes can be set, as on a function
    assert vars(fast)["note"] == 1 and fast.note == 1
    del fast.note
    with pytest.raises(AttributeError):
        del fast.note
    assert fast.releases_gil  # a &str argument releases it


def test_functions_and_methods_can_be_weakly_referenced(lib: pyo2.RustDLL) -> None:
    """As Python functions can (caches keyed by function, `weakref.finalize`)."""
    import weakref

    functions = [lib.ex_add_u8, lib.ex_repeat, lib.types.Counter.add]
    refs = [weakref.ref(f) for f in functions]
    assert [r() for r in refs] == functions
    cache: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
    cache[lib.ex_add_u8] = 1
    assert cache[lib.ex_add_u8] == 1
    # A Function of its own (not the library's cached one) dies with its last reference.
    pure = pair(lib, "ex_add_u8")[1]
    sig = pure.signature
    own = _accelerate.accelerate(lib, sig, pure, [n for n, _ in sig.params], module=accel)
    assert isinstance(own, accel.Function) and own(2, 3) == 5
    ref = weakref.ref(own)
    del own
    gc.collect()
    assert ref() is None


# ---------------------------------------------------------------------------
# Methods of classes (through their uniform entry, the handle as args[0]).


def test_methods_are_accelerated(lib: pyo2.RustDLL) -> None:
    C, T = lib.types.Counter, lib.types.Tokenizer
    if not _accelerate.available():  # this process runs with PYO2_PURE=1
        assert not isinstance(C.add, accel.Function)
        return
    for method in [C.add, C.add_slowly, T.encode, C.value.fget, T.seen.fget]:  # methods and getters
        assert type(method) is accel.Method and isinstance(method, accel.Function)
        assert type(method.__wrapped__).__name__ == "function"  # the pure method it falls back to
    # A callback parameter: the pure method.
    assert not isinstance(C.peek, accel.Function) and not isinstance(T.each, accel.Function)
    assert repr(C.add) == "<pyo2 method pyo2_fixture::Counter.add(&mut self, k: i64) -> i64>"


def test_pyo2_pure_turns_methods_off(fixture_path: Path) -> None:
    code = (
        "import os\n"
        "os.environ['PYO2_PURE'] = '1'\n"
        "import pyo2\n"
        f"dll = pyo2.RustDLL({str(fixture_path)!r})\n"
        "C = dll.types.Counter\n"
        "print(type(C.add).__name__, C(2).add(3))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["function", "5"]


def method_pair(lib: pyo2.RustDLL, cls: str, name: str) -> tuple[Any, Any]:
    """The accelerated method and the pure one it falls back to."""
    method = getattr(lib.types[cls], name)
    if not isinstance(method, accel.Function):
        pytest.skip("methods are pure in this process (PYO2_PURE=1)")
    return method, method.__wrapped__


def test_methods_bind_as_functions_do(lib: pyo2.RustDLL) -> None:
    import inspect

    C = lib.types.Counter
    fast, pure = method_pair(lib, "Counter", "add")
    c = C(10)
    assert c.add(1) == 11 and c.add(k=2) == 13 and C.add(c, 3) == 16  # called on the instance, the class
    bound = c.add
    assert bound.__self__ is c and bound.__func__ is fast and bound(4) == 20
    assert vars(C)["add"].__get__(c, C)(k=5) == 25
    assert fast.__get__(None, C) is fast and C.__dict__["add"] is fast
    assert inspect.signature(fast) == inspect.signature(pure)
    assert str(inspect.signature(bound)) == "(k: int) -> int"
    for attr in ["__name__", "__qualname__", "__module__", "__doc__", "rust_function"]:
        assert getattr(fast, attr) == getattr(pure, attr), attr
    assert fast.__qualname__ == "Counter.add"
    # Its type is immutable (CPython 3.11+ then specialises `c.add(...)`)
    # before 3.12, which deprecates an immutable type with a mutable base;
    # its own __doc__ / __module__ don't hide the method's.
    if sys.version_info < (3, 12):
        with pytest.raises(TypeError):
            accel.Method.note = 1
    assert fast.__module__ == "pyo2.lib.pyo2_fixture" and fast.__doc__ == pure.__doc__
    assert lib.types.Tokenizer.encode.__doc__.startswith("fn encode(&mut self, text: &str) -> Vec<u32>")


def test_the_accelerator_imports_without_warnings() -> None:
    """Importing it warns of nothing, so ``-W error`` doesn't break ``import
    pyo2`` (CPython 3.12 and 3.13 warn when an immutable type has a mutable
    base: ``Method`` is immutable only before 3.12)."""
    code = (
        "import sys, pyo2, pyo2._accelerate as a\n"
        "from pyo2 import _accel\n"
        "immutable = bool(_accel.Method.__flags__ & (1 << 8))\n"
        "print(a.available(), immutable == (sys.version_info < (3, 12)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYO2_PURE": "0"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_methods_agree_with_the_pure_path(lib: pyo2.RustDLL) -> None:
    C, T = lib.types.Counter, lib.types.Tokenizer
    fast, pure = method_pair(lib, "Counter", "add")

    class Sub(C):  # type: ignore[misc, valid-type]
        pass

    closed = C(0)
    closed.close()
    forged = C(0)
    forged._pyo2_h ^= 1 << 63  # a number no live object of this library has
    foreign = pyo2.RustDLL(library("pyo2-fixture-b", "pyo2_fixture_b")).types.Counter(3)  # another library's
    unset = T.__new__(T)  # no handle at all
    selves: list[Any] = [C(1), Sub(2), closed, forged, foreign, unset, 5, None, "x", object()]
    args: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((1,), {}),
        ((), {"k": 2}),
        ((True,), {}),
        ((2**63,), {}),
        ((1.5,), {}),
        (("1",), {}),
        ((), {}),
        ((1, 2), {}),
        ((), {"j": 1}),
        ((1,), {"k": 1}),
    ]
    for s in selves:
        for a, kw in args:
            # Each path on its own object of the same state, where the state matters.
            fs, ps = s, s
            if type(s) in (C, Sub) and s is not closed and s is not forged:
                fs, ps = type(s)(1), type(s)(1)
            got = outcome(lambda fs=fs, a=a, kw=kw: fast(fs, *a, **kw))
            assert got == outcome(lambda ps=ps, a=a, kw=kw: pure(ps, *a, **kw)), (s, a, kw)
        # The getter, on the same selves.
        getter = C.value.fget
        assert outcome(lambda s=s, g=getter: g(s)) == outcome(lambda s=s, g=getter: g.__wrapped__(s)), s
    # A Rust error: the re-entrant &mut call the pure path refuses too.
    c = C(0)
    seen: list[Any] = []

    def reenter(v: int) -> int:
        seen.append(outcome(lambda: c.add(1)))
        return v

    c.update(reenter)
    assert seen[0][0] == "raised" and seen[0][1][0] is RuntimeError
    # Text in, Vec<u32> out: the same tokens either way.
    enc, enc_pure = method_pair(lib, "Tokenizer", "encode")
    assert enc.__wrapped__ is enc_pure


def test_constructors_and_static_methods_are_accelerated(lib: pyo2.RustDLL) -> None:
    C, T = lib.types.Counter, lib.types.Tokenizer
    new, drops, size = C.__init__.rust_function, C.drops, T.builtin_size
    if not _accelerate.available():  # this process runs with PYO2_PURE=1
        assert not isinstance(new, accel.Function) and not isinstance(drops, accel.Function)
        return
    for f in [new, T.__init__.rust_function, drops, size]:
        assert type(f) is accel.Function, f  # no self: a plain function
    assert repr(drops) == "<pyo2 function pyo2_fixture::Counter.drops() -> u64>"
    assert C(5).value == 5 and C(start=-3).value == -3 and size() == 8 and drops() >= 0
    for args, kw in [((7,), {}), ((), {"start": 1}), (("x",), {}), ((2**70,), {}), ((1.0,), {}), ((), {})]:
        got = outcome(lambda a=args, k=kw: new(*a, **k))
        want = outcome(lambda a=args, k=kw: new.__wrapped__(*a, **k))
        if got[0] == "returned":  # two new objects: their handles differ
            assert want[0] == "returned" and type(got[1][1]) is int is type(want[1][1])
            for handle in (got[1][1], want[1][1]):  # adopted, so closed as objects are
                owner = C.__new__(C)
                owner._pyo2_adopt(handle)
                assert owner.value == (args or (kw["start"],))[0]
                owner.close()
        else:
            assert got == want, (args, kw)
    # `Err` from #[new]: pyo2.RustError, as on the pure path.
    err = outcome(lambda: T("/nonexistent/vocab.txt"))
    assert err == outcome(lambda: T.__init__.rust_function.__wrapped__("/nonexistent/vocab.txt"))
    assert err[0] == "raised" and err[1][0] is pyo2.RustError


def test_methods_hold_no_references(lib: pyo2.RustDLL) -> None:
    C = lib.types.Counter
    method_pair(lib, "Counter", "add")
    c = C(0)
    before = sys.getrefcount(c)
    for _ in range(1000):
        c.add(1)
        C.add(c, k=1)
    assert sys.getrefcount(c) == before and c.value == 2000


# ---------------------------------------------------------------------------
# Differential tests.

SCALAR_FUNCTIONS = [
    "ex_echo_i64",
    "ex_echo_u64",
    "ex_echo_f64",
    "ex_echo_f32",
    "ex_not",
    "ex_add_u8",
    "ex_sub",
]


@pytest.mark.parametrize("name", SCALAR_FUNCTIONS)
@given(values=st.lists(ANY_SCALAR, min_size=0, max_size=3))
@settings(max_examples=150)
def test_scalars_agree(lib: pyo2.RustDLL, name: str, values: list[Any]) -> None:
    fast, pure = pair(lib, name)
    agree(fast, pure, *values)


@given(a=ANY_SCALAR, b=ANY_SCALAR, swap=st.booleans(), extra=st.sampled_from([{}, {"c": 1}, {"a": 1}]))
def test_keywords_agree(lib: pyo2.RustDLL, a: Any, b: Any, swap: bool, extra: dict[str, Any]) -> None:
    fast, pure = pair(lib, "ex_div")
    agree(fast, pure, a, b=b, **({} if "a" in extra else extra))
    kwargs = {"b": b, "a": a} if swap else {"a": a, "b": b}
    agree(fast, pure, **kwargs, **({} if set(extra) & set(kwargs) else extra))
    agree(fast, pure, b=b)
    agree(fast, pure, a, b, **extra)
    agree(fast, pure, a, a=a)


TEXTS = st.one_of(
    st.text(max_size=8),
    st.text(st.characters(codec="utf-8"), max_size=8),
    st.sampled_from(["\ud800", "a\udfffb", "", "é", "12", "-7", "x y"]),
    st.binary(max_size=6),
    st.builds(bytearray, st.binary(max_size=3)),
    st.integers(),
    st.none(),
    st.sampled_from([Color.RED]),
)


class Str(str):
    pass


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("ex_greet", []),
        ("ex_byte_len", []),
        ("ex_parse", []),
        ("ex_first_word", []),
        ("ex_one_word", []),
        ("ex_find", [TEXTS]),
        ("ex_repeat", [st.integers(-1, 4)]),
    ],
)
@given(data=st.data(), text=st.one_of(TEXTS, TEXTS.map(lambda t: Str(t) if isinstance(t, str) else t)))
def test_text_agrees(lib: pyo2.RustDLL, name: str, extra: list[Any], data: Any, text: Any) -> None:
    fast, pure = pair(lib, name)
    agree(fast, pure, text, *(data.draw(s) for s in extra))


LIST_ARGS = st.one_of(
    VIEW_ARGS,
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20),
    st.lists(st.floats(), max_size=10),
    st.lists(st.sampled_from([1, 2.5, True, Liar(3), Color.RED, None]), max_size=4),
)


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("ex_sum", []),
        ("ex_sum_i64", []),
        ("ex_check_sorted", []),
        ("ex_index", [st.integers(-1, 25)]),
        ("ex_busy_sum", [st.integers(0, 3)]),
        ("ex_double", []),
        ("ex_double_f64", []),
        ("ex_fill_then_err", []),
        ("ex_fill_then_panic", []),
        *((f"ex_roundtrip_{t}", []) for t in ["i8", "u16", "i32", "u64", "usize", "f32", "f64", "bool"]),
    ],
)
@given(data=st.data(), value=LIST_ARGS)
def test_lists_agree(lib: pyo2.RustDLL, name: str, extra: list[Any], data: Any, value: Any) -> None:
    fast, pure = pair(lib, name)
    agree(fast, pure, value, *(data.draw(s) for s in extra))


#: Anything but an int that would make Rust allocate a huge Vec (as on the pure path).
NOT_HUGE = ANY_SCALAR.filter(lambda x: not isinstance(x, int) or not 0 <= x < 2**64)


@pytest.mark.parametrize("name", ["ex_range", "ex_halves", "ex_parity"])
@given(n=st.one_of(st.integers(-2, 40), NOT_HUGE))
def test_vec_returns_agree(lib: pyo2.RustDLL, name: str, n: Any) -> None:
    fast, pure = pair(lib, name)
    agree(fast, pure, n)


def test_returns(lib: pyo2.RustDLL) -> None:
    f = pair(lib, "ex_extremes")[0]
    assert f() == [-(2**63), -1, 0, 2**63 - 1]
    assert pair(lib, "ex_unit")[0]() is None
    assert pair(lib, "ex_halves")[0](3) == [0.0, 0.5, 1.0]
    assert pair(lib, "ex_parity")[0](3) == [False, True, False]
    assert pair(lib, "ex_roundtrip_u8")[0](b"\x00\xff") == b"\x00\xff"  # Vec<u8> is bytes
    assert pair(lib, "ex_first_word")[0]("  ") is None
    assert pair(lib, "ex_check_sorted")[0]([1, 2]) is None


# ---------------------------------------------------------------------------
# Errors, write-back and ownership.


def test_err_writes_back_and_panic_does_not(lib: pyo2.RustDLL) -> None:
    err, _ = pair(lib, "ex_fill_then_err")
    v = [1, 2, 3]
    with pytest.raises(pyo2.RustError, match="gave up after writing"):
        err(v)
    assert v == [-1, -1, -1]
    panic, _ = pair(lib, "ex_fill_then_panic")
    w = [1, 2, 3]
    with pytest.raises(pyo2.RustPanic, match="gave up after writing") as info:
        panic(w)
    assert w == [1, 2, 3]
    assert info.value.file is not None and info.value.file.endswith("exported.rs")


def test_write_back_refuses_a_list_changed_during_the_call(lib: pyo2.RustDLL) -> None:
    """Another thread changes the list while Rust (without the GIL) works on
    its copy: nothing is written back, and the error says why."""
    fast, pure = pair(lib, "ex_double_f64")
    for f in (fast, pure):
        n = 200_000
        v = [1.0] * n
        stop = threading.Event()

        def meddle(v: list[float] = v, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                v[0] = 7.0
                time.sleep(0)

        t = threading.Thread(target=meddle)
        t.start()
        try:
            caught = None
            for _ in range(50):
                v[:] = [1.0] * n
                try:
                    f(v)
                except RuntimeError as e:
                    caught = e
                    break
        finally:
            stop.set()
            t.join()
        assert caught is not None
        assert "was changed during the call" in str(caught)
        assert v[1:] == [1.0] * (n - 1)  # nothing written back


def test_the_gil_is_released_for_lists_and_kept_for_scalars(lib: pyo2.RustDLL) -> None:
    """A long call with a list lets another Python thread run meanwhile."""
    busy, _ = pair(lib, "ex_busy_sum")
    v = list(range(200_000))

    def calls() -> None:
        start = time.perf_counter()
        while time.perf_counter() - start < 0.3:
            busy(v, 200)

    _, during = progress_during(calls)
    assert during > 1000, during
    assert busy.releases_gil


def test_scalar_calls_keep_the_gil_until_rust_gets_a_callable(fixture_path: Path) -> None:
    """Scalar-only calls keep the GIL (cheaper), until Python first hands Rust
    a callable: a Rust thread may then call it while a call waits for that
    thread, which would deadlock if the call kept the GIL."""
    code = f"""
import os
os.environ["PYO2_PURE"] = "0"
import pyo2
dll = pyo2.RustDLL({str(fixture_path)!r})
f = dll.ex_sub
print(type(f).__name__, f.releases_gil, dll.ex_greet.releases_gil)
dll.set_logger(lambda text: None)  # a stored callback: Rust threads may call it
print(f.releases_gil, dll.log_from_threads(3, 5), f(5, 2))
dll.clear_logger()
"""
    result = run_python(code, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Function", "False", "True", "True", "15", "3"]


# ---------------------------------------------------------------------------
# #[pyo2::export(release_gil)] and #[release_gil] methods: the library marks a
# long-running function with the data symbol __pyo2_release_gil__SYMBOL.

#: The marked functions and methods of the fixture, by C symbol, and their unmarked twins.
MARKED = [
    "gil_sleep_ms",
    "gil_sleep_ms_extern",
    "__pyo2_m__GilSleeper__sleep_ms",
    "__pyo2_m__GilSleeper__nap_ms",
]
UNMARKED = ["gil_sleep_ms_held", "__pyo2_m__GilSleeper__sleep_ms_held", "__pyo2_m__GilSleeper__new", "ex_sub"]


def progress_during(call: Any) -> tuple[Any, int]:
    """What ``call()`` returns, and how many times another Python thread
    counted while it ran (more than 0 only if the call let it run)."""
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        while ticks == 0:  # the counter runs
            time.sleep(0.001)
        before = ticks
        result = call()
        during = ticks - before
    finally:
        stop.set()
        t.join()
    return result, during


def test_release_gil_is_a_data_symbol_older_loaders_ignore(lib: pyo2.RustDLL, fixture_path: Path) -> None:
    """The mark is one exported byte, not a function (a loader that lists the
    library's functions never lists it) and not in the descriptor (which
    reads as an unmarked function's, so an older loader loads the function
    as before); a library without the mark (built before it existed, or
    unmarked) loads as before, its functions unmarked."""
    from pyo2._dll import function_names
    from pyo2._symbols import exported_functions

    for symbol in MARKED:
        assert _accelerate.release_gil_marked(lib, symbol), symbol
        pointer = _accelerate._cdll(lib)[_accelerate.RELEASE_GIL_PREFIX + symbol]
        assert ctypes.c_uint8.from_address(ctypes.cast(pointer, ctypes.c_void_p).value or 0).value == 1
    for symbol in UNMARKED:
        assert not _accelerate.release_gil_marked(lib, symbol), symbol
    assert not _accelerate.release_gil_marked(object(), "gil_sleep_ms")  # not a RustDLL
    listed = [*exported_functions(str(fixture_path)), *function_names(lib), *dir(lib)]
    assert "gil_sleep_ms" in listed
    assert not [n for n in listed if "release_gil__" in n]
    # The descriptors: version 1, spelled as the unmarked twin's.
    for name in ["gil_sleep_ms", "gil_sleep_ms_held"]:
        address = ctypes.cast(_accelerate._cdll(lib)[_abi.SIG_PREFIX + name], ctypes.c_void_p).value
        text = ctypes.CFUNCTYPE(ctypes.c_char_p)(address or 0)() or b""
        assert text.decode().split("\n")[:2] == ["pyo2 1", f"fn {name}(ms: u64) -> u64"]
    assert lib.gil_sleep_ms(2) == 2 == lib.gil_sleep_ms_held(2) == lib.gil_sleep_ms_extern(2)


def test_a_function_marked_release_gil_lets_other_threads_run(lib: pyo2.RustDLL) -> None:
    """A 300 ms scalar-only call marked release_gil: another Python thread
    counts meanwhile, accelerated or pure (ctypes releases the GIL in every call)."""
    fast, pure = pair(lib, "gil_sleep_ms")
    assert fast.releases_gil  # the mark, whatever the process did before
    S = lib.types.GilSleeper
    sleeper = S()
    calls = [
        fast,
        pure,
        lib.gil_sleep_ms_extern,  # describe-only: ctypes calls it
        sleeper.sleep_ms,
        S.nap_ms,
    ]
    assert not isinstance(lib.gil_sleep_ms_extern, accel.Function)
    if _accelerate.available():
        assert type(S.sleep_ms) is accel.Method and S.sleep_ms.releases_gil
        assert type(S.nap_ms) is accel.Function and S.nap_ms.releases_gil
    else:  # PYO2_PURE=1: methods are pure
        assert not isinstance(S.sleep_ms, accel.Function) and not isinstance(S.nap_ms, accel.Function)
    for f in calls:
        result, during = progress_during(lambda f=f: f(300))
        assert result == 300, f
        assert during > 0, f
    assert sleeper.naps == 1


@pytest.mark.parametrize("pure", ["0", "1"])
def test_unmarked_scalar_functions_keep_the_gil(fixture_path: Path, pure: str) -> None:
    """In a fresh process (no callable handed to Rust yet): accelerated, the
    marked functions and methods release the GIL and their unmarked twins
    keep it (another thread can't run for the whole 300 ms call); pure,
    every call releases it."""
    code = f"""
import os, threading, time
os.environ["PYO2_PURE"] = {pure!r}
import pyo2
dll = pyo2.RustDLL({str(fixture_path)!r})
S = dll.types.GilSleeper
s = S()
calls = [
    ("fn", dll.gil_sleep_ms, dll.gil_sleep_ms),
    ("fn_held", dll.gil_sleep_ms_held, dll.gil_sleep_ms_held),
    ("method", S.sleep_ms, s.sleep_ms),
    ("method_held", S.sleep_ms_held, s.sleep_ms_held),
    ("static", S.nap_ms, S.nap_ms),
    ("ex_sub", dll.ex_sub, None),  # unmarked, as in a library built before the mark
]
for label, f, _ in calls:
    print(label, type(f).__name__, getattr(f, "releases_gil", "-"))
ticks, gap, last, stop = 0, 0.0, time.perf_counter(), False
def count():
    global ticks, gap, last
    while not stop:
        now = time.perf_counter()
        gap, last = max(gap, now - last), now
        ticks += 1
t = threading.Thread(target=count)
t.start()
while ticks == 0:
    time.sleep(0.001)
for label, _, call in calls:
    if call is None:
        continue
    gap, before = 0.0, ticks
    assert call(300) == 300
    after = ticks
    while ticks == after:  # the counter ran again: its longest gap covers the call
        time.sleep(0.001)
    print(label, after - before > 0, gap >= 0.25)
stop = True
t.join()
"""
    result = run_python(code, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    if pure == "0":
        assert lines[:6] == [
            "fn Function True",
            "fn_held Function False",
            "method Method True",
            "method_held Method False",
            "static Function True",
            "ex_sub Function False",
        ]
        # Released: the counter ran during the call. Kept: it waited for the
        # whole call (it may also have run a little between `before` and the call).
        measured = [ln.split() for ln in lines[6:]]
        assert [m[0] for m in measured] == ["fn", "fn_held", "method", "method_held", "static"]
        for label, progressed, waited in measured:
            assert (waited if label.endswith("_held") else progressed) == "True", label
    else:
        assert [ln.split(" ", 1)[1] for ln in lines[:6]] == ["function -"] * 6
        assert [ln.split()[:2] for ln in lines[6:]] == [
            [k, "True"] for k in ["fn", "fn_held", "method", "method_held", "static"]
        ]


def test_inspect_shows_the_marks(fixture_path: Path) -> None:
    import io

    from pyo2._cli import main

    out = io.StringIO()
    main(["inspect", str(fixture_path)], out=out)
    lines = out.getvalue().splitlines()

    def attribute(signature: str) -> str:
        """The line above ``signature``'s (its doc comment's last line, or its attribute)."""
        return lines[lines.index(signature) - 1]

    assert attribute("fn gil_sleep_ms(ms: u64) -> u64") == "#[pyo2::export(release_gil)]"
    assert attribute("fn gil_sleep_ms_extern(ms: u64) -> u64") == "#[pyo2::export(release_gil)]"
    assert attribute("fn gil_sleep_ms_held(ms: u64) -> u64").startswith("/// ")
    methods = [ln.strip() for ln in lines if ln.startswith("    #[release_gil] ")]
    assert methods == [
        "#[release_gil] fn sleep_ms(&self, ms: u64) -> u64",
        "#[release_gil] fn nap_ms(ms: u64) -> u64",
    ]
    assert "    fn sleep_ms_held(&self, ms: u64) -> u64" in lines


def test_no_references_or_memory_leak(lib: pyo2.RustDLL) -> None:
    sum_, _ = pair(lib, "ex_sum")
    greet, _ = pair(lib, "ex_greet")
    double, _ = pair(lib, "ex_double")
    parse, _ = pair(lib, "ex_parse")
    rng, _ = pair(lib, "ex_range")
    values = [1, 2, 3]
    floats = [1.0, 2.0]
    name = "bob"

    def run(n: int) -> None:
        for _ in range(n):
            sum_(values)
            greet(name)
            double(floats)
            floats[:] = [1.0, 2.0]
            rng(5)
            with contextlib.suppress(pyo2.RustError):
                parse("x")
            with contextlib.suppress(TypeError):
                sum_([1, "x"])  # falls back, which raises

    run(100)
    refs = (sys.getrefcount(values), sys.getrefcount(name), sys.getrefcount(sum_), sys.getrefcount(floats))
    gc.collect()
    tracemalloc.start()
    try:
        run(200)
        gc.collect()
        first = tracemalloc.get_traced_memory()[0]
        run(2000)
        gc.collect()
        second = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert (
        sys.getrefcount(values),
        sys.getrefcount(name),
        sys.getrefcount(sum_),
        sys.getrefcount(floats),
    ) == refs
    assert second - first < 64 * 1024, (first, second)


def test_owned_returns_are_freed(fixture_path: Path) -> None:
    """200k accelerated calls returning 1 KB Strings and 10-item Vecs, and
    raising Err: the peak RSS grows by less than 20 MB (leaking would be
    over 200 MB)."""
    code = f"""
import resource, pyo2, importlib
from pyo2 import _accelerate
accel = importlib.import_module("pyo2._accel")
dll = pyo2.RustDLL({str(fixture_path)!r})
def fast(name):
    f = dll[name]
    if isinstance(f, accel.Function):
        return f
    return _accelerate.accelerate(dll, f.signature, f, [n for n, _ in f.signature.params], module=accel)
repeat, rng, parse = fast("ex_repeat"), fast("ex_range"), fast("ex_parse")
def run(n):
    for _ in range(n):
        repeat("x", 1024)
        rng(10)
        try:
            parse("x" * 200)
        except pyo2.RustError:
            pass
run(2000)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
run(200_000)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
    result = run_python(code, timeout=600)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) < 20 * 1024


# An entry point written in Python (a ctypes callback), to count the drops.
_ENTRY = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
_DROP = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def test_each_owned_buffer_is_dropped_exactly_once() -> None:
    """Returned String/Vec buffers and Err/panic messages: one drop each."""
    drops: list[int] = []
    keep: list[Any] = []

    @_DROP  # type: ignore[untyped-decorator]
    def drop(address: int) -> None:
        drops.append(address)
        ctypes.memset(address, 0, ctypes.sizeof(pyo2._types.COwnedBuf))  # reset, as Rust's drop does

    def entry_for(status: int, payload: bytes, n: int) -> Any:
        data = ctypes.create_string_buffer(payload, len(payload) or 1)
        keep.append(data)

        @_ENTRY  # type: ignore[untyped-decorator]
        def entry(args: int, nargs: int, slot: int) -> int:
            buf = pyo2._types.COwnedBuf.from_address(slot)
            buf.ptr = ctypes.addressof(data)
            buf.len = buf.cap = n
            buf.drop = ctypes.cast(drop, ctypes.c_void_p).value
            return status

        keep.append(entry)
        return ctypes.cast(entry, ctypes.c_void_p).value

    def make(status: int, payload: bytes, ret: str, rtype: Any, n: int | None = None) -> Any:
        from pyo2._types import Ret, Signature

        sig = Signature("f", (), Ret(rtype, error="String"))
        return accel.Function(
            entry_for(status, payload, len(payload) if n is None else n),
            [],
            ret,
            [],
            lambda: pytest.fail("no fallback expected"),
            _accelerate._failure("f", sig.ret),  # type: ignore[arg-type]  # a Ret
            True,
            "f",
            "<f>",
            {},
        )

    from pyo2._types import I64, U8, Owned

    assert make(_abi.OK, "héllo".encode(), "String", Owned(U8, text=True))() == "héllo"
    assert make(_abi.OK, b"\x01\x02", "bytes", Owned(U8))() == b"\x01\x02"
    assert make(_abi.OK, struct.pack("=2q", 5, -6), "vec:i64", Owned(I64), 2)() == [5, -6]
    assert make(_abi.OK, b"", "vec:i64", Owned(I64))() == []
    with pytest.raises(pyo2.RustError, match=r"^bad$"):
        make(_abi.ERR, b"bad", "()", None)()
    with pytest.raises(pyo2.RustPanic, match=r"^boom"):
        make(_abi.PANIC, b"boom", "()", None)()
    with pytest.raises(ValueError, match=r"^f\(\): wrong$"):
        make(_abi.BAD_ARG, b"wrong", "()", None)()
    assert len(drops) == 7


#: The ctypes element type of each list element type.
CTYPES: dict[str, Any] = {
    "i64": ctypes.c_int64,
    "i32": ctypes.c_int32,
    "u8": ctypes.c_uint8,
    "i16": ctypes.c_int16,
    "f64": ctypes.c_double,
    "f32": ctypes.c_float,
    "bool": ctypes.c_bool,
}


def mapping_function(elem: str, change: Any, meddle: Any, keep: list[Any]) -> Any:
    """An accelerated ``fn f(v: &mut [elem])`` whose entry point (written in
    Python) sets each element to ``change(element)``, then calls ``meddle()``
    (as another thread could, while Rust runs)."""
    ctype = CTYPES[elem]

    @_ENTRY  # type: ignore[untyped-decorator]
    def entry(args: int, nargs: int, slot: int) -> int:
        header = ctypes.c_void_p.from_address(args).value
        assert header is not None
        ptr, n = (ctypes.c_size_t * 2).from_address(header)
        if n:
            data = (ctype * n).from_address(ptr)
            for i in range(n):
                data[i] = change(data[i])
        meddle()
        return _abi.OK

    keep.append(entry)
    address = ctypes.cast(entry, ctypes.c_void_p).value
    assert address is not None
    from pyo2._types import Ret

    return accel.Function(
        address,
        [f"mut:{elem}"],
        "()",
        ["v"],
        lambda v: pytest.fail("no fallback expected"),
        _accelerate._failure("f", Ret(None)),
        True,
        "f",
        "<f>",
        {},
    )


def doubler(meddle: Any, keep: list[Any]) -> Any:
    """An accelerated ``fn f(v: &mut [i64])`` that doubles ``v`` in place,
    then calls ``meddle()``."""
    return mapping_function("i64", lambda x: x * 2, meddle, keep)


def test_write_back_rules_when_the_list_changes_during_the_call() -> None:
    """The pure path's rule (``pyo2._marshal.apply``): a list changed during
    the call is not written (``RuntimeError``), unless it still compares
    equal; then every item Rust changed, and any equal item of another type,
    is replaced."""
    keep: list[Any] = []
    v: list[Any] = [1, 2, 3]
    doubler(lambda: None, keep)(v)
    assert v == [2, 4, 6]

    v = [1, 2, 3]
    with pytest.raises(RuntimeError, match=r"^f\(\): a list passed for a &mut parameter was changed during"):
        doubler(lambda: v.__setitem__(1, 7), keep)(v)
    assert v == [1, 7, 3]  # the other thread's change stands, nothing written

    v = [1, 2, 3]
    with pytest.raises(RuntimeError, match=r"changed size during the call \(from 3 to 4 items\)"):
        doubler(lambda: v.append(9), keep)(v)
    assert v == [1, 2, 3, 9]

    v = [1, 2, 3]
    doubler(lambda: v.__setitem__(0, 1.0), keep)(v)  # equal: written, as list == snapshot
    assert v == [2, 4, 6] and type(v[0]) is int

    class Sneaky:
        """Equal to 2, and changes the list while compared."""

        def __eq__(self, other: object) -> bool:
            v.append(0)
            return other == 2

        __hash__ = None  # type: ignore[assignment]

    v = [1, 2, 3]
    with pytest.raises(RuntimeError, match="changed"):
        doubler(lambda: v.__setitem__(1, Sneaky()), keep)(v)
    assert len(v) == 4 and v[0] == 1  # nothing written

    v = [0, 0]  # Rust changes nothing: no check, no write, even if the list changed
    doubler(lambda: v.append(5), keep)(v)
    assert v == [0, 0, 5]


def test_ints_in_a_list_of_f64_agree(lib: pyo2.RustDLL) -> None:
    """An int in a list of f64 converts as on the pure path, and the list is
    written back even when the float it became is rounded (2**53 + 1)."""
    fast, pure = pair(lib, "ex_double")
    for v in ([1, 2.5], [2**53 + 1], [10**400], [1.0, True]):
        agree(fast, pure, v)
    v = [2**53 + 1, 1]
    fast(v)
    assert v == [2.0**54, 2.0]


# ---------------------------------------------------------------------------
# Vectorcall (PEP 590): every way of calling binds as the pure function does.


class KeyStr(str):
    """A keyword name that is a str subclass (``f(**{KeyStr("b"): 1})`` passes it as is)."""


class NeverEqual(str):
    """A keyword name whose ``__eq__`` says no: a Python function doesn't bind it."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


class RaisingEq(str):
    """A keyword name whose ``__eq__`` raises: so does binding it to a Python function."""

    def __eq__(self, other: object) -> bool:
        raise LookupError("compared")

    __hash__ = str.__hash__


class KwDict(dict):  # type: ignore[type-arg]
    """A dict subclass for ``**kwargs``."""


#: Keyword arguments whose name isn't a str.
NON_STR_KEYS: Any = {1: 3}


#: Call shapes, as ``(label, call)`` where ``call(f)`` calls ``f`` (``ex_div(a: i32, b: i32)``).
CALL_SHAPES: list[tuple[str, Any]] = [
    ("positional", lambda f: f(6, 3)),
    ("keyword", lambda f: f(6, b=3)),
    ("keywords", lambda f: f(a=6, b=3)),
    ("keywords swapped", lambda f: f(b=3, a=6)),
    ("empty **", lambda f: f(6, 3, **{})),
    ("dict subclass", lambda f: f(6, **KwDict(b=3))),
    ("unknown keyword", lambda f: f(6, c=3)),
    ("unknown and known", lambda f: f(a=6, c=3)),
    ("given twice", lambda f: f(6, a=3)),
    ("too many", lambda f: f(6, 3, 1)),
    ("too many with keyword", lambda f: f(6, 3, b=1)),
    ("too few", lambda f: f(6)),
    ("none", lambda f: f()),
    ("only a keyword", lambda f: f(b=3)),
    ("str subclass keyword", lambda f: f(6, **{KeyStr("b"): 3})),
    ("str subclass keywords", lambda f: f(**{KeyStr("a"): 6, KeyStr("b"): 3})),
    ("keyword that is never equal", lambda f: f(6, **{NeverEqual("b"): 3})),
    ("keyword whose __eq__ raises", lambda f: f(6, **{RaisingEq("b"): 3})),
    ("non-str keyword", lambda f: f(6, **NON_STR_KEYS)),
    ("a bool and a wrong type", lambda f: f(True, b="3")),
    ("out of range by keyword", lambda f: f(6, b=2**40)),
    ("Err", lambda f: f(1, b=0)),
    ("partial", lambda f: functools.partial(f, 6)(b=3)),
    ("partial keyword", lambda f: functools.partial(f, b=3)(6)),
    ("partial keyword overridden", lambda f: functools.partial(f, b=3)(6, b=2)),
    ("map", lambda f: list(map(f, [6, 8, 1], [3, 2, 0]))),
    ("reduce (PyObject_Call)", lambda f: functools.reduce(f, [100, 5, 2])),
    ("__call__", lambda f: f.__call__(6, b=3)),
    ("__call__ unknown keyword", lambda f: f.__call__(6, c=3)),
    ("__call__ never-equal keyword", lambda f: f.__call__(6, **{NeverEqual("b"): 3})),
    ("type(f).__call__", lambda f: type(f).__call__(f, 6, b=3)),
    ("type(f).__call__ non-str keyword", lambda f: type(f).__call__(f, 6, **NON_STR_KEYS)),
    ("type(f).__call__ raising keyword", lambda f: type(f).__call__(f, 6, **{RaisingEq("b"): 3})),
    ("operator.call", lambda f: operator.call(f, 6, b=3) if hasattr(operator, "call") else f(6, b=3)),
    ("sorted key", lambda f: sorted([3, 1, 2], key=functools.partial(f, 12))),
]


@pytest.mark.parametrize(("label", "call"), CALL_SHAPES, ids=[label for label, _ in CALL_SHAPES])
def test_every_call_shape_binds_as_the_pure_function(lib: pyo2.RustDLL, label: str, call: Any) -> None:
    """Positional and keyword binding through vectorcall, through ``__call__``
    (PyO3's tuple-and-dict path) and through callers that use either:
    the same result, or the same exception type and message. A keyword that
    is a str subclass goes to the pure function, which binds it with its own
    ``__eq__`` (vectorcall compared the text alone before)."""
    fast, pure = pair(lib, "ex_div")
    assert outcome(lambda: call(fast)) == outcome(lambda: call(pure)), label


#: Call shapes of the method ``Counter.add(&mut self, k: i64) -> i64``, as ``call(m, obj)``.
METHOD_CALL_SHAPES: list[tuple[str, Any]] = [
    ("obj.m(x)", lambda m, c: m.__get__(c, type(c))(1)),
    ("Class.m(obj, x)", lambda m, c: m(c, 1)),
    ("keyword", lambda m, c: m(c, k=1)),
    ("self by keyword", lambda m, c: m(self=c, k=1)),
    ("bound, self again", lambda m, c: m.__get__(c, type(c))(self=c, k=1)),
    ("bound, k twice", lambda m, c: m.__get__(c, type(c))(1, k=1)),
    ("bound via getattr, keyword", lambda m, c: m.__get__(c, type(c))(k=2)),
    ("partial", lambda m, c: functools.partial(m, c)(k=2)),
    ("never-equal keyword", lambda m, c: m(c, **{NeverEqual("k"): 1})),
    ("str subclass keyword", lambda m, c: m(c, **{KeyStr("k"): 1})),
    ("unknown keyword", lambda m, c: m(c, j=1)),
    ("no self", lambda m, c: m()),
    ("self only", lambda m, c: m(c)),
    ("not a Counter", lambda m, c: m(5, 1)),
    ("__call__", lambda m, c: m.__call__(c, k=3)),
    ("map", lambda m, c: list(map(m, [c, c], [1, 2]))),
]


@pytest.mark.parametrize(
    ("label", "call"), METHOD_CALL_SHAPES, ids=[label for label, _ in METHOD_CALL_SHAPES]
)
def test_every_method_call_shape_binds_as_the_pure_method(lib: pyo2.RustDLL, label: str, call: Any) -> None:
    fast, pure = method_pair(lib, "Counter", "add")
    C = lib.types.Counter
    a, b = C(1), C(1)
    assert outcome(lambda: call(fast, a)) == outcome(lambda: call(pure, b)), label
    assert a.value == b.value
    # Through the instance, as Python code calls methods (LOAD_METHOD, the
    # method descriptor flag; specialised on 3.11+): the accelerated one.
    c = C(0)
    bound = c.add  # a bound method object: its vectorcall prepends `c`
    for _ in range(100):
        c.add(1)
        c.add(k=1)
        bound(1)
        bound(k=1)
    assert c.value == 400 and type(C.__dict__["add"]) is accel.Method


def test_python_subclasses_of_function_call_safely(fixture_path: Path) -> None:
    """``pyo2._accel.Function`` can be subclassed in Python (``Method`` and its
    flags can't): CPython 3.12+ lets a subclass without ``__call__`` inherit
    vectorcall, 3.10/3.11 call it through ``__call__``; a subclass's own
    ``__call__`` (in the class or set later) wins; ``__class__`` can move
    between the layout-compatible types. Nothing crashes, every call agrees
    with the pure function (in a fresh interpreter: a crash fails the test)."""
    code = f"""
import pyo2
from pyo2 import _accel, _accelerate
dll = pyo2.RustDLL({str(fixture_path)!r})
pure = dll.ex_div.fallback if isinstance(dll.ex_div, _accel.Function) else dll.ex_div
def made(cls):
    module = type("M", (), {{"Function": cls, "Method": cls, "MAX_PARAMS": _accel.MAX_PARAMS}})
    return _accelerate.accelerate(dll, pure.signature, pure, ["a", "b"], module=module)
def outcome(call):
    try:
        return repr(call())
    except Exception as e:
        return type(e).__name__ + ": " + str(e)
def calls(f):
    shapes = [lambda: f(6, 3), lambda: f(6, b=3), lambda: f(b=3, a=6), lambda: f(1, 0), lambda: f(6, c=3),
              lambda: f("6", 3), lambda: f(), lambda: f.__call__(6, b=3), lambda: f(6, **{{KeyStr("b"): 3}})]
    return [outcome(c) for c in shapes]
class KeyStr(str):
    def __eq__(self, other):
        return False
    __hash__ = str.__hash__
expected = calls(pure)
class Plain(_accel.Function):
    pass
class Slotted(_accel.Function):
    __slots__ = ()
class Own(_accel.Function):
    def __call__(self, *args, **kwargs):
        return ("own", args, kwargs)
class Deeper(Plain):
    pass
for cls in (_accel.Function, Plain, Slotted, Deeper):
    f = made(cls)
    assert type(f) is cls
    assert calls(f) == expected, (cls, calls(f))
own = made(Own)
assert own(6, b=3) == ("own", (6,), {{"b": 3}})
later = made(Plain)
Plain.__call__ = lambda self, *args, **kwargs: "patched"
assert later(6, 3) == "patched" and later(6, b=3) == "patched"
del Plain.__call__
assert calls(later) == expected
try:
    class Sub(_accel.Method):
        pass
except TypeError as e:
    print("Method:", e)
f = made(_accel.Function)
for cls in (_accel.Method, _accel.FunctionBase, Plain, _accel.Function):
    try:
        f.__class__ = cls
    except TypeError:
        pass
    assert calls(f) == expected, (cls, type(f))
for make in (lambda: Plain.__new__(Plain), lambda: object.__new__(Plain), lambda: _accel.Function()):
    try:
        make()
    except TypeError:
        pass
    else:
        raise AssertionError("made without its arguments")
import gc
del f, later, own
gc.collect()
print("ok")
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2:] == ["ok", ""]
    assert "is not an acceptable base type" in result.stdout


# ---------------------------------------------------------------------------
# Lists: every size and element type, and write-back under interference.


def accelerated_only(lib: pyo2.RustDLL, name: str) -> tuple[Any, Any, list[Any]]:
    """An accelerated ``name``, the pure function, and the list of the calls
    the accelerated one handed to the pure one (to assert it took them itself)."""
    pure = pair(lib, name)[1]
    sig = pure.signature
    planned = _accelerate.plan(sig)
    entry = _accelerate.entry_address(lib, name)
    assert planned is not None and entry is not None, name
    fell: list[Any] = []

    def fallback(*args: Any, **kwargs: Any) -> Any:
        fell.append(args)
        return pure(*args, **kwargs)

    fast = accel.Function(
        entry,
        planned[0],
        planned[1],
        [n for n, _ in sig.params],
        fallback,
        _accelerate._failure(name, sig.ret),
        True,
        name,
        "<f>",
        {},
    )
    return fast, pure, fell


#: A quiet NaN with a payload, and a signalling one.
NAN_PAYLOAD = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000123))[0]
SIGNALLING_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000001))[0]


def boundary_values(elem: str) -> list[Any]:
    """Values of ``elem`` a list may hold, bounds, NaNs, -0.0 and subnormals included
    (an f64 list also holds ints: converted as the pure path does)."""
    if elem == "bool":
        return [True, False, False]
    floats = [0.0, -0.0, 1.5, float("nan"), NAN_PAYLOAD, SIGNALLING_NAN, float("inf"), -float("inf")]
    if elem == "f32":
        return [*floats, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 1e-46, 0.1]
    if elem == "f64":
        return [*floats, 5e-324, 1.7976931348623157e308, 0.1, 2**53 + 1, -(2**63), 7]
    t = SCALARS[elem]
    assert t.lo is not None and t.hi is not None
    return [t.lo, t.hi, 0, 1, t.hi - 1, t.lo + 1, -1 if t.lo else 2]


#: Sizes around the 8-byte words lists are packed in, and one past 4096.
LIST_SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 4097]


@pytest.mark.parametrize(
    ("name", "elem"),
    [
        *(
            (f"ex_roundtrip_{t}", t)
            for t in ["i8", "i16", "i32", "i64", "isize", "u16", "u32", "u64", "usize"]
        ),
        *((f"ex_roundtrip_{t}", t) for t in ["f32", "f64", "bool"]),
        ("ex_seen_f32", "f32"),
        ("ex_sum_f64", "f64"),
        ("ex_count_true", "bool"),
        ("ex_double", "f64"),
        ("ex_double_i64", "i64"),
        ("ex_not_all", "bool"),
    ],
)
def test_lists_of_every_size_and_boundary_value_agree(lib: pyo2.RustDLL, name: str, elem: str) -> None:
    """0 to 9 items (a packed list's last word is partly padding for small
    element types) and 4097, every bound, NaN payloads, -0.0: the accelerated
    function takes each list itself (the specialised loops for i64, f64 and
    i32, the generic one for the rest; u8 below) and agrees with the pure
    one, bit for bit, in what it returns and writes back."""
    fast, pure, fell = accelerated_only(lib, name)
    values = boundary_values(elem)
    for n in LIST_SIZES:
        for shift in range(3):
            agree(fast, pure, [values[(i + shift) % len(values)] for i in range(n)])
    assert fell == [], fell[:1]


@pytest.mark.parametrize(("name", "extra"), [("ex_sleep_then_bump", [0]), ("ex_add_into", None)])
def test_u8_lists_of_every_size_agree(lib: pyo2.RustDLL, name: str, extra: list[Any] | None) -> None:
    """&mut [u8] (the specialised u8 loop; a list of 3 fills part of a word),
    alone and two at once."""
    fast, pure, fell = accelerated_only(lib, name)
    for n in LIST_SIZES:
        v = [(0, 255, 1, 254, 128)[i % 5] for i in range(n)]
        agree(fast, pure, v, *(extra if extra is not None else [v[::-1]]))
        w = list(v)
        fast(w, *(extra if extra is not None else [[1] * n]))
        assert w == [(x + 1) % 256 for x in v]
    assert fell == []


@pytest.mark.parametrize("elem", sorted(CTYPES))
def test_mut_lists_of_each_element_type_write_back(elem: str) -> None:
    """Element types no fixture function takes as ``&mut`` (i32, i16, f32) and
    the others: what Rust changed is written back as exact ints / floats /
    bools (an f32 list: every item, rounded, as the pure path writes it); a
    list Rust left alone keeps its items; 3 u8s or i32s (a partly used last
    word) compare equal when unchanged."""
    keep: list[Any] = []
    quiet = lambda: None  # noqa: E731
    if elem == "bool":
        v: list[Any] = [True, False, True]
        mapping_function(elem, lambda x: not x, quiet, keep)(v)
        assert v == [False, True, False] and all(type(x) is bool for x in v)
    elif elem in ("f32", "f64"):
        v = [0.1, -0.0, 1.5, float("inf")]
        mapping_function(elem, lambda x: x * 2, quiet, keep)(v)
        want = (
            [0.2, -0.0, 3.0, float("inf")]
            if elem == "f64"
            else [as_f32(as_f32(0.1) * 2), -0.0, 3.0, float("inf")]
        )
        assert bits(v) == bits(want)
    else:
        v = [1, 2, 3]
        mapping_function(elem, lambda x: x + 1, quiet, keep)(v)
        assert v == [2, 3, 4] and all(type(x) is int for x in v)
    # Unchanged: no write (not even an f32 list's rounding), whatever the size.
    for n in LIST_SIZES:
        items: list[Any] = [(0.1 if elem.startswith("f") else True if elem == "bool" else 7)] * n
        w = list(items)
        mapping_function(elem, lambda x: x, quiet, keep)(w)
        assert all(a is b for a, b in zip(w, items)) and len(w) == n


def test_write_back_accepts_equal_items_of_another_type_changed_mid_call() -> None:
    """During the call, another thread puts ``True`` where 1 was (an index
    Rust changes) and ``False`` where 0 was (one it doesn't), and an equal
    float subclass whose ``__eq__`` changes an item already checked: the list
    still equals what was packed, so it is written (as the pure path's
    ``list == snapshot`` rule does), every item an exact int."""
    keep: list[Any] = []
    v: list[Any] = [1, 0, 5]

    def meddle() -> None:
        v[0], v[1] = True, False

    mapping_function("i64", lambda x: x * 2, meddle, keep)(v)
    assert v == [2, 0, 10] and [type(x) for x in v] == [int, int, int]

    class Meddling(float):
        def __eq__(self, other: object) -> bool:
            v[0] = 100  # an item checked already: the write of index 0 wins, as the pure path's
            return float(self) == other

        __hash__ = float.__hash__

    v = [1, 0, 5]
    mapping_function("i64", lambda x: x * 2, lambda: v.__setitem__(2, Meddling(5.0)), keep)(v)
    assert v == [2, 0, 10] and [type(x) for x in v] == [int, int, int]

    v = [1, 0, 5]
    mapping_function("u8", lambda x: x + 1, lambda: v.__setitem__(1, 0.0), keep)(v)
    assert v == [2, 1, 6] and [type(x) for x in v] == [int, int, int]


@pytest.mark.parametrize("elem", ["i64", "f64", "bool"])
def test_a_finalizer_during_write_back_never_leaves_a_half_written_list(elem: str) -> None:
    """Python code run by the write-back (an item's ``__eq__``) leaves cyclic
    garbage whose finalizer shrinks the list; the write-back's next
    allocation starts the garbage collector (before Python 3.12). Nothing
    may be written then: before, the writes hit the shortened list half way
    (``IndexError``, the first items written, the rest not)."""
    keep: list[Any] = []
    first, second, third = {"i64": (1, 2, 3), "f64": (1.0, 2.0, 3.0), "bool": (True, False, True)}[elem]
    v: list[Any] = [first, second, third]

    class Shrinks:
        __slots__ = ("me",)  # no dict to allocate: the collector starts at the write-back's allocation
        me: Any

        def __del__(self) -> None:
            v.pop()

    class Equal:
        """Equal to the second item, leaving garbage behind when compared."""

        def __eq__(self, other: object) -> bool:
            gc.collect()
            garbage = Shrinks()
            garbage.me = garbage
            del garbage
            return bool(other == second)

        __hash__ = None  # type: ignore[assignment]

    equal = Equal()
    change = (lambda x: not x) if elem == "bool" else (lambda x: x * 2)
    threshold, callbacks = gc.get_threshold(), gc.callbacks[:]
    gc.callbacks.clear()  # Hypothesis' timer: Python code that allocates, moving the collections
    gc.collect()

    def meddle() -> None:
        v[1] = equal
        gc.set_threshold(1)

    try:
        f = mapping_function(elem, change, meddle, keep)
        if sys.version_info < (3, 12):  # the collector runs at the allocation
            with pytest.raises(RuntimeError) as info:
                f(v)
            assert "changed size during the call (from 3 to 2 items); nothing was written back" in str(
                info.value
            )
            assert v == [first, equal], v  # nothing written
        else:  # the collector waits for the interpreter's next check
            f(v)
            gc.collect()
            assert v == [change(first), change(second)], v  # all written, then shortened
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks[:] = callbacks
    gc.collect()


@pytest.mark.parametrize(
    ("name", "base", "step"),
    [
        ("ex_sleep_then_double", list(range(1, 1001)), lambda x: x * 2),
        ("ex_sleep_then_bump", [i % 256 for i in range(1001)], lambda x: (x + 1) % 256),
    ],
    ids=["i64", "u8"],
)
def test_threads_calling_with_one_mut_list_write_all_or_nothing(
    lib: pyo2.RustDLL, name: str, base: list[int], step: Any
) -> None:
    """Four threads call the same function on the same list (the GIL released
    while Rust works on private copies): each call either writes its whole
    result or raises RuntimeError having written nothing, so the list ends as
    ``step`` applied once per successful call, accelerated or pure."""
    for f in pair(lib, name):
        v = list(base)
        done: list[bool] = []
        errors: list[str] = []

        def work(f: Any = f, v: list[int] = v, done: list[bool] = done, errors: list[str] = errors) -> None:
            for _ in range(8):
                try:
                    f(v, 1)
                    done.append(True)
                except RuntimeError as refused:
                    errors.append(str(refused))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        want = list(base)
        for _ in done:
            want = [step(x) for x in want]
        assert v == want, (f, len(done))
        assert len(done) + len(errors) == 32 and done
        assert all("a list passed for a &mut parameter was changed during the call" in e for e in errors), (
            errors[:1]
        )


def test_another_thread_swapping_in_equal_items_never_refuses_a_call(lib: pyo2.RustDLL) -> None:
    """Another thread keeps putting ``False`` where the list holds 0 (which
    doubling keeps: the list always equals what was packed) while calls run,
    each sweep one C call (atomic for Python threads): every call is written
    back, all of it, accelerated (the items Rust didn't change but another
    thread replaced are written too) or pure."""
    n = 2000
    base = [0 if i % 3 else i for i in range(n)]
    zeros = [i for i in range(n) if base[i] == 0]
    for f in pair(lib, "ex_sleep_then_double"):
        v = list(base)
        stop = threading.Event()
        sweeps = 0

        def swap(v: list[Any] = v, stop: threading.Event = stop) -> None:
            nonlocal sweeps
            while not stop.is_set():
                deque(map(v.__setitem__, zeros, itertools.repeat(False)), maxlen=0)
                sweeps += 1
                time.sleep(0.0005)

        t = threading.Thread(target=swap)
        t.start()
        try:
            for _ in range(20):
                v[:] = base
                f(v, 2)
                assert v == [2 * x for x in base]
        finally:
            stop.set()
            t.join()
        assert sweeps > 0
