"""Class 8: the C library's symbols are not the Rust library's functions.

``dll.abort``, ``dll.exit``, ``dll.system``... are found by ``dlsym`` in
libc, which the cdylib links: they must be ``AttributeError``, never a
callable (none of these cases calls anything).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import pyo2
from adversarial.harness import Outcome, Suite, Worker, attempt, raises

SUITE = Suite(__name__, "names")

LIBC = [
    "abort",
    "exit",
    "_exit",
    "free",
    "getpid",
    "system",
    "malloc",
    "printf",
    "dlopen",
    "memcpy",
    "raise",
    "kill",
]


def _get(name: str, how: str) -> Callable[[pyo2.RustDLL], Outcome]:
    def case(dll: pyo2.RustDLL) -> Outcome:
        if how == "attribute":
            outcome = attempt(getattr, dll, name)
        elif how == "item":
            outcome = attempt(dll.__getitem__, name)
        else:
            outcome = attempt(dll.declare, f"fn {name}(x: i64) -> i64")
        outcome.check(name not in dir(dll), f"dir(dll) lists {name!r}")
        if outcome.ok():
            outcome.value = "a callable for a libc function"
        return outcome

    return case


for _name in LIBC:
    SUITE.add(f"attribute-{_name}", raises(AttributeError), _get(_name, "attribute"), "names")
for _name in ("abort", "system", "free"):
    SUITE.add(f"item-{_name}", raises(AttributeError), _get(_name, "item"), "names")
    SUITE.add(f"declare-{_name}", raises(AttributeError), _get(_name, "declare"), "names")


@pytest.mark.parametrize("name", SUITE.names())
def test_libc_symbol_is_not_a_function(worker: Worker, name: str) -> None:
    SUITE.check(worker, name)
