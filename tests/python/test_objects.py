"""Rust objects owned from Python (issue 13; tests/fixture/src/objects.rs):
``#[pyo2::class]`` classes as ``dll.types.NAME``, each Rust value dropped
exactly once, handles that can't be forged, locking and re-entrancy."""

from __future__ import annotations

import gc
import inspect
import pickle
import threading
from typing import Any

import pytest

import pyo2
from pyo2._dll import function_names
from support import library, pep604, run_python


def _collect() -> None:
    """Collect garbage until finalisers have run (PyPy may need more than one pass)."""
    for _ in range(3):
        gc.collect()


def _drops(dll: pyo2.RustDLL) -> int:
    n = dll.types.Counter.drops()
    assert isinstance(n, int)
    return n


def test_constructor_methods_getters_and_statics(dll: pyo2.RustDLL) -> None:
    tok = dll.types.Tokenizer("builtin")
    assert tok.encode("the lazy fox and the dog") == [0, 6, 3, 0, 7]
    assert tok.encode("nothing known") == []
    assert tok.seen == 2
    with pytest.raises(AttributeError):
        tok.seen = 5
    assert dll.types.Tokenizer.builtin_size() == 8
    assert tok.builtin_size() == 8
    assert tok.each("fox x dog cat", lambda i, w: True) == 2
    assert dll.types["Tokenizer"] is dll.types.Tokenizer
    tok.close()


def test_constructor_err_raises_rust_error(dll: pyo2.RustDLL, tmp_path: Any) -> None:
    with pytest.raises(pyo2.RustError, match="No such file"):
        dll.types.Tokenizer(str(tmp_path / "missing.txt"))
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("alpha beta\ngamma")
    with dll.types.Tokenizer(str(vocab)) as tok:
        assert tok.encode("gamma alpha") == [2, 0]
    with pytest.raises(TypeError):
        dll.types.Tokenizer(42)


def test_introspection(dll: pyo2.RustDLL) -> None:
    T = dll.types.Tokenizer
    assert T.__name__ == "Tokenizer"
    assert T.__module__ == "pyo2.lib.pyo2_fixture"
    assert T.__doc__ == "Splits text into known words, counting how many texts it has seen."
    assert pep604(str(inspect.signature(T.encode))).startswith("(self, /, text: str")
    assert T.encode.__doc__.startswith("fn encode(&mut self, text: &str) -> Vec<u32>")
    assert "The ids of the known words" in T.encode.__doc__
    assert pep604(str(inspect.signature(T.__init__))).startswith("(self, /, path: str")
    assert "Reads the vocabulary" in T.__init__.__doc__
    assert T.seen.__doc__.startswith("fn seen(&self) -> u64")
    tok = T("builtin")
    assert repr(tok).startswith("<Tokenizer (handle=0x")
    tok.close()
    assert repr(tok) == "<Tokenizer (closed)>"
    assert {"Tokenizer", "Counter"} <= set(dir(dll.types))
    assert {"Tokenizer", "Counter"} <= set(dll.types.classes())


def test_class_symbols_are_not_library_functions(dll: pyo2.RustDLL) -> None:
    names = function_names(dll)
    assert "scan" in names
    assert not [n for n in names if n.startswith(("__pyo2_m__", "__pyo2_class__", "__pyo2_close__"))]
    assert not [n for n in dir(dll) if "pyo2_" in n and n.startswith("__")]


def test_inspect_lists_no_class_symbols(fixture_path: Any) -> None:
    # (The fixture has deliberately unreadable descriptors: inspect's status is 1.)
    result = run_python(
        f"import sys; from pyo2._cli import main; sys.exit(main(['inspect', {str(fixture_path)!r}]))"
    )
    assert "fn scan(" in result.stdout
    for prefix in ("__pyo2_m__", "__pyo2_class__", "__pyo2_close__"):
        assert f"fn {prefix}" not in result.stdout


def test_drop_once_after_del_and_collect(dll: pyo2.RustDLL) -> None:
    C = dll.types.Counter
    before = _drops(dll)
    c = C(1)
    assert c.add(2) == 3
    del c
    _collect()
    assert _drops(dll) == before + 1
    # In a reference cycle: the garbage collector's finalisation closes it.
    d = C(1)
    holder: list[Any] = [d, None]
    holder[1] = holder
    del d, holder
    _collect()
    assert _drops(dll) == before + 2


def test_drop_once_with_and_close_twice(dll: pyo2.RustDLL) -> None:
    C = dll.types.Counter
    before = _drops(dll)
    with C(5) as c:
        assert c.value == 5
    assert _drops(dll) == before + 1
    with pytest.raises(ValueError, match="closed"):
        c.add(1)
    with pytest.raises(ValueError, match="closed"):
        _ = c.value
    with pytest.raises(ValueError, match="closed"), c:
        pass
    c.close()
    d = C(1)
    d.close()
    d.close()
    assert _drops(dll) == before + 2
    del c, d
    _collect()
    assert _drops(dll) == before + 2  # collecting closed objects drops nothing more


