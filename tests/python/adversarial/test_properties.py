"""Any hostile input either succeeds with the result its real contents give,
or raises a documented exception with no argument changed; never a crash.

Hypothesis draws a hostile object (``strategies.hostile_specs``) and a
function and path; the worker builds the object, calls, and checks.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import hostile_specs

import pyo2
from adversarial.harness import PATHS, Family, Outcome, Suite, Worker, attempt, real
from adversarial.hostile import MUTATORS, SENTINEL, Appends, build, real_items

SUITE = Suite(__name__, "property")

SEEN = Family("seen_i64", "fn seen_i64(v: &PyVec<i64>, out: &mut PyVec<i64>)", "ex_seen_i64")
DOUBLE = Family("double_i64", "fn double_i64(v: &mut PyVec<i64>)", "ex_double_i64")
DOCUMENTED = {"TypeError", "ValueError", "OverflowError", "UnicodeError", "RuntimeError", "BufferError"}
DOCUMENTED |= {"UnicodeEncodeError", "UnicodeDecodeError"}


def _wrap(x: int) -> int:
    return (x + 2**63) % 2**64 - 2**63


def _kept(obj: Any) -> bool:
    """Whether the appended sentinel is there (or was never appended: refused first)."""
    items = real(obj)
    # Rust may have seen the list after the append (converted again), and doubled the sentinel.
    return (
        SENTINEL in items
        or 2 * SENTINEL in items
        or any(type(x) is Appends and x.target is not None for x in items)
    )


def hostile_call(dll: pyo2.RustDLL, params: Any) -> Outcome:
    kind, items, target, path = params["kind"], params["items"], params["target"], params["path"]
    obj = build(kind, items)
    before = real_items(obj)
    family = SEEN if target == "seen" else DOUBLE
    function = family.get(dll, path)
    out = [0, 0]
    if target == "seen" and path != "exported":
        outcome = attempt(function, obj, out)
    else:
        outcome = attempt(function, obj)
    mutator = kind in MUTATORS
    if not outcome.ok():
        outcome.check(outcome.raised in DOCUMENTED, f"raised {outcome.raised}: {outcome.message}")
        outcome.check(mutator or outcome.unchanged, "an argument changed although the call raised")
        if mutator:
            outcome.check(_kept(obj), "the item appended during the conversion was lost")
        return outcome
    if mutator:
        return outcome.check(_kept(obj), "the item appended during the conversion was lost")
    assert before is not None or kind.startswith("fake")
    if before is None:
        return outcome
    if target == "seen":
        got = out if path != "exported" else ast.literal_eval(outcome.value)  # a list of ints
        want = [len(before), _wrap(sum(before))]
        outcome.check(got == want, f"Rust saw {got}, the real contents give {want}")
    else:
        after = real_items(obj)
        want = [_wrap(2 * x) for x in before]
        outcome.check(after == want, f"the list holds {after}, expected {want}")
    return outcome


SUITE.add_param("hostile", hostile_call)


# PyPy converts an int subclass through its own __index__ (see conftest's _PYPY_DIFFERS).
_SPECS = hostile_specs()
if sys.implementation.name != "cpython":
    _SPECS = _SPECS.filter(lambda spec: not str(spec.get("kind", "")).startswith("int-lie"))


@given(
    spec=_SPECS,
    target=st.sampled_from(["seen", "double"]),
    path=st.sampled_from(PATHS),
)
def test_hostile_input_is_refused_or_right(
    worker: Worker, spec: dict[str, Any], target: str, path: str
) -> None:
    outcome = worker.run(SUITE.cases["hostile"].key, {**spec, "target": target, "path": path})
    if outcome.crashed is not None:
        pytest.fail(f"{spec} {target} {path}: the worker died: {outcome.crashed}", pytrace=False)
    assert not outcome.problems, "\n".join([f"{spec} {target} {path}", *outcome.problems])
