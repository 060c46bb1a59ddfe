"""RustDLL.find: a library by crate or lib name, in given directories, an
installed package, or the cargo target directory."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

import pyo2
from support import ROOT


def test_finds_the_workspace_build_by_crate_or_lib_name(
    fixture_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT / "tests" / "python")  # parents are searched for target/
    for name in ("pyo2-fixture", "pyo2_fixture"):
        dll = pyo2.RustDLL.find(name)
        assert Path(pyo2.library_path(dll)).resolve() == fixture_path.resolve()
        assert dll.ex_add_u8(1, 2) == 3


def test_finds_a_library_in_given_directories_first(fixture_path: Path, tmp_path: Path) -> None:
    shutil.copy(fixture_path, tmp_path / "libpyo2_fixture.so")
    dll = pyo2.RustDLL.find("pyo2-fixture", paths=[tmp_path])
    assert pyo2.library_path(dll) == str(tmp_path / "libpyo2_fixture.so")


def test_finds_a_library_shipped_in_an_installed_package(
    fixture_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "shipped"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(fixture_path, package / "libpyo2_fixture.so")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    dll = pyo2.RustDLL.find("pyo2_fixture", package="shipped")
    assert Path(pyo2.library_path(dll)).parent == package
    assert dll.ex_greet("package") == "Hello, package!"


def test_reports_every_file_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    with pytest.raises(OSError) as info:
        pyo2.RustDLL.find("no-such-lib", paths=[tmp_path])
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == "no-such-lib"
    message = str(info.value)
    for tried in [
        tmp_path / "libno_such_lib.so",
        tmp_path / "no_such_lib.dll",
        tmp_path / "target" / "release" / "libno_such_lib.so",
        tmp_path / "target" / "debug" / "libno_such_lib.dylib",
    ]:
        assert str(tried) in message
    with pytest.raises(ModuleNotFoundError, match="no_such_package_xyz"):
        pyo2.RustDLL.find("x", package="no_such_package_xyz")
