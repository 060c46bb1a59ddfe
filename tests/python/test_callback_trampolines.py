"""The accelerator's compiled callback trampolines against pyo2's ctypes ones
(pyo2._callbacks): the same scenarios, run once with each in a fresh
interpreter, give the same results, the same exceptions and messages, the
same unraisable reports, the same releases (tests/fixture/src/objects.rs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import pyo2._accelerate
from support import run_python

#: Prints one JSON line per observation; ``MODE`` picks the trampolines.
SCENARIOS = r"""
import gc, json, sys, threading, traceback, weakref
import pyo2, pyo2._callbacks as cb

if MODE == "ctypes":
    cb._compiled = lambda accel, sig: None  # the ctypes thunk for every signature
dll = pyo2.RustDLL(PATH)
out = []

def outcome(thunk):
    try:
        return ["ok", thunk()]
    except BaseException as exc:
        return ["err", type(exc).__name__, str(exc)]

class Int(int):
    pass

# Results and their checks, every argument and return type the fixture has.
results = [
    lambda: dll.scan("a xa b xé xstop", lambda i, w: w != "xstop"),
    lambda: dll.scan("xa xb", lambda i, w: 1),
    lambda: dll.scan("xa xb", lambda i, w: 0),
    lambda: dll.scan("xa xb", lambda i, w: 2),
    lambda: dll.scan("xa", lambda i, w: None),
    lambda: dll.scan("xa", lambda i, w: 1.0),
    lambda: dll.scan("xa", lambda i, w: Int(1)),
    lambda: dll.scan("x" + "é" * 300, lambda i, w: len(w) == 301),
    lambda: dll.map_f64([1.0, 2.5, -3.0], lambda v: v * 2),
    lambda: dll.map_f64([1.0, 2.0], lambda v: int(v) * 3),
    lambda: dll.map_f64([0.5], lambda v: Int(2)),
    lambda: dll.map_f64([1.0], lambda v: 10**400),
    lambda: dll.map_f64([1.0], lambda v: None),
    lambda: dll.map_f64([1.0], lambda v: "1.5"),
    lambda: dll.map_f64([1.0], lambda v: True),
    lambda: dll.call_with(lambda a, b, s: 2**64 - 1 if b else 0),
    lambda: dll.call_with(lambda a, b, s: -1),
    lambda: dll.call_with(lambda a, b, s: True),
    lambda: dll.call_with(lambda a, b, s: 2**64),
    lambda: dll.watch_ref([1.0], lambda: "ignored"),
    lambda: dll.scan("xa", lambda: True),
    lambda: dll.scan("xa", lambda i, w: 1 / 0),
]
for thunk in results:
    out.append(["result", outcome(thunk)])

# The same exception object, with the callback's line in its traceback.
raised = []
def on_hit(i, w):
    if w == "xboom":
        raised.append(KeyError(w))
        raise raised[-1]  # the callback's line
    return True
try:
    dll.scan("xa xboom", on_hit)
except KeyError as exc:
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.name == "on_hit"]
    out.append(["same object", exc is raised[0], lines])
out.append(["next call", dll.scan("xa xb", lambda i, w: True)])
try:
    dll.scan("xa", lambda i, w: dll.scan(w, lambda j, v: 1 / 0) == 1)
except ZeroDivisionError as exc:
    out.append(["nested", str(exc)])

# Unraisable on Rust threads.
reported = []
sys.unraisablehook = reported.append
def log(message):
    if message.endswith("message 1"):
        raise RuntimeError(message)
dll.set_logger(log)
out.append(["threads", dll.log_from_threads(3, 4)])
sys.unraisablehook = sys.__unraisablehook__
out.append(["unraisable", sorted([type(r.exc_value).__name__, str(r.exc_value), r.err_msg,
            r.exc_traceback is not None] for r in reported)])

# A stored callable: released once Rust drops it, then a weakref to it dies.
class Logger:
    def __init__(self):
        self.lines = []
    def __call__(self, message):
        self.lines.append(message)
dll.clear_logger()
gc.collect()
before = cb.live_callbacks()
logger = Logger()
ref = weakref.ref(logger)
dll.set_logger(logger)
out.append(["stored", dll.log_here("hi"), logger.lines, cb.live_callbacks() - before])
del logger
gc.collect()
out.append(["alive while stored", ref() is not None])
dll.clear_logger()
gc.collect()
out.append(["released", ref() is None, cb.live_callbacks() - before])

# 8 Rust threads x 10k calls of a stored callback while gc.collect() loops.
calls = []
class Junk:
    def __init__(self):
        self.me = self
def busy(message):
    calls.append(message)
    Junk()
dll.set_logger(busy)
done = threading.Event()
result = []
def run():
    result.append(dll.log_from_threads(8, 10_000))
    done.set()
t = threading.Thread(target=run)
t.start()
loops = 0
while not done.is_set():
    gc.collect()
    loops += 1
t.join()
out.append(["gc threads", result, len(calls), loops > 0, dll.clear_logger()])
out.append(["live", cb.live_callbacks() - before])

compiled = sorted(str(sig) for sig, (thunk, _) in cb._TRAMPOLINES.items() if thunk is None)
print(json.dumps({"out": out, "compiled": compiled}))
"""


def _code(fixture_path: Path, mode: str) -> str:
    return f"MODE = {mode!r}\nPATH = {str(fixture_path)!r}\n{SCENARIOS}"


def _run(fixture_path: Path, mode: str) -> dict[str, Any]:
    code = _code(fixture_path, mode)
    result = run_python(code, timeout=300)
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return found


@pytest.mark.main_only  # two interpreters, 80k callback calls each
def test_compiled_trampolines_behave_as_the_ctypes_ones(fixture_path: Path) -> None:
    compiled = _run(fixture_path, "compiled")
    thunks = _run(fixture_path, "ctypes")
    assert thunks["compiled"] == []
    if pyo2._accelerate.available():
        # Every signature of 0-2 arguments is compiled; call_with's 3 arguments are not.
        assert "&mut dyn FnMut(usize, &str) -> bool" in compiled["compiled"]
        assert "Callback<dyn Fn(&str)>" in compiled["compiled"]
        assert not any("i32, bool, &str" in sig for sig in compiled["compiled"])
    assert compiled["out"] == thunks["out"]
    out = {row[0]: row[1:] for row in compiled["out"]}
    # What the scenarios observed is what the contract says, not only the same twice.
    lines = _code(fixture_path, "compiled").splitlines()
    line = 1 + next(i for i, text in enumerate(lines) if text.endswith("# the callback's line"))
    assert out["same object"] == [True, [line]]
    assert out["next call"] == [2]
    assert out["nested"] == ["division by zero"]
    assert out["threads"] == [9]
    message = "Exception ignored in a pyo2 callback called from a Rust thread"
    assert out["unraisable"] == [[["RuntimeError", f"thread {t} message 1", message, True] for t in range(3)]]
    assert out["stored"] == [True, ["logger set", "hi"], 1]
    assert out["alive while stored"] == [True]
    assert out["released"] == [True, 0]
    # 8 Rust threads x 10k calls while Python looped gc.collect(): no deadlock, every
    # call made (and the logger's first "logger set"), the collector ran during them.
    assert out["gc threads"] == [[80_000], 80_001, True, True]
    assert out["live"] == [0]
    results = [row[1] for row in compiled["out"] if row[0] == "result"]
    assert results[0] == ["ok", 3]
    assert results[3] == ["err", "ValueError", "a callback returning bool returned 2"]
    assert results[16][:2] == ["err", "OverflowError"]
    assert results[17] == ["err", "TypeError", "a callback returning u64 returned a bool"]
