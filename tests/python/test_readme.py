"""The docs' code runs as written: every Rust snippet of the READMEs compiles in
a crate made by ``cargo new`` (edition 2024), and the README's quickstart,
run line by line, prints what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

pytestmark = pytest.mark.main_only  # the same on every Python: run once

DOCS = [
    ROOT / "README.md",
    ROOT / "pyo2-rs" / "README.md",
    ROOT / "pyo2-macros" / "README.md",
    *sorted((ROOT / "examples").glob("*/README.md")),
]
# One target directory for every snippet crate: pyo2's dependencies build once.
SNIPPETS_TARGET = ROOT / "target" / "snippets"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall(path.read_text()) if lang == language]


def rust_snippets() -> list[tuple[str, str]]:
    return [
        (f"{doc.relative_to(ROOT)}#{i}", body)
        for doc in DOCS
        for i, body in enumerate(blocks(doc, "rust"), 1)
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "CARGO_TARGET_DIR": str(SNIPPETS_TARGET)}


@pytest.fixture(scope="module")
def new_crate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library crate as a user makes it: ``cargo new --lib``, pyo2 by path, cdylib."""
    home = tmp_path_factory.mktemp("snippets")
    subprocess.run(["cargo", "new", "--quiet", "--lib", "--edition", "2024", "mylib"], cwd=home, check=True)
    crate = home / "mylib"
    manifest = crate / "Cargo.toml"
    manifest.write_text(
        manifest.read_text().replace(
            "[dependencies]",
            f'[lib]\ncrate-type = ["cdylib"]\n\n[dependencies]\npyo2 = {{ path = "{ROOT / "pyo2-rs"}" }}',
        )
    )
    return crate


def test_there_are_snippets_to_check() -> None:
    names = [name for name, _ in rust_snippets()]
    assert any(name.startswith("README.md#") for name in names), names


@pytest.mark.parametrize(("name", "code"), rust_snippets(), ids=[name for name, _ in rust_snippets()])
def test_each_rust_snippet_compiles_in_a_new_crate(new_crate: Path, name: str, code: str) -> None:
    (new_crate / "src" / "lib.rs").write_text(code)
    result = subprocess.run(
        ["cargo", "build", "--quiet", "--offline"],
        cwd=new_crate,
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, f"{name} does not compile as written:\n{code}\n{result.stderr}"


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    """The Quickstart's commands, in order, in a fresh directory beside a checkout
    (``./pyo2``); ``src/lib.rs`` replaced by its Rust block, as it says."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Quickstart") : text.index("\n## ", text.index("## Quickstart") + 1)]
    shell = [body for lang, body in _BLOCK.findall(section) if lang == "sh"]
    rust = [body for lang, body in _BLOCK.findall(section) if lang == "rust"]
    assert len(shell) == 2 and len(rust) == 1, section
    (tmp_path / "pyo2").symlink_to(ROOT)
    script = shell[0] + f"cat > src/lib.rs <<'EOF'\n{rust[0]}EOF\n" + shell[1]
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        "CARGO_TARGET_DIR": str(ROOT / "target" / "quickstart"),  # its own: the newest build wins
        "CARGO_NET_OFFLINE": "true",  # the workspace build fetched every crate already
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1] == "3", result.stdout


def test_the_objects_section_runs_as_written(new_crate: Path) -> None:
    """README "Objects, iterators and callbacks": its Rust block, built as a
    user's crate, and its Python block against it print what the comments say
    (the comment of each line that prints)."""
    text = (ROOT / "README.md").read_text()
    start = text.index("### Objects, iterators and callbacks")
    section = text[start : text.index("\n## ", start) if "\n## " in text[start:] else None]
    section = section[: section.find("\n### ", 1)] if "\n### " in section[1:] else section
    rust = [body for lang, body in _BLOCK.findall(section) if lang == "rust"]
    python = [body for lang, body in _BLOCK.findall(section) if lang == "python"]
    assert len(rust) == 1 and len(python) == 1, section
    (new_crate / "src" / "lib.rs").write_text(rust[0])
    built = subprocess.run(
        ["cargo", "build", "--quiet", "--offline"],
        cwd=new_crate,
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    library = SNIPPETS_TARGET / "debug" / "libmylib.so"
    printing = [line for line in python[0].splitlines() if "print" in line and "  # " in line]
    expected = [line.split("  # ", 1)[1].strip() for line in printing]
    assert len(expected) == 5, expected
    code = f"import pyo2\ndll = pyo2.RustDLL({str(library)!r})\n{python[0]}"
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120, cwd=ROOT
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == expected
    assert ran.stderr == ""
