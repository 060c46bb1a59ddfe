"""RustDLL.find: a library by crate or lib name, in given directories, an
installed package, or the cargo target directory (the newest build in any
profile or --target triple), and an error that says what to do.

Most tests build a throwaway crate (no dependencies, offline) in tmp_path."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pyo2
import pyo2._dll
from support import ROOT

SO = "dll" if sys.platform == "win32" else "dylib" if sys.platform == "darwin" else "so"


def shared(lib: str) -> str:
    return f"{lib}.dll" if sys.platform == "win32" else f"lib{lib}.{SO}"


def make_crate(
    root: Path,
    package: str,
    value: int,
    *,
    lib: str | None = None,
    crate_types: str = '"cdylib"',
    extra: str = "",
) -> Path:
    """A crate at ``root`` whose ``value()`` returns ``value``: its own workspace, no dependencies."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    lib_name = f'name = "{lib}"\n' if lib else ""
    (root / "Cargo.toml").write_text(
        f'[package]\nname = "{package}"\nversion = "0.1.0"\nedition = "2021"\n\n'
        f"[lib]\n{lib_name}crate-type = [{crate_types}]\n\n[workspace]\n{extra}"
    )
    set_value(root, value)
    return root


def set_value(crate: Path, value: int) -> None:
    (crate / "src" / "lib.rs").write_text(
        f'#[no_mangle]\npub extern "C" fn value() -> i64 {{\n    {value}\n}}\n'
    )


