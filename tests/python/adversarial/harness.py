"""Run adversarial cases in a worker process, so a crash fails one case only.

Parent side: :class:`Worker` (a session fixture in ``conftest.py``) starts
``python -c`` running :func:`serve`, sends it one case name per line and
reads back one JSON :class:`Outcome`. A worker that dies (segfault, abort) or
hangs fails the current case with the signal or the timeout and the tail of
its stderr (faulthandler's traceback); the next case gets a fresh worker.

Worker side: a case is a plain function registered in a module's
:class:`Suite`; it builds hostile arguments, calls the Rust function through
:func:`attempt` (which snapshots every argument's real contents and identity
before and after) and returns the :class:`Outcome`, with ``problems`` for
anything its own checks found wrong. The parent compares the outcome with
the case's :class:`Expect`: the exact exception type (or the value), and on
an exception, that no argument changed.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

import pyo2

#: The three ways a function is called: no declaration, ``dll.declare``, ``#[pyo2::export]``.
PATHS = ("inferred", "declared", "exported")

TESTS_PYTHON = Path(__file__).resolve().parents[1]
ROOT = TESTS_PYTHON.parents[1]

#: How long one case may run before it counts as a hang.
TIMEOUT = 20.0


# ---------------------------------------------------------------------------
# What a case reports.


@dataclass
class Outcome:
    """What happened in one case (worker side), sent to the parent as JSON."""

    #: The exception's type, ``TypeError`` or ``pyo2.RustPanic``; None if the call returned.
    raised: str | None = None
    message: str = ""
    #: ``repr`` of the return value.
    value: str = ""
    #: Whether every argument kept its real contents and identity (inner lists too).
    unchanged: bool = True
    #: What the case's own checks found wrong.
    problems: list[str] = field(default_factory=list)
    #: Why the case was skipped (numpy missing, an older Python), if it was.
    skipped: str | None = None
    #: Parent side: how the worker died (signal, timeout) and its stderr.
    crashed: str | None = None

    def check(self, ok: bool, problem: str) -> Outcome:
        """Record ``problem`` unless ``ok``; returns self."""
        if not ok:
            self.problems.append(problem)
        return self

    def ok(self) -> bool:
        return self.raised is None


def type_name(exc: type[BaseException]) -> str:
    module = exc.__module__
    return exc.__qualname__ if module == "builtins" else f"{module.split('.')[0]}.{exc.__qualname__}"


# ---------------------------------------------------------------------------
# Snapshots: real contents, read through the base types (never a dunder the
# object could lie with).


def snapshot(args: Any) -> tuple[list[int], Any]:
    """Identities and real contents of ``args`` and everything in them."""
    ids: list[int] = []

    def walk(x: Any, on_path: frozenset[int]) -> Any:
        ids.append(id(x))
        t = type(x)
        if issubclass(t, list):
            if id(x) in on_path:
                return ("cycle", id(x))
            inner = on_path | {id(x)}
            return ("list", t.__name__, [walk(item, inner) for item in list.copy(x)])
        if issubclass(t, tuple):
            return ("tuple", [walk(item, on_path) for item in tuple.__iter__(x)])
        if issubclass(t, bool):
            return ("bool", bool(x))
        if issubclass(t, int):
            return ("int", t.__name__, int.__repr__(x))
        if issubclass(t, float):
            return ("float", t.__name__, float.hex(x))
        if issubclass(t, str):
            return ("str", t.__name__, str.__str__(x))
        if issubclass(t, bytes):
            return ("bytes", t.__name__, bytes.__getitem__(x, slice(None)))
        if issubclass(t, bytearray):
            return ("bytearray", t.__name__, bytes(bytearray.__getitem__(x, slice(None))))
        if t is memoryview:
            try:
                return ("memoryview", x.tobytes(), x.format, x.readonly)
            except ValueError:
                return ("memoryview", "released")
        if issubclass(t, array):
            return ("array", x.typecode, array.tobytes(x))
        if hasattr(t, "__array_interface__"):  # numpy
            return ("ndarray", str(x.dtype), x.tobytes())
        return ("object", t.__name__)

    return ids, [walk(a, frozenset()) for a in args]


def attempt(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Call ``function``; report its exception or value and whether any argument changed."""
    everything = (*args, *kwargs.values())
    ids, before = snapshot(everything)
    outcome = Outcome()
    try:
        result = function(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # SystemExit from a lying dunder is an outcome too
        outcome.raised = type_name(type(e))
        outcome.message = str(e)
    else:
        outcome.value = repr(result)
    after_ids, after = snapshot(everything)
    outcome.unchanged = after_ids == ids and after == before
    return outcome


def same_contents(x: Any, expected: list[Any]) -> bool:
    """Whether list ``x`` really holds ``expected`` (its items' types included)."""
    items = list.copy(x)
    return len(items) == len(expected) and all(
        type(a) is type(b) and (a == b or (math.isnan(a) and math.isnan(b)) if type(a) is float else a == b)
        for a, b in zip(items, expected)
    )


def real(x: Any) -> list[Any]:
    """The real items of a list (subclass), read through ``list``."""
    return list.copy(x)


class Meddler:
    """A thread that runs ``action`` after ``delay`` seconds and records its exception."""

    def __init__(self, action: Callable[[], object], delay: float = 0.05, repeat: bool = False) -> None:
        self.action = action
        self.delay = delay
        self.repeat = repeat
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.runs = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        time.sleep(self.delay)
        while True:
            try:
                self.action()
            except Exception as e:
                self.errors.append(type_name(type(e)))
            self.runs += 1
            if not self.repeat or self.stop.is_set():
                return
            time.sleep(0)

    def __enter__(self) -> Meddler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def need_numpy() -> Any:
    return pytest.importorskip("numpy", reason="numpy has no wheel for this interpreter")


def need_python(version: tuple[int, int], why: str) -> None:
    if sys.version_info < version:
        pytest.skip(f"needs Python {version[0]}.{version[1]}+: {why}")


# ---------------------------------------------------------------------------
# Expectations and registration.


class _Any:
    def __repr__(self) -> str:
        return "<any value>"


#: ``Expect.returns`` for a case that checks the value itself.
ANY = _Any()


@dataclass(frozen=True)
class Expect:
    """What a case must do: raise exactly ``raises`` (arguments unchanged), or
    return ``returns`` (compared by ``repr``), or either if both are given."""

    raises: type[BaseException] | None = None
    returns: object = None
    succeeds: bool = False
    #: False when the case itself changes an argument (a mutator) and checks it.
    unchanged: bool = True

    def __str__(self) -> str:
        parts = []
        if self.succeeds:
            parts.append(f"return {self.returns!r}")
        if self.raises is not None:
            parts.append(f"raise {type_name(self.raises)}")
        return " or ".join(parts)


def raises(exc: type[BaseException], unchanged: bool = True) -> Expect:
    return Expect(raises=exc, unchanged=unchanged)


def returns(value: object = ANY) -> Expect:
    return Expect(returns=value, succeeds=True)


def real_or(value: object, exc: type[BaseException], unchanged: bool = True) -> Expect:
    """The result the object's real contents give, or exactly ``exc``."""
    return Expect(raises=exc, returns=value, succeeds=True, unchanged=unchanged)


CaseFunction = Callable[[pyo2.RustDLL, Any], Outcome]


@dataclass(frozen=True)
class Case:
    suite: str
    name: str
    expect: Expect
    function: CaseFunction
    #: The class of issue 10 it belongs to, and the call path.
    kind: str
    path: str

    @property
    def key(self) -> str:
        return f"{self.suite}:{self.name}"


class Suite:
    """The cases of one module, by name."""

    def __init__(self, module: str, kind: str) -> None:
        self.module = module
        self.kind = kind
        self.cases: dict[str, Case] = {}

    def add(self, name: str, expect: Expect, function: Callable[[pyo2.RustDLL], Outcome], path: str) -> None:
        assert name not in self.cases, name
        self.cases[name] = Case(self.module, name, expect, lambda dll, _: function(dll), self.kind, path)

    def add_param(self, name: str, function: CaseFunction) -> None:
        """A case that takes parameters (the property test's)."""
        self.cases[name] = Case(self.module, name, Expect(), function, self.kind, "any")

    def names(self) -> list[str]:
        return list(self.cases)

    def check(self, worker: Worker, name: str) -> Outcome:
        case = self.cases[name]
        outcome = worker.run_cached(case.key)
        verdict(case.expect, outcome)
        return outcome


def verdict(expect: Expect, outcome: Outcome) -> None:
    """Fail the test unless ``outcome`` is what ``expect`` allows."""
    if outcome.crashed is not None:
        pytest.fail(f"the worker died: {outcome.crashed}", pytrace=False)
    if outcome.skipped is not None:
        pytest.skip(outcome.skipped)
    errors = list(outcome.problems)
    if outcome.raised is None:
        if not expect.succeeds or (expect.returns is not ANY and outcome.value != repr(expect.returns)):
            errors.append(f"returned {outcome.value}, expected {expect}")
    elif expect.raises is None or outcome.raised != type_name(expect.raises):
        errors.append(f"raised {outcome.raised}: {outcome.message!r}; expected {expect}")
    elif expect.unchanged and not outcome.unchanged:
        errors.append(f"raised {outcome.raised} but an argument changed")
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


# ---------------------------------------------------------------------------
# The worker process.

_WORKER = (
    "import sys; sys.path.insert(0, sys.argv[2]); from adversarial.harness import serve; serve(sys.argv[1])"
)


def _find(key: str) -> Case:
    module, name = key.split(":", 1)
    suite = importlib.import_module(module).SUITE
    assert isinstance(suite, Suite)
    return suite.cases[name]


def run_here(library: str, key: str, params: Any = None) -> Outcome:
    """Run one case in this process (the worker's side)."""
    try:
        case = _find(key)
        return case.function(pyo2.RustDLL(library), params)
    except pytest.skip.Exception as e:
        return Outcome(skipped=str(e))
    except BaseException:
        return Outcome(problems=["the case itself failed:\n" + traceback.format_exc()])


def serve(library: str) -> None:
    """The worker: run each case named on stdin, answer one JSON line each."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever Rust or a case prints goes to stderr, not into the answers
    for line in sys.stdin:
        request = json.loads(line)
        outcome = run_here(library, request["case"], request.get("params"))
        out.write(json.dumps(asdict(outcome)) + "\n")
        out.flush()


class Worker:
    """The parent's handle on the worker process (restarted after a crash)."""

    def __init__(self, library: Path) -> None:
        self.library = library
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr: IO[bytes] | None = None
        self.cache: dict[str, Outcome] = {}

    def _start(self) -> subprocess.Popen[bytes]:
        self.close()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (kept open across cases)
        env = {**os.environ, "RUST_BACKTRACE": "0", "PYTHONFAULTHANDLER": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(self.library), str(TESTS_PYTHON)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=ROOT,
            env=env,
        )
        return self.proc

    def run(self, key: str, params: Any = None, timeout: float = TIMEOUT) -> Outcome:
        """Run case ``key`` in the worker; a crash or hang becomes ``Outcome.crashed``."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None and self.stderr is not None
        start = self.stderr.seek(0, os.SEEK_END)
        try:
            proc.stdin.write((json.dumps({"case": key, "params": params}) + "\n").encode())
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else b""
        if line:
            return Outcome(**json.loads(line))
        if ready:
            how = self._death(proc)
        else:
            proc.kill()
            proc.wait()
            how = f"hung: no answer after {timeout:.0f} s"
        self.stderr.seek(start)
        tail = self.stderr.read().decode(errors="replace")[-3000:]
        self.close()
        return Outcome(crashed=f"{how}\n--- worker stderr ---\n{tail}")

    def run_cached(self, key: str) -> Outcome:
        if key not in self.cache:
            self.cache[key] = self.run(key)
        return self.cache[key]

    @staticmethod
    def _death(proc: subprocess.Popen[bytes]) -> str:
        try:
            code = proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exited with status {code}"

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                assert self.proc.stdin is not None
                with contextlib.suppress(BrokenPipeError):
                    self.proc.stdin.close()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()
            self.proc = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None


# ---------------------------------------------------------------------------
# Calling one Rust function three ways.


@dataclass(frozen=True)
class Family:
    """One behaviour with a plain function (inferred and declared) and an exported twin."""

    plain: str
    declaration: str
    exported: str

    def get(self, dll: pyo2.RustDLL, path: str) -> Callable[..., Any]:
        if path == "inferred":
            return dll[self.plain]
        if path == "declared":
            return dll.declare(self.declaration)
        assert path == "exported"
        return dll[self.exported]
