"""What the published packages carry: licence, readme, metadata; and which
wheel pyo2-py builds with and without the Rust toolchain for its accelerator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from support import ROOT

pytestmark = pytest.mark.main_only  # the same on every Python: run once


@pytest.mark.parametrize("crate", ["pyo2", "pyo2-macros"])
def test_each_crate_package_has_its_licence_and_readme(crate: str) -> None:
    listing = subprocess.run(
        ["cargo", "package", "--list", "--allow-dirty", "-p", crate],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "LICENSE" in listing
    assert "README.md" in listing
    manifest = (ROOT / ("pyo2-rs" if crate == "pyo2" else crate) / "Cargo.toml").read_text()
    assert 'readme = "README.md"' in manifest


def build_wheel(tmp_path: Path, **env: str | None) -> subprocess.CompletedProcess[str]:
    """``python -m build --wheel`` of pyo2-py into ``tmp_path/dist``, with ``env``
    changed (None removes a variable; ``PYO2_BUILD_ACCELERATOR`` is unset unless
    given). The build and egg-info directories are in ``tmp_path``, so nothing an
    earlier or a concurrent build left in pyo2-py/build reaches the wheel."""
    extra = tmp_path / "setup-extra.cfg"
    extra.write_text(f"[build]\nbuild_base = {tmp_path / 'build'}\n[egg_info]\negg_base = {tmp_path}\n")
    changes: dict[str, str | None] = {"PYO2_BUILD_ACCELERATOR": None, **env, "DIST_EXTRA_CONFIG": str(extra)}
    environ = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    build = [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(tmp_path / "dist")]
    return subprocess.run(
        [*build, str(ROOT / "pyo2-py")], capture_output=True, text=True, timeout=600, env=environ, check=False
    )


def without_rust() -> dict[str, str | None]:
    """The environment changes that hide cargo and rustc: PATH without them, no CARGO."""
    path = [
        d
        for d in os.environ["PATH"].split(os.pathsep)
        if not any((Path(d) / t).exists() for t in ("cargo", "rustc"))
    ]
    return {"PATH": os.pathsep.join(path), "CARGO": None}


def wheel_files(tmp_path: Path) -> tuple[str, list[str], list[str]]:
    """The one wheel's name, its files and its WHEEL file's lines."""
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (wheel_file,) = [n for n in names if n.endswith(".dist-info/WHEEL")]
        return wheel.name, names, zf.read(wheel_file).decode().splitlines()


def extensions(names: list[str]) -> list[str]:
    return [n for n in names if "_accel." in n and not n.endswith(".pyi")]


def test_the_wheel_has_the_licence_extras_classifiers_and_urls(tmp_path: Path) -> None:
    built = build_wheel(tmp_path, PYO2_BUILD_ACCELERATOR="0")  # the pure wheel
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr  # 0: not even tried
    (wheel,) = (tmp_path / "dist").glob("pyo2-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = zf.read(metadata_name).decode()
        assert not extensions(names), names
        licences = [n for n in names if n.endswith("/LICENSE")]
        assert licences, names
        assert "MIT License" in zf.read(licences[0]).decode()
    lines = metadata.splitlines()
    for minor in range(9, 14):
        assert f"Classifier: Programming Language :: Python :: 3.{minor}" in lines
    assert any(line.startswith("Classifier: Development Status ::") for line in lines)
    assert any(line.startswith("Classifier: Operating System ::") for line in lines)
    assert "Provides-Extra: testing" in lines
    assert any(line.startswith("Requires-Dist: hypothesis") and "extra == " in line for line in lines)
    assert any(line.startswith("Project-URL: Changelog") for line in lines)
    assert "License-Expression: MIT" in lines


WARNING = "WARNING: pyo2's optional accelerator (pyo2._accel, in Rust) was not built:"


def assert_pure(tmp_path: Path) -> None:
    name, names, wheel = wheel_files(tmp_path)
    assert name == "pyo2-0.2.0-py3-none-any.whl"
    assert "Tag: py3-none-any" in wheel and "Root-Is-Purelib: true" in wheel, wheel
    assert not extensions(names), names
    assert "pyo2/_accel.pyi" in names and "pyo2/__init__.py" in names


def test_without_cargo_the_wheel_is_pure_and_says_why(tmp_path: Path) -> None:
    # An accelerator an earlier build left in the build directory (where
    # setuptools-rust would have put this one) is not shipped either.
    platlib = tmp_path / "build" / f"lib.{sysconfig.get_platform()}-{sys.implementation.cache_tag}" / "pyo2"
    platlib.mkdir(parents=True)
    (platlib / "_accel.abi3.so").write_bytes(b"stale")
    built = build_wheel(tmp_path, **without_rust())
    assert built.returncode == 0, built.stderr
    assert_pure(tmp_path)
    assert WARNING in built.stderr, built.stderr
    warning = built.stderr[built.stderr.index(WARNING) :]
    assert "cargo was not found on PATH" in warning
    assert "pyo2 works the same without it, in pure Python" in warning
    assert "set PYO2_BUILD_ACCELERATOR=1" in warning


def test_a_failed_accelerator_build_makes_the_pure_wheel_and_says_so(tmp_path: Path) -> None:
    false = shutil.which("false")
    assert false is not None
    built = build_wheel(tmp_path, CARGO=false)  # a cargo that fails at once
    assert built.returncode == 0, built.stderr
    assert_pure(tmp_path)
    warning = built.stderr[built.stderr.index(WARNING) :]
    assert "building it failed" in warning and f"{false} metadata" in warning, warning


CANT = "error: PYO2_BUILD_ACCELERATOR=1, but pyo2's accelerator can't be built: "


@pytest.mark.parametrize(
    ("cargo", "error"),
    [
        ("hidden", CANT + "cargo was not found on PATH"),
        ("missing", CANT + "CARGO='/nonexistent/cargo' was not found"),
        ("failing", "error: pyo2's accelerator failed to build (PYO2_BUILD_ACCELERATOR=1 requires it): `"),
    ],
    ids=["hidden", "missing", "failing"],
)
def test_a_required_accelerator_that_cant_be_built_fails_the_build(
    tmp_path: Path, cargo: str, error: str
) -> None:
    envs: dict[str, dict[str, str | None]] = {
        "hidden": without_rust(),
        "missing": {"CARGO": "/nonexistent/cargo"},
        "failing": {"CARGO": shutil.which("false")},
    }
    built = build_wheel(tmp_path, PYO2_BUILD_ACCELERATOR="1", **envs[cargo])
    assert built.returncode != 0
    assert error in built.stderr, built.stderr
    assert not list((tmp_path / "dist").glob("*.whl"))


@pytest.mark.parametrize("value", ["yes", "true", " 1"])
def test_an_invalid_build_accelerator_value_is_an_error_listing_the_valid_ones(
    tmp_path: Path, value: str
) -> None:
    built = build_wheel(tmp_path, PYO2_BUILD_ACCELERATOR=value)
    assert built.returncode != 0
    assert f"error: PYO2_BUILD_ACCELERATOR={value!r} is not valid; use one of" in built.stderr, built.stderr
    for valid in ("auto:", "1:", "0:"):
        assert f"\n  {valid} " in built.stderr
    assert not list((tmp_path / "dist").glob("*.whl"))