def test_drop_once_at_interpreter_exit(fixture_path: Any) -> None:
    code = f"""
import atexit, pyo2
dll = pyo2.RustDLL({str(fixture_path)!r})
# Registered before pyo2's own exit handler exists, so it runs after it.
atexit.register(lambda: print("drops at exit", dll.types.Counter.drops() - start[0], dll.live_objects()))
start = [dll.types.Counter.drops()]
keep = [dll.types.Counter(i) for i in range(10)]
cycle = [dll.types.Counter(0)]
cycle.append(cycle)
closed = dll.types.Counter(0)
closed.close()
tok = dll.types.Tokenizer("builtin")
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "drops at exit 12 0"
    assert result.stderr == ""


def test_close_waits_for_a_method_running_on_another_thread(dll: pyo2.RustDLL) -> None:
    C = dll.types.Counter
    before = _drops(dll)
    c = C(7)
    inside, release = threading.Event(), threading.Event()
    results: list[int] = []

    def wait() -> None:
        inside.set()
        assert release.wait(30)

    t = threading.Thread(target=lambda: results.append(c.hold(wait)))
    t.start()
    assert inside.wait(30)
    c.close()  # the method is still running: Rust defers the drop
    assert _drops(dll) == before
    with pytest.raises(ValueError, match="closed"):
        c.value  # noqa: B018
    release.set()
    t.join(30)
    assert results == [7]  # the method finished on a live value
    assert _drops(dll) == before + 1


def test_forged_handles_raise_type_error(dll: pyo2.RustDLL) -> None:
    C = dll.types.Counter
    add = C.add.rust_function  # the raw function: its first argument is the handle
    c = C(1)
    handle = c._pyo2_h
    assert isinstance(handle, int)
    # (the top bit of the generation flipped: a generation no slot has reached)
    for forged in (0, 1, 12345, 2**64 - 1, handle ^ (1 << 63)):
        with pytest.raises(TypeError, match="not a handle of this library"):
            add(forged, 1)
    # A number next to a live handle may decode to an earlier object in the
    # same registry slot, a closed one: ValueError then (never a crash).
    for near in (handle ^ 1, handle + 1, handle - 1, handle ^ 2):
        with pytest.raises((TypeError, ValueError), match=r"not a handle of this library|closed: "):
            add(near, 1)
    with pytest.raises(OverflowError):
        add(-1, 1)
    with pytest.raises(TypeError):
        add("not a handle", 1)
    # A forged handle stored in the object itself: Rust refuses it too.
    c._pyo2_h = 424242
    with pytest.raises(TypeError, match="not a handle of this library"):
        c.add(1)
    c._pyo2_h = handle
    assert c.add(1) == 2
    c.close()


def test_closed_handle_raises_value_error(dll: pyo2.RustDLL) -> None:
    C = dll.types.Counter
    c = C(1)
    handle = c._pyo2_h
    c.close()
    with pytest.raises(ValueError, match="closed: the object was closed"):
        C.add.rust_function(handle, 1)


def test_wrong_class_raises_type_error(dll: pyo2.RustDLL) -> None:
    C, T = dll.types.Counter, dll.types.Tokenizer
    c, t = C(1), T("builtin")
    with pytest.raises(TypeError, match="must be a Counter"):
        C.add(t, 1)
    with pytest.raises(TypeError, match="must be a Tokenizer"):
        T.encode(c, "x")
    with pytest.raises(TypeError, match="must be a Counter"):
        C.value.fget(t)
    with pytest.raises(TypeError):
        C.add(object(), 1)
    # The raw functions: Rust tells the classes apart by the handle.
    with pytest.raises(TypeError, match="the handle is a `Counter`, not a `Tokenizer`"):
        T.encode.rust_function(c._pyo2_h, "x")
    c.close()
    t.close()


def test_foreign_library_objects_raise_type_error(dll: pyo2.RustDLL) -> None:
    other = pyo2.RustDLL(library("pyo2-fixture-b", "pyo2_fixture_b"))
    B = other.types.Counter
    b = B(3)
    assert b.value == 3
    C = dll.types.Counter
    assert B is not C
    with pytest.raises(TypeError, match=r"must be a Counter of pyo2\.lib\.pyo2_fixture,"):
        C.add(b, 1)
    with pytest.raises(TypeError, match="not a handle of this library"):
        C.add.rust_function(b._pyo2_h, 1)
    c = C(1)
    with pytest.raises(TypeError, match=r"must be a Counter of pyo2\.lib\.pyo2_fixture_b"):
        B.value.fget(c)
    b.close()
    c.close()
    # The same library loaded twice: two sets of classes, and objects stay with theirs.
    again = pyo2.RustDLL(pyo2.library_path(dll))
    d = again.types.Counter(2)
    with pytest.raises(TypeError):
        C.add(d, 1)
    d.close()


def test_objects_cannot_be_copied_or_pickled(dll: pyo2.RustDLL) -> None:
    import copy

    with dll.types.Counter(1) as c:
        with pytest.raises(TypeError):
            copy.copy(c)
        with pytest.raises(TypeError):
            pickle.dumps(c)


def test_concurrent_method_calls_from_8_threads_are_exact(dll: pyo2.RustDLL) -> None:
    c = dll.types.Counter(0)
    errors: list[BaseException] = []
    seen: list[int] = []

    def work() -> None:
        try:
            for _ in range(25):
                c.add_slowly(40)
                seen.append(c.value)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert c.value == 8 * 25 * 40
    assert all(v % 40 == 0 for v in seen)  # every read saw whole adds only
    c.close()


def test_reentrant_mut_call_from_callback_raises_runtime_error(dll: pyo2.RustDLL) -> None:
    c = dll.types.Counter(10)
    # &self inside &self: shares the read lock.
    values: list[int] = []
    c.peek(lambda v: values.append(c.value))
    assert values == [10]
    # &mut self inside &self, any call inside &mut self: RuntimeError, no deadlock.
    with pytest.raises(RuntimeError, match="already in use"):
        c.peek(lambda v: c.add(1))
    with pytest.raises(RuntimeError, match="already in use"):
        c.update(lambda v: c.value)
    with pytest.raises(RuntimeError, match="already in use"):
        c.update(lambda v: c.add(1))
    assert c.value == 10  # nothing ran
    assert c.update(lambda v: v * 2) == 21
    # Another object inside a &mut call is fine.
    other = dll.types.Counter(1)
    assert c.update(other.add) == 23
    other.close()
    c.close()


def test_closing_from_inside_a_method_defers_the_drop(dll: pyo2.RustDLL) -> None:
    before = _drops(dll)
    c = dll.types.Counter(3)
    assert c.hold(c.close) == 3
    assert _drops(dll) == before + 1


@pytest.mark.main_only
def test_a_million_objects_leave_nothing_alive_and_rss_flat(fixture_path: Any) -> None:
    code = f"""
