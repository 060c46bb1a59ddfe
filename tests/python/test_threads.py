"""Calls from many threads at once: each gets its own correct results, and the
GIL is released while Rust runs (shown by timestamps taken in Rust)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

from strategies import wrap

import pyo2

THREADS = 8


def run_threads(work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in THREADS threads started together; the exceptions they raised."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as e:  # reported by the test, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def test_concurrent_calls_from_eight_threads_are_all_correct(fixture_path: Path) -> None:
    dll = pyo2.RustDLL(fixture_path)
    double = dll.declare("fn double_i64(v: &mut PyVec<i64>)")
    add = dll.declare("fn add_u8(a: u8, b: u8) -> u8")
    results: dict[int, int] = {}

    def work(i: int) -> None:
        rng = random.Random(i)
        checked = 0
        for _ in range(200):
            values = [rng.randrange(-(2**40), 2**40) for _ in range(rng.randrange(0, 50))]
            before = list(values)
            double(values)  # declared, flat fast path
            assert values == [wrap("i64", 2 * x) for x in before]
            inferred = list(before)
            dll.double_i64(inferred)  # inferred
            assert inferred == values
            assert dll.ex_busy_sum(before, 3) == wrap("i64", 3 * sum(before))  # exported
            a, b = rng.randrange(256), rng.randrange(256)
            assert add(a, b) == (a + b) % 256
            assert dll.ex_greet(f"thread {i}") == f"Hello, thread {i}!"
            checked += 1
        results[i] = checked

    assert run_threads(work) == []
    assert results == dict.fromkeys(range(THREADS), 200)


def test_the_gil_is_released_while_rust_runs(fixture_path: Path) -> None:
    """Eight 200 ms calls, timed by Rust's own clock, all overlap.

    (The compiled accelerator keeps the GIL for scalar-only calls, as
    documented: this is the pure path's promise, ``f.fallback`` there; see
    test_accelerator.py for the accelerator's policy.)"""
    dll = pyo2.RustDLL(fixture_path)
    sleep_span = getattr(dll.ex_sleep_span, "fallback", dll.ex_sleep_span)
    spans: list[list[int]] = []
    assert run_threads(lambda i: spans.append(sleep_span(200))) == []
    assert len(spans) == THREADS
    latest_start = max(start for start, _ in spans)
    earliest_end = min(end for _, end in spans)
    assert latest_start < earliest_end, spans


def test_each_thread_gets_its_own_panic_message(fixture_path: Path) -> None:
    dll = pyo2.RustDLL(fixture_path)
    messages: dict[int, set[str]] = {}

    def work(i: int) -> None:
        seen = messages.setdefault(i, set())
        for _ in range(5):
            try:
                dll.ex_panic_after(i, 20)
            except pyo2.RustPanic as e:
                seen.add(e.message)

    assert run_threads(work) == []
    assert messages == {i: {f"thread {i}"} for i in range(THREADS)}