def cargo(crate: Path, *args: str) -> None:
    """``cargo build ARGS`` in ``crate``, with none of the environment's target settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LD_PRELOAD", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_BUILD_TARGET")
    }
    subprocess.run(
        ["cargo", "build", "--quiet", "--offline", *args], cwd=crate, check=True, env=env, timeout=300
    )


def value(dll: pyo2.RustDLL) -> int:
    result = pyo2.declare(dll, "fn value() -> i64")()
    assert isinstance(result, int)
    return result


def set_mtime(path: Path, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No target directory from the environment of the test run."""
    for name in ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_BUILD_TARGET"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def without_cargo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """find() as on a machine without cargo on PATH: it walks up for target/."""
    empty = tmp_path / "no-cargo-here"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))


needs_cargo = pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")


# ---------------------------------------------------------------------------
# Where it looks.


def test_finds_the_workspace_build_by_crate_or_lib_name(
    fixture_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT / "tests" / "python")  # inside the workspace, not at its root
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")).resolve()
    for name in ("pyo2-fixture", "pyo2_fixture"):
        dll = pyo2.RustDLL.find(name)
        found = Path(pyo2.library_path(dll)).resolve()
        assert found.name == fixture_path.name
        assert target in found.parents  # the newest build, in whichever profile
        assert dll.ex_add_u8(1, 2) == 3


def test_finds_a_library_in_given_directories_first(fixture_path: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        directory.mkdir()
        shutil.copy(fixture_path, directory / "libpyo2_fixture.so")
    set_mtime(first / "libpyo2_fixture.so", 3600)  # older, but given first: given order wins
    dll = pyo2.RustDLL.find("pyo2-fixture", paths=[first, second])
    assert pyo2.library_path(dll) == str(first / "libpyo2_fixture.so")
    with pytest.raises(TypeError, match="list of directories"):
        pyo2.RustDLL.find("pyo2-fixture", paths=str(first))


def test_finds_a_library_shipped_in_an_installed_package(
    fixture_path: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "shipped"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(fixture_path, package / "libpyo2_fixture.so")
    clean_env.syspath_prepend(str(tmp_path / "site"))
    clean_env.chdir(tmp_path)
    dll = pyo2.RustDLL.find("pyo2_fixture", package="shipped")
    assert Path(pyo2.library_path(dll)).parent == package
    assert dll.ex_greet("package") == "Hello, package!"


@pytest.mark.parametrize(
    "file",
    [
        "pyo2_fixture.cpython-311-x86_64-linux-gnu.so",  # setuptools-rust, some Python's suffix
        "pyo2_fixture.abi3.so",
        "pyo2_fixture.so",
    ],
)
def test_finds_extension_module_names_in_a_package(
    fixture_path: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch, file: str
) -> None:
    package = tmp_path / "site" / "shipped_ext"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(fixture_path, package / file)
    clean_env.syspath_prepend(str(tmp_path / "site"))
    clean_env.chdir(tmp_path)
    dll = pyo2.RustDLL.find("pyo2-fixture", package="shipped_ext")
    assert pyo2.library_path(dll) == str(package / file)
    assert dll.ex_add_u8(2, 2) == 4


@needs_cargo
def test_the_newest_build_wins_across_debug_and_release(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    crate = make_crate(tmp_path / "newest", "newest", 1)
    cargo(crate)  # debug returns 1
    set_value(crate, 2)
    cargo(crate, "--release")  # release returns 2
    debug, release = (
        crate / "target" / "debug" / shared("newest"),
        crate / "target" / "release" / shared("newest"),
    )
    clean_env.chdir(crate / "src")  # from inside the crate

    set_mtime(release, 60)  # release is stale: the debug build is the one just made
    dll = pyo2.RustDLL.find("newest")
    assert pyo2.library_path(dll) == str(debug)
    assert value(dll) == 1

    set_mtime(debug, 120)  # now release is the newer
    dll = pyo2.RustDLL.find("newest")
    assert pyo2.library_path(dll) == str(release)
    assert value(dll) == 2


@needs_cargo
def test_a_custom_profile(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    crate = make_crate(tmp_path / "profiled", "profiled", 7, extra='\n[profile.fast]\ninherits = "release"\n')
    cargo(crate, "--profile", "fast")
    clean_env.chdir(crate)
    dll = pyo2.RustDLL.find("profiled")
    assert pyo2.library_path(dll) == str(crate / "target" / "fast" / shared("profiled"))
    assert value(dll) == 7


@needs_cargo
def test_a_target_triple(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    host = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    triple = next(line.split(": ", 1)[1] for line in host.splitlines() if line.startswith("host: "))
    crate = make_crate(tmp_path / "tripled", "tripled", 8)
    cargo(crate, "--release", "--target", triple)
    clean_env.chdir(crate)
    dll = pyo2.RustDLL.find("tripled")
    assert pyo2.library_path(dll) == str(crate / "target" / triple / "release" / shared("tripled"))
    assert value(dll) == 8


@needs_cargo
def test_build_target_dir_in_cargo_config(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    crate = make_crate(tmp_path / "configured", "configured", 9)
    (crate / ".cargo").mkdir()
    (crate / ".cargo" / "config.toml").write_text('[build]\ntarget-dir = "elsewhere"\n')
    cargo(crate)
    assert not (crate / "target").exists()
    clean_env.chdir(crate / "src")
    dll = pyo2.RustDLL.find("configured")
    assert pyo2.library_path(dll) == str(crate / "elsewhere" / "debug" / shared("configured"))
    assert value(dll) == 9


@needs_cargo
def test_cargo_target_dir_from_the_environment(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    crate = make_crate(tmp_path / "envdir", "envdir", 10)
    subprocess.run(
        ["cargo", "build", "--quiet", "--offline", "--target-dir", str(tmp_path / "shared-target")],
        cwd=crate,
        check=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"},
    )
    clean_env.chdir(crate)
    clean_env.setenv("CARGO_TARGET_DIR", str(tmp_path / "shared-target"))
    dll = pyo2.RustDLL.find("envdir")
    assert pyo2.library_path(dll) == str(tmp_path / "shared-target" / "debug" / shared("envdir"))
    without_cargo(clean_env, tmp_path)  # the fallback honours it too
    assert pyo2.library_path(pyo2.RustDLL.find("envdir")) == str(
        tmp_path / "shared-target" / "debug" / shared("envdir")
    )


@needs_cargo
def test_a_lib_name_that_differs_from_the_package_name(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    crate = make_crate(tmp_path / "renamed", "my-package", 11, lib="engine")
    cargo(crate)
    clean_env.chdir(crate)
    expected = str(crate / "target" / "debug" / shared("engine"))
    for name in ("my-package", "my_package", "engine"):
        dll = pyo2.RustDLL.find(name)
        assert pyo2.library_path(dll) == expected, name
        assert value(dll) == 11
    # The crate name reaches the lib name in given directories too.
    copy = tmp_path / "copied"
    copy.mkdir()
    shutil.copy(expected, copy / shared("engine"))
    assert pyo2.library_path(pyo2.RustDLL.find("my-package", paths=[copy])) == str(copy / shared("engine"))


@needs_cargo
def test_a_crate_inside_another_project_finds_the_outer_build(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    outer = make_crate(tmp_path / "outer", "outer", 17)
    cargo(outer)
    inner = make_crate(outer / "inner", "inner", 18)  # its own workspace, its own target/
    cargo(inner)
    clean_env.chdir(inner)
    assert pyo2.library_path(pyo2.RustDLL.find("inner")) == str(inner / "target" / "debug" / shared("inner"))
    dll = pyo2.RustDLL.find("outer")  # not in inner/target: the target/ further up
    assert pyo2.library_path(dll) == str(outer / "target" / "debug" / shared("outer"))
    assert value(dll) == 17


@needs_cargo
def test_without_cargo_it_walks_up_for_target(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    crate = make_crate(tmp_path / "walked", "walked", 12, extra='\n[profile.fast]\ninherits = "release"\n')
    cargo(crate, "--profile", "fast")
    clean_env.chdir(crate / "src")
    without_cargo(clean_env, tmp_path)
    dll = pyo2.RustDLL.find("walked")
    assert pyo2.library_path(dll) == str(crate / "target" / "fast" / shared("walked"))


@needs_cargo
def test_cargo_metadata_runs_once_and_is_time_boxed(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    crate = make_crate(tmp_path / "slow", "slow", 13)
    cargo(crate)
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    log = tmp_path / "cargo-calls"
    (fake / "cargo").write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec sleep 30\n')
    (fake / "cargo").chmod(0o755)
    clean_env.setenv("PATH", str(fake))
    clean_env.setattr(pyo2._dll, "_CARGO_TIMEOUT", 0.5)
    clean_env.chdir(crate)
    started = time.monotonic()
    dll = pyo2.RustDLL.find("slow")
    assert time.monotonic() - started < 10
    assert pyo2.library_path(dll) == str(crate / "target" / "debug" / shared("slow"))  # walked up instead
    assert log.read_text().splitlines() == ["metadata --format-version 1 --no-deps --offline"]
    log.unlink()
    with pytest.raises(OSError, match="cargo build"):
        pyo2.RustDLL.find("missing")
    assert len(log.read_text().splitlines()) == 1  # once per find(), failures included


# ---------------------------------------------------------------------------
# What it says when there is nothing to load.


@needs_cargo
def test_an_rlib_only_crate_is_told_to_become_a_cdylib(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    crate = make_crate(tmp_path / "rusty", "rusty", 14, crate_types='"rlib"')
    cargo(crate)
    clean_env.chdir(crate)
    target = crate / "target"
    with pytest.raises(OSError) as info:  # cargo metadata says what the crate builds
        pyo2.RustDLL.find("rusty")
    message = str(info.value)
    assert info.value.errno == errno.ENOENT and info.value.filename == "rusty"
    assert 'add crate-type = ["cdylib"] to [lib] in Cargo.toml' in message
    assert str(target) in message and "'rusty'" in message and "rlib" in message
    assert "cargo build (or" not in message

    without_cargo(clean_env, tmp_path)  # without cargo, the .rlib it finds says as much
    with pytest.raises(OSError) as info:
        pyo2.RustDLL.find("rusty")
    message = str(info.value)
    assert f"found {target / 'debug' / 'librusty.rlib'}" in message
    assert 'add crate-type = ["cdylib"] to [lib] in Cargo.toml' in message


@needs_cargo
def test_nothing_built_says_to_build(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    crate = make_crate(tmp_path / "unbuilt", "unbuilt", 15)
    clean_env.chdir(crate)
    with pytest.raises(OSError) as info:
        pyo2.RustDLL.find("unbuilt")
    message = str(info.value)
    assert info.value.errno == errno.ENOENT and info.value.filename == "unbuilt"
    assert "run cargo build (or cargo build --release)" in message
    assert f"under the cargo target directory {crate / 'target'} (any profile" in message
    assert shared("unbuilt") in message
    assert message.count("\n") == 0 and len(message) < 400  # one short sentence, not a list of paths
    for other in ("unbuilt.dll", "libunbuilt.dylib", "libunbuilt.so"):
        if other != shared("unbuilt"):
            assert other not in message  # only this platform's file name

    (crate / "target" / "debug").mkdir(parents=True)  # without cargo: the target/ it walked up to
    without_cargo(clean_env, tmp_path)
    with pytest.raises(OSError, match=r"run cargo build \(or cargo build --release\)"):
        pyo2.RustDLL.find("unbuilt")


@needs_cargo
def test_a_name_the_workspace_does_not_have(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    crate = make_crate(tmp_path / "known", "known-crate", 16)
    clean_env.chdir(crate)
    with pytest.raises(OSError, match=r"has no library 'unknown' \(it has: known_crate\)"):
        pyo2.RustDLL.find("unknown")


def test_outside_any_cargo_project(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)
    with pytest.raises(OSError) as info:
        pyo2.RustDLL.find("no-such-lib", paths=[tmp_path])
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == "no-such-lib"
    message = str(info.value)
    assert f"in {tmp_path}" in message
    assert "no cargo target directory" in message and "CARGO_TARGET_DIR" in message
    with pytest.raises(ModuleNotFoundError, match="no_such_package_xyz"):
        pyo2.RustDLL.find("x", package="no_such_package_xyz")
