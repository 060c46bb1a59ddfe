"""Python callables called from Rust (issue 13; tests/fixture/src/objects.rs):
scoped ``&mut dyn FnMut`` and stored ``pyo2::Callback`` parameters."""

from __future__ import annotations

import array
import gc
import sys
import threading
import traceback
import weakref
from typing import Any

import pytest

import pyo2
from pyo2._callbacks import live_callbacks
from support import run_python


def _collect() -> None:
    """Collect garbage until finalisers have run (PyPy may need more than one
    pass; CPython's reference counting frees the rest at once)."""
    for _ in range(1 if sys.implementation.name == "cpython" else 3):
        gc.collect()


@pytest.fixture(autouse=True)
def _no_logger(dll: pyo2.RustDLL) -> Any:
    """Every test starts and ends without a stored logger (a static in the library)."""
    dll.clear_logger()
    yield
    dll.clear_logger()


class Recorder:
    """A callable that remembers its calls (and can be weakly referenced)."""

    def __init__(self, result: Any = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.result = result

    def __call__(self, *args: Any) -> Any:
        self.calls.append(args)
        return self.result


def test_scoped_callback_gets_each_hit_and_can_stop(dll: pyo2.RustDLL) -> None:
    seen: list[tuple[int, str]] = []

    def on_hit(i: int, w: str) -> bool:
        seen.append((i, w))
        return w != "xstop"

    assert dll.scan("a xa b xé xstop xlast", on_hit) == 3
    assert seen == [(1, "xa"), (3, "xé"), (4, "xstop")]
    assert dll.scan("no hits here", on_hit) == 0
    assert dll.map_f64([1.0, 2.5, -3.0], lambda v: v * 2) == [2.0, 5.0, -6.0]


def test_scoped_callback_is_valid_for_one_call(dll: pyo2.RustDLL) -> None:
    before = live_callbacks()
    cb = Recorder(True)
    ref = weakref.ref(cb)
    assert dll.scan("xa xb", cb) == 2
    assert live_callbacks() == before  # forgotten when the call returned
    del cb
    _collect()
    assert ref() is None  # pyo2 kept no reference
    # Refused in Python before the call: nothing is kept either.
    with pytest.raises(TypeError, match="on_hit"):
        dll.scan("xa", 42)
    with pytest.raises(TypeError):
        dll.scan(42, Recorder(True))
    assert live_callbacks() == before


def test_callback_argument_and_return_types(dll: pyo2.RustDLL) -> None:
    calls: list[tuple[int, bool, str]] = []

    def f(a: int, b: bool, s: str) -> int:
        calls.append((a, b, s))
        return 20 if b else 1

    assert dll.call_with(f) == 21
    assert calls == [(-1, True, "héllo"), (2, False, "")]
    assert type(calls[0][1]) is bool
    # A result that doesn't convert is the callable's error, raised from the call.
    with pytest.raises(OverflowError, match="u64"):
        dll.call_with(lambda a, b, s: -1)
    with pytest.raises(TypeError):
        dll.call_with(lambda a, b, s: "3")
    with pytest.raises(TypeError):
        dll.scan("xa", lambda i, w: None)  # a bool callback must return a bool
    assert dll.call_with(lambda a, b, s: 2**64 - 1 if b else 0) == 2**64 - 1


def _refused(call: Any, error: type[Exception], match: str) -> None:
    """``call(callable_)`` is refused with ``error``, and every callable it
    registered is released with the refusal: the table is as before, the
    callable's reference count too (with the collector off: the refusal leaves
    no reference cycle), and it dies when its last reference goes."""
    callable_ = Recorder(0)
    ref = weakref.ref(callable_)
    _collect()
    live = live_callbacks()
    refs = sys.getrefcount(callable_) if hasattr(sys, "getrefcount") else 0
    enabled = gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(error, match=match):
            call(callable_)
        assert live_callbacks() == live
        if hasattr(sys, "getrefcount"):
            assert sys.getrefcount(callable_) == refs
    finally:
        if enabled:
            gc.enable()
    assert callable_.calls == []  # Rust was never called
    del callable_
    _collect()
    assert ref() is None


def test_a_refused_argument_releases_the_callables_before_it(dll: pyo2.RustDLL) -> None:
    """A call of a function taking two callbacks, refused after the first was
    registered (the second not callable, or a later argument refused), leaves
    no callable registered (it used to stay in the table for good)."""
    not_callable = r"parameter 'g' \(.*\): got 'int' object, expected a callable"
    _refused(lambda f: dll.call_both(f, 1, 0), TypeError, not_callable)
    _refused(lambda f: dll.call_both(f, g=1, k=0), TypeError, not_callable)
    _refused(lambda f: dll.call_both(f, f, 256), OverflowError, r"parameter 'k' \(u8\)")
    _refused(lambda f: dll.call_both(f, f, 1.5), TypeError, r"parameter 'k' \(u8\)")
    # A stored callable first (Rust keeps it only once it received it).
    _refused(lambda f: dll.log_both(f, None, [1.0]), TypeError, r"parameter 'f' \(.*\): got 'NoneType'")
    _refused(lambda f: dll.log_both(f, f, [1.0, "x"]), TypeError, r"parameter 'values'.*\[1\]")
    # The same callables, accepted: each called, nothing left registered.
    live = live_callbacks()
    first, second = Recorder(10), Recorder(20)
    assert dll.call_both(first, second, 3) == 33
    assert (first.calls, second.calls) == ([(1,)], [(2,)])
    log, f = Recorder(), Recorder(2.5)
    assert dll.log_both(log, f, [1.0, 2.0]) == 2.5
    assert (log.calls, f.calls) == ([("both",)], [(3.0,)])
    assert live_callbacks() == live


def test_a_refusal_after_the_arguments_were_converted_releases_a_stored_callable(dll: pyo2.RustDLL) -> None:
    """A list that changes size while its items convert is refused once every
    argument was converted (pyo2._marshal's layout): the stored callable
    registered before it is released too (Rust never received it)."""
    values: list[Any] = []

    class Grows:
        def __float__(self) -> float:
            values.append(0.0)
            return 1.0

    def call(f: Any) -> Any:
        values[:] = [1.0, Grows()]
        return dll.log_both(f, f, values)

    _refused(call, RuntimeError, r"a list argument changed size while it was converted")


class _Unfit:
    """A weakly referenceable argument no parameter takes."""


def test_a_refused_call_releases_its_arguments_without_the_collector(dll: pyo2.RustDLL) -> None:
    """A refused argument (a scalar or a list item, of an exported or a declared
    function, before or after callables) dies with its last reference, the
    collector off: the refusal keeps no exception, traceback or frame of the
    call in a reference cycle (pyo2._marshal's did, with all the call's
    arguments, until the collector ran)."""
    if sys.implementation.name != "cpython":
        pytest.skip("without reference counting, an object dies only when the collector runs")
    add_u8 = dll.declare("fn add_u8(a: u8, b: u8) -> u8")
    sum_f64 = dll.declare("fn sum_f64(v: &PyVec<f64>) -> f64")
    b, v, values, k = (rf"parameter '{n}' .*: got _Unfit" for n in ("b", "v", "values", "k"))
    calls: list[tuple[str, Any]] = [
        (b, lambda bad: dll.ex_add_u8(1, bad)),
        (b, lambda bad: add_u8(1, bad)),
        (v, lambda bad: dll.ex_sum_f64([1.0, bad])),
        (v, lambda bad: sum_f64([1.0, bad])),
        (values, lambda bad: dll.map_f64([1.0, bad], Recorder(0.0))),
        (k, lambda bad: dll.call_both(Recorder(0), Recorder(0), bad)),
        (values, lambda bad: dll.log_both(Recorder(), Recorder(0.0), [1.0, bad])),
    ]
    _collect()
    live = live_callbacks()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for match, call in calls:
            for _ in range(3):  # the first call and the generated path's, if any
                bad = _Unfit()
                ref = weakref.ref(bad)
                with pytest.raises(TypeError, match=match):
                    call(bad)
                del bad
                assert ref() is None, match
        assert live_callbacks() == live
    finally:
        if enabled:
            gc.enable()


class _Int(int):
    """An int subclass: converted by its value."""


def test_callback_results_are_returned_checked(dll: pyo2.RustDLL) -> None:
    """The trampoline returns the value for ctypes to convert: whatever ctypes
    would wrap, truncate or refuse (only printing it) is checked first."""
    before = live_callbacks()
    # Scalar returns: every int in range, exactly; a bool, a float or an
    # out-of-range int is the callable's error.
    assert dll.call_with(lambda a, b, s: 2**64 - 2 if b else 1) == 2**64 - 1
    assert dll.call_with(lambda a, b, s: _Int(7)) == 14
    assert dll.call_with(lambda a, b, s: 2**30 if b else 2**30 - 1) == 2**31 - 1  # one digit, two
    bads: list[tuple[object, type[Exception]]] = [(True, TypeError), (1.0, TypeError)]
    bads += [(2**64, OverflowError), (-(2**70), OverflowError)]
    for bad, error in bads:
        with pytest.raises(error):
            dll.call_with(lambda a, b, s, bad=bad: bad)
    assert dll.map_f64([1.0, 2.0], lambda v: int(v) * 3) == [3.0, 6.0]
    assert dll.map_f64([0.5], lambda v: _Int(2)) == [2.0]
    with pytest.raises(OverflowError):
        dll.map_f64([1.0], lambda v: 10**400)
    with pytest.raises(TypeError):
        dll.map_f64([1.0], lambda v: None)
    # bool: True/False, or the ints 0 and 1; anything else raises.
    assert dll.scan("xa xb", lambda i, w: 1) == 2
    assert dll.scan("xa xb", lambda i, w: 0) == 1
    with pytest.raises(ValueError, match="returned 2"):
        dll.scan("xa xb", lambda i, w: 2)
    # A () callback's result is ignored, whatever it is.
    assert dll.watch_ref([1.0], lambda: "ignored") is False
    # &str arguments of every length, with non-ASCII text, arrive whole.
    for n in (0, 1, 255, 256, 257, 5000):
        word = "x" + "é" * n
        seen = Recorder(True)
        assert dll.scan(f"a {word} b", seen) == 1
        assert seen.calls == [(1, word)]
    assert live_callbacks() == before


def test_stored_callback_lives_until_rust_drops_it(dll: pyo2.RustDLL) -> None:
    before = live_callbacks()
    first = Recorder()
    ref = weakref.ref(first)
    dll.set_logger(first)
    assert first.calls == [("logger set",)]
    del first
    _collect()
    assert ref() is not None  # Rust holds it
    logger = ref()
    assert logger is not None
    assert dll.log_here("hello")
    assert logger.calls[-1] == ("hello",)
    del logger
    second = Recorder()
    ref2 = weakref.ref(second)
    dll.set_logger(second)  # releases the first, exactly once
    _collect()
    assert ref() is None
    assert ref2() is not None
    del second
    assert dll.clear_logger()
    _collect()
    assert ref2() is None
    assert live_callbacks() == before
    assert not dll.clear_logger()


def test_exception_in_callback_is_the_same_object(dll: pyo2.RustDLL) -> None:
    raised: list[BaseException] = []
    guards = dll.scan_guards()

    def on_hit(i: int, w: str) -> bool:
        if w == "xboom":
            error = KeyError(w)
            raised.append(error)
            raise error  # the line the traceback must show
        return True

    with pytest.raises(KeyError) as info:
        dll.scan("xa xboom xc", on_hit)
    assert info.value is raised[0]
    frames = traceback.extract_tb(info.value.__traceback__)
    assert any(
        f.name == "on_hit" and f.line == "raise error  # the line the traceback must show" for f in frames
    )
    assert dll.scan_guards() == guards + 1  # Rust's destructors ran
    assert dll.scan("xa xb", lambda i, w: True) == 2  # the next call works
    # Any exception, BaseException subclasses too.
    with pytest.raises(KeyboardInterrupt):
        dll.scan("xa", lambda i, w: (_ for _ in ()).throw(KeyboardInterrupt))
    assert dll.scan("xa", lambda i, w: True) == 1


def test_exception_in_stored_callback_on_the_calling_thread(dll: pyo2.RustDLL) -> None:
    error = ValueError("from the logger")

    def log(message: str) -> None:
        if message == "fail":
            raise error

    dll.set_logger(log)
    assert dll.log_here("fine")
    with pytest.raises(ValueError, match="from the logger") as info:
        dll.log_here("fail")
    assert info.value is error
    assert dll.log_here("fine again")


def test_exception_on_a_rust_thread_goes_to_unraisablehook(dll: pyo2.RustDLL) -> None:
    reported: list[Any] = []
    old = sys.unraisablehook
    sys.unraisablehook = reported.append
    try:

        def log(message: str) -> None:
            if message.endswith("message 1"):
                raise RuntimeError(message)

        dll.set_logger(log)
        assert dll.log_from_threads(3, 4) == 3 * 3  # each thread's raising call unwound, the rest ran
    finally:
        sys.unraisablehook = old
    assert sorted(str(r.exc_value) for r in reported) == [f"thread {t} message 1" for t in range(3)]
    assert all(r.exc_type is RuntimeError and r.exc_traceback is not None for r in reported)
    # Nothing was left in this thread's stash: the next call is clean.
    dll.set_logger(lambda m: None)
    assert dll.log_here("x")


def test_callback_may_call_into_the_library(dll: pyo2.RustDLL) -> None:
    def on_hit(i: int, w: str) -> bool:
        return bool(dll.scan(w, lambda j, v: True) == 1)

    assert dll.scan("xa xb xc", on_hit) == 3

    def nested_raises(i: int, w: str) -> bool:
        return dll.scan(w, lambda j, v: 1 / 0) == 1  # type: ignore[no-any-return]

    with pytest.raises(ZeroDivisionError):
        dll.scan("xa", nested_raises)
    assert dll.scan("xa", lambda i, w: True) == 1


def test_rust_threads_call_a_stored_callback_from_many_threads(dll: pyo2.RustDLL) -> None:
    count = [0]
    lock = threading.Lock()

    def log(message: str) -> None:
        with lock:
            count[0] += 1

    dll.set_logger(log)
    assert dll.log_from_threads(8, 500) == 4000
    assert count[0] == 4001


# 8 Rust threads x 10k calls of a stored callback while Python loops gc.collect()
# (no deadlock): in test_callback_trampolines.py, under both trampolines.


def test_stored_callback_at_exit_is_clean(fixture_path: object) -> None:
    code = f"""
import pyo2
dll = pyo2.RustDLL({str(fixture_path)!r})
dll.set_logger(print)
dll.log_here("still here")
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "logger set\nstill here\n"


# -- Buffers lent to a call that takes a callback ------------------------------
#
# Such a call can't keep the GIL (a Rust thread calling back would deadlock),
# so Python code may write the buffer while Rust runs: Rust gets a private
# copy. `watch_mut` / `watch_ref` / `rec_watch` return whether Rust's view
# changed while the callback ran.


def _f64_buffers() -> list[tuple[str, Any]]:
    makers: list[tuple[str, Any]] = [
        ("array", lambda: array.array("d", [1.0, 2.0])),
        ("memoryview", lambda: memoryview(bytearray(array.array("d", [1.0, 2.0]).tobytes())).cast("d")),
    ]
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is in the test environment
        return makers
    return [*makers, ("numpy", lambda: np.array([1.0, 2.0]))]


@pytest.mark.parametrize("make", [m for _, m in _f64_buffers()], ids=[k for k, _ in _f64_buffers()])
def test_callback_writing_the_lent_buffer_is_not_seen_by_rust(dll: pyo2.RustDLL, make: Any) -> None:
    buf = make()

    def poke() -> None:
        buf[0] = 100.0

    # &: Rust's view stays as it was; Python's write stays.
    assert dll.watch_ref(buf, poke) is False
    assert list(buf) == [100.0, 2.0]
    # &mut, Rust changes nothing: Python's write stays.
    buf = make()
    assert dll.watch_mut(buf, 0.0, poke) is False
    assert list(buf) == [100.0, 2.0]
    # &mut, both changed it: RuntimeError after the call, nothing written back.
    buf = make()
    with pytest.raises(RuntimeError, match=r"changed \(by a callback or another thread\)"):
        dll.watch_mut(buf, 0.5, poke)
    assert list(buf) == [100.0, 2.0]
    # &mut, only Rust changed it: written back after the call, as usual.
    buf = make()
    seen: list[list[float]] = []
    assert dll.watch_mut(buf, 0.5, lambda: seen.append(list(buf))) is False
    assert seen == [[1.0, 2.0]]  # Rust's writes are not visible before the call returns
    assert list(buf) == [1.5, 2.5]


def test_callback_writing_a_lent_numpy_record_array_is_not_seen_by_rust(dll: pyo2.RustDLL) -> None:
    np = pytest.importorskip("numpy")
    Point = dll.types.Point

    def make() -> Any:
        return np.array([(1.0, 2.0), (3.0, 4.0)], dtype=Point.dtype)

    points = make()

    def poke() -> None:
        points[0]["x"] = 100.0

    assert dll.rec_watch(points, 0.0, poke) is False
    assert points["x"].tolist() == [100.0, 3.0]
    points = make()
    with pytest.raises(RuntimeError, match=r"changed \(by a callback or another thread\)"):
        dll.rec_watch(points, 1.0, poke)
    assert points["x"].tolist() == [100.0, 3.0]
    points = make()
    assert dll.rec_watch(points, 1.0, lambda: None) is False
    assert points.tolist() == [(2.0, 2.0), (4.0, 4.0)]


def test_callback_may_write_a_lent_buffer_from_another_thread(dll: pyo2.RustDLL) -> None:
    """A thread writing the buffer while the call's callback runs: Rust's view doesn't change."""
    buf = array.array("d", [1.0] * 1000)
    wrote = threading.Event()

    def writer() -> None:
        for i in range(1000):
            buf[i] = 5.0
        wrote.set()

    def poke() -> None:
        t = threading.Thread(target=writer)
        t.start()
        t.join()

    assert dll.watch_ref(buf, poke) is False
    assert wrote.is_set() and buf[999] == 5.0
