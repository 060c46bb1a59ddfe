"""The harness itself: a crash or a hang fails one case, and the next case runs."""

from __future__ import annotations

import os
import time

import pyo2
from adversarial.harness import Outcome, Suite, Worker, attempt, raises, verdict

SUITE = Suite(__name__, "harness")


def _abort(dll: pyo2.RustDLL) -> Outcome:
    os.abort()


def _hang(dll: pyo2.RustDLL) -> Outcome:
    time.sleep(60)
    return Outcome()


def _fine(dll: pyo2.RustDLL) -> Outcome:
    return attempt(dll.double_i64, [1, "x"])


SUITE.add("abort", raises(TypeError), _abort, "none")
SUITE.add("hang", raises(TypeError), _hang, "none")
SUITE.add("fine", raises(TypeError), _fine, "none")


def test_a_crash_fails_the_case_and_the_next_case_runs(worker: Worker) -> None:
    crashed = worker.run(SUITE.cases["abort"].key)
    assert crashed.crashed is not None and "SIGABRT" in crashed.crashed, crashed
    verdict(SUITE.cases["fine"].expect, worker.run(SUITE.cases["fine"].key))


def test_a_hang_fails_the_case_and_the_next_case_runs(worker: Worker) -> None:
    hung = worker.run(SUITE.cases["hang"].key, timeout=1)
    assert hung.crashed is not None and "hung" in hung.crashed, hung
    verdict(SUITE.cases["fine"].expect, worker.run(SUITE.cases["fine"].key))


def test_the_suite_has_enough_cases() -> None:
    from adversarial import test_aliasing, test_invalid, test_lying, test_mutation, test_names, test_writeback

    suites = [test_lying, test_mutation, test_aliasing, test_invalid, test_writeback, test_names]
    counts = {m.SUITE.kind: len(m.SUITE.cases) for m in suites}
    assert sum(counts.values()) >= 120, counts
    assert all(n >= 5 for n in counts.values()), counts
    paths = {case.path for m in suites for case in m.SUITE.cases.values()}
    assert {"inferred", "declared", "exported"} <= paths