import gc, pyo2
dll = pyo2.RustDLL({str(fixture_path)!r})
C = dll.types.Counter
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
start = C.drops()
for _ in range(100_000):
    C(1)
gc.collect()
warm = rss()
for _ in range(900_000):
    C(1)
for _ in range(1000):  # with, close and iterators too
    with C(2) as c:
        list(c.range())
gc.collect()
print(C.drops() - start, dll.live_objects(), rss() - warm)
"""
    result = run_python(code, timeout=300)
    assert result.returncode == 0, result.stderr
    drops, live, growth = map(int, result.stdout.split())
    assert drops == 1_001_000
    assert live == 0
    assert growth < 8 * 2**20, f"RSS grew by {growth} bytes over 900,000 create/drop cycles"


def test_method_calls_bind_like_functions(dll: pyo2.RustDLL) -> None:
    C = dll.types.Counter
    c = C(1)
    assert c.add(k=2) == 3
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'k'"):
        c.add()
    with pytest.raises(TypeError, match="takes 2 positional arguments"):
        c.add(1, 2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        c.add(x=1)
    with pytest.raises(OverflowError):
        c.add(2**63)
    with pytest.raises(TypeError):
        c.add("1")
    assert c.add(True) == 4  # bool is an int, as for functions

    class Sub(C):  # type: ignore[misc, valid-type]
        """A Python subclass: its instances are Counters."""

    s = Sub(10)
    assert s.add(1) == 11
    assert s.value == 11
    assert repr(s).startswith("<test_method_calls_bind_like_functions.<locals>.Sub (handle=")
    s.close()
    with pytest.raises(ValueError, match="closed"):
        s.add(1)
    c.close()


def test_a_method_keeps_a_temporary_object_alive(dll: pyo2.RustDLL) -> None:
    # `Counter(2).add(3)`: the call holds the only reference to the object;
    # its finaliser (which closes the handle) must not run before Rust has it.
    C = dll.types.Counter
    drops = _drops(dll)
    for i in range(100):
        assert C(i).add(3) == i + 3
        assert C(i).value == i
        assert C.add(C(i), k=1) == i + 1
    _collect()
    assert _drops(dll) - drops == 300
