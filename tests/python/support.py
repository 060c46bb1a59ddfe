"""Helpers shared by the tests (importable as ``support``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"


def library(crate: str, lib: str) -> Path:
    """Build ``crate`` (release) and return the path of its cdylib ``lib``.

    ``PYO2_FIXTURE``, when set, is the fixture library to use instead, built
    elsewhere (``scripts/_asan.sh``: with AddressSanitizer); nothing is built.
    """
    fixture = os.environ.get("PYO2_FIXTURE")
    if fixture and crate == "pyo2-fixture":
        path = Path(fixture).resolve()
        assert path.is_file(), f"PYO2_FIXTURE: no such library {path}"
        return path
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # no ASan runtime in cargo
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", crate], cwd=ROOT, check=True, env=env)
    path = TARGET / f"lib{lib}.so"
    assert path.exists(), path
    return path


def run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, so a crash fails a test instead of the run.

    Rust's panic hook prints no backtrace there (capturing one per panic is slow).
    """
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def pep604(text: str) -> str:
    """``Union[a, b]`` / ``Optional[a]`` spelled ``a | b`` / ``a | None``, as Python 3.10+
    (and mypy for it) print annotations that 3.9 prints the old way."""
    for head, extra in (("Union[", ""), ("Optional[", " | None")):
        while head in text:
            start = text.rindex(head)  # innermost last: its arguments hold no Union
            depth, parts, item = 0, [], ""
            for i in range(start + len(head), len(text)):
                c = text[i]
                if c == "[":
                    depth += 1
                elif c == "]" and depth == 0:
                    parts.append(item.strip())
                    end = i
                    break
                elif c == "]":
                    depth -= 1
                elif c == "," and depth == 0:
                    parts.append(item.strip())
                    item = ""
                    continue
                item += c
            text = text[:start] + " | ".join(parts) + extra + text[end + 1 :]
    return text
