"""``pyo2::Iter<T>`` as Python iterators (issue 13; tests/fixture/src/objects.rs):
they end with StopIteration and free Rust's iterator when exhausted or collected."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

import pyo2
from support import run_python


def _collect() -> None:
    """Collect garbage until finalisers have run (PyPy may need more than one pass)."""
    for _ in range(3):
        gc.collect()


def _live(dll: pyo2.RustDLL) -> int:
    _collect()
    n = dll.live_objects()
    assert isinstance(n, int)
    return n


def test_iterator_yields_items_and_ends_with_stop_iteration(dll: pyo2.RustDLL) -> None:
    it = dll.count_to(3)
    assert iter(it) is it
    assert [next(it), next(it), next(it)] == [0, 1, 2]
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(StopIteration):  # and again: Rust's iterator is gone, the end stays
        next(it)
    assert list(dll.count_to(0)) == []
    assert list(dll.iter_words(" héllo  wörld x ")) == ["héllo", "wörld", "x"]
    assert sum(dll.count_to(1000)) == sum(range(1000))


def test_methods_return_iterators(dll: pyo2.RustDLL) -> None:
    with dll.types.Counter(4) as c:
        assert list(c.range()) == [0, 1, 2, 3]
        r = c.range()
    assert list(r) == [0, 1, 2, 3]  # the iterator owns its items: it outlives the object
    with dll.types.Tokenizer("builtin") as t:
        assert list(t.tokens()) == ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"]


def test_exhausted_and_collected_iterators_are_freed(dll: pyo2.RustDLL) -> None:
    before = _live(dll)
    it = dll.count_to(5)
    assert dll.live_objects() == before + 1
    assert list(it) == [0, 1, 2, 3, 4]
    del it
    assert _live(dll) == before


def test_collected_unfinished_iterators_are_freed(dll: pyo2.RustDLL) -> None:
    before = _live(dll)
    its = [dll.iter_words("a b c") for _ in range(100)]
    assert [next(it) for it in its] == ["a"] * 100
    assert dll.live_objects() == before + 100
    del its
    assert _live(dll) == before
    # A cycle through the iterator: collected by the garbage collector.
    holder: list[Any] = [dll.count_to(10)]
    holder.append(holder)
    del holder
    assert _live(dll) == before


def test_close_frees_now_and_exhausts(dll: pyo2.RustDLL) -> None:
    before = _live(dll)
    it = dll.count_to(10)
    assert next(it) == 0
    it.close()
    it.close()  # idempotent
    assert dll.live_objects() == before
    with pytest.raises(StopIteration):
        next(it)
    assert "closed" in repr(it)


def test_iterators_from_threads(dll: pyo2.RustDLL) -> None:
    before = _live(dll)
    results: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(200):
            total = sum(dll.count_to(50))
            with lock:
                results.append(total)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [sum(range(50))] * 1600
    assert _live(dll) == before


def test_iterators_alive_at_exit_are_closed_cleanly(fixture_path: object) -> None:
    code = f"""
import pyo2
dll = pyo2.RustDLL({str(fixture_path)!r})
its = [dll.iter_words("a b c") for _ in range(10)]
next(its[0])
c = dll.types.Counter(3)
r = c.range()
glob = dll.count_to(5)
print(dll.live_objects())
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "13"
    assert result.stderr == ""


def test_one_iterator_shared_by_threads_yields_each_item_once(dll: pyo2.RustDLL) -> None:
    it = dll.count_to(20_000)
    got: list[list[int]] = [[] for _ in range(8)]

    def drain(out: list[int]) -> None:
        out.extend(it)

    threads = [threading.Thread(target=drain, args=(out,)) for out in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(x for out in got for x in out) == list(range(20_000))
