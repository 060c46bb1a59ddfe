"""The worker process every adversarial case runs in (one per session)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adversarial.harness import Worker


@pytest.fixture(scope="session")
def worker(fixture_path: Path) -> Iterator[Worker]:
    w = Worker(fixture_path)
    yield w
    w.close()


# Where PyPy's own semantics differ from CPython's, and the README's rule for
# PyPy applies instead (see its "Limits"): these cases are CPython's rules.
_PYPY_DIFFERS = {
    "int-lie": "PyPy's struct and ctypes convert an int subclass through its own __index__",
    "int-subclass-lies": "PyPy's struct and ctypes convert an int subclass through its own __index__",
    "-while-lent-": "on PyPy a buffer is lent as a private copy, so resizing it meanwhile is allowed",
    "finalizer-appends-to-next-list": "PyPy runs finalizers when its GC runs, not at the last reference",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if sys.implementation.name == "cpython":
        return
    for item in items:
        for part, reason in _PYPY_DIFFERS.items():
            if part in item.nodeid:
                item.add_marker(pytest.mark.skip(reason=f"PyPy: {reason}"))
