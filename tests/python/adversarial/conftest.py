"""The worker process every adversarial case runs in (one per session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adversarial.harness import Worker


@pytest.fixture(scope="session")
def worker(fixture_path: Path) -> Iterator[Worker]:
    w = Worker(fixture_path)
    yield w
    w.close()
