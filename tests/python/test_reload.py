"""Loading a rebuilt library again in the same process (a notebook): a new
RustDLL(path) of a changed file, and pyo2.reload(dll), run the new code; the
old objects keep the old code. Each test builds a throwaway crate in tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pyo2
from support import ROOT

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")

LIB = "pyo2_reload_probe"
FILE = (
    f"{LIB}.dll"
    if sys.platform == "win32"
    else f"lib{LIB}.dylib"
    if sys.platform == "darwin"
    else f"lib{LIB}.so"
)


def write_crate(crate: Path, value: int) -> None:
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "{LIB}"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[lib]\ncrate-type = ["cdylib"]\n\n[workspace]\n'
    )
    (crate / "src" / "lib.rs").write_text(
        f'#[no_mangle]\npub extern "C" fn value() -> i64 {{\n    {value}\n}}\n'
    )


def build(crate: Path, value: int) -> Path:
    """Make ``value()`` return ``value`` and cargo build: the path of the library."""
    write_crate(crate, value)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LD_PRELOAD", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR")
    }
    subprocess.run(["cargo", "build", "--quiet", "--offline"], cwd=crate, check=True, env=env, timeout=300)
    return crate / "target" / "debug" / FILE


def value_of(dll: pyo2.RustDLL) -> int:
    result = pyo2.declare(dll, "fn value() -> i64")()
    assert isinstance(result, int)
    return result


def test_a_rebuilt_library_loads_the_new_code(tmp_path: Path) -> None:
    crate = tmp_path / "crate"
    path = build(crate, 1)
    first = pyo2.RustDLL(path)
    old_value = pyo2.declare(first, "fn value() -> i64")
    assert old_value() == 1

    again = pyo2.RustDLL(path)  # unchanged: the same library, not a second copy
    assert value_of(again) == 1
    assert pyo2._dll._state(again).file == str(path)

    assert build(crate, 2) == path
    second = pyo2.RustDLL(path)
    assert value_of(second) == 2
    assert pyo2.library_path(second) == str(path) == second.path  # the path given, not the copy's
    assert repr(second) == f"<RustDLL {str(path)!r}>"
    assert value_of(first) == 1 and old_value() == 1  # the old object keeps the old code

    # Loading the same version again gives the same code (the same private copy).
    third = pyo2.RustDLL(str(path))
    assert value_of(third) == 2
    assert pyo2._dll._state(third).file == pyo2._dll._state(second).file != str(path)

    # Through a different spelling of the same path, too.
    relative = os.path.relpath(path)
    assert value_of(pyo2.RustDLL(relative)) == 2


def test_reload_loads_the_rebuilt_library(tmp_path: Path) -> None:
    crate = tmp_path / "crate"
    path = build(crate, 10)
    dll = pyo2.RustDLL(path)
    function = pyo2.declare(dll, "fn value() -> i64")
    assert function() == 10

    same = pyo2.reload(dll)  # nothing changed: a new object, the same code
    assert isinstance(same, pyo2.RustDLL) and same is not dll
    assert value_of(same) == 10

    build(crate, 20)
    reloaded = pyo2.reload(dll)
    assert reloaded.value.signature is None  # declarations are not carried over: the code changed
    assert value_of(reloaded) == 20
    assert pyo2.library_path(reloaded) == str(path)
    assert function() == 10 and value_of(dll) == 10  # the old ones keep calling the old code
    assert function.signature is not None

    build(crate, 30)
    newest = reloaded.reload()  # the method, when the library has no function named reload
    assert value_of(newest) == 30
    assert "reload" in dir(newest)

    class Mine(pyo2.RustDLL):
        pass

    mine = Mine(path)
    build(crate, 40)
    assert type(pyo2.reload(mine)) is Mine
    assert value_of(pyo2.reload(mine)) == 40


def test_a_library_function_named_reload_wins_on_the_instance(dll: pyo2.RustDLL, fixture_path: Path) -> None:
    assert isinstance(dll.reload, pyo2.RustFunction) and dll.reload.name == "reload"  # the fixture's
    reloaded = pyo2.reload(dll)  # pyo2's, whatever the library defines
    assert isinstance(reloaded, pyo2.RustDLL) and pyo2.library_path(reloaded) == str(fixture_path)
    assert pyo2.RustDLL.reload(dll).ex_add_u8(1, 2) == 3  # on the class, always pyo2's
    with pytest.raises(TypeError, match=r"expected a loaded pyo2\.RustDLL"):
        pyo2.reload(object())  # type: ignore[arg-type]


def test_private_copies_are_removed_at_exit(tmp_path: Path) -> None:
    crate = tmp_path / "crate"
    path = build(crate, 100)
    v1 = tmp_path / "v1"
    shutil.copy(path, v1)
    path = build(crate, 200)
    # In a fresh interpreter: load v2, put v1 in its place (a new file, as cargo
    # writes one), load again, and report the private copy's directory.
    code = textwrap.dedent(
        f"""
        import os, pyo2, pyo2._dll
        path = {str(path)!r}
        a = pyo2.RustDLL(path)
        os.replace({str(v1)!r}, path + ".new")
        os.replace(path + ".new", path)
        b = pyo2.RustDLL(path)
        f = "fn value() -> i64"
        print(pyo2.declare(a, f)(), pyo2.declare(b, f)(), pyo2._dll._state(b).file)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "pyo2-py" / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    first, second, copy = done.stdout.split()
    assert (first, second) == ("200", "100")
    assert copy != str(path) and Path(copy).name == FILE
    assert not Path(copy).exists() and not Path(copy).parent.parent.exists()  # removed at exit
