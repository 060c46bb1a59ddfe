"""The docs' code runs as written: every Rust snippet of the READMEs compiles in
a crate made by ``cargo new`` (edition 2024), and the README's quickstart,
run line by line, prints what it says."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from support import ROOT

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
