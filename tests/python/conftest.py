"""Shared fixtures: the compiled fixture library, built once per run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

import pyo2
from support import library

# Hypothesis profiles, chosen by HYPOTHESIS_PROFILE: "fast" (the default, and the
# other Pythons in the test command) and "ci" (the default when CI is set) digs deeper.
settings.register_profile("fast", max_examples=60, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "fast"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "main_only: slow and independent of the interpreter (docs, packaging, cargo builds); "
        "the test command runs these on the main Python only",
    )


@pytest.fixture(scope="session")
def fixture_path() -> Path:
    return library("pyo2-fixture", "pyo2_fixture")


@pytest.fixture
def dll(fixture_path: Path) -> pyo2.RustDLL:
    """A freshly loaded fixture library (declarations don't leak between tests)."""
    return pyo2.RustDLL(fixture_path)
