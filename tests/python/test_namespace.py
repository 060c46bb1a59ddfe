"""The names of a RustDLL belong to the library: ``dll.NAME`` is the
library's own function ``NAME`` whatever the name (tests/fixture/src/names.rs
has ``find``, ``path``, ``_cdll``... and ``__len__``), never a symbol of a
library it depends on (libc's ``abort``...), and pyo2 keeps working beside
them."""

from __future__ import annotations

import ctypes
import inspect
import io
import os
import pydoc
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pyo2
from pyo2 import _abi, _dll
from pyo2._symbols import exported_functions
from support import run_python

#: libc functions every library that links libc can reach through dlsym().
LIBC = ["abort", "exit", "_exit", "free", "malloc", "getpid", "system", "raise", "kill"]


# ---------------------------------------------------------------------------
# Only the library's own functions.


@pytest.mark.parametrize("name", LIBC)
def test_a_function_of_a_dependency_is_not_reachable(
    dll: pyo2.RustDLL, fixture_path: Path, name: str
) -> None:
    ctypes.CDLL(str(fixture_path))[name]  # dlsym() itself finds it: the test means something
    refused = rf"exports no function '{name}': '{name}' is a symbol of .*libc.*a library it depends on"
    with pytest.raises(AttributeError, match=refused):
        getattr(dll, name)
    with pytest.raises(AttributeError, match=refused):
        dll[name]
    with pytest.raises(AttributeError, match=refused):
        pyo2.declare(dll, f"fn {name}(x: i64) -> i64")
    assert name not in dir(dll) and name not in vars(dll)


def test_no_function_of_a_dependency_can_be_called(fixture_path: Path) -> None:
    """In a fresh interpreter, so a regression (abort, exit, kill…) ends that one, not the run."""
    result = run_python(
        f"""
import pyo2
dll = pyo2.RustDLL({str(fixture_path)!r})
harmless = {{"exit": (3,), "_exit": (3,), "free": (0,), "malloc": (1,), "system": (0,),
             "raise": (0,), "kill": (0, 0)}}
for name in {LIBC!r}:
    for how in ("attribute", "item"):
        try:
            function = getattr(dll, name) if how == "attribute" else dll[name]
        except AttributeError:
            print(name, how, "refused")
        else:
            function(*harmless.get(name, ()))
            print(name, how, "CALLED")
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == [
        f"{n} {how} refused" for n in LIBC for how in ("attribute", "item")
    ]


#: A symbol of each kind pyo2 puts in the fixture library: descriptors, uniform
#: entry points (of a function and a method), data markers, a class's symbols.
INTERNAL = [
    _abi.SIG_PREFIX + "ex_add_u8",
    "__pyo2_call__ex_add_u8",
    "__pyo2_call____pyo2_m__Counter__add",
    "__pyo2_release_gil__gil_sleep_ms",
    "__pyo2_release_gil____pyo2_m__GilSleeper__nap_ms",
    "__pyo2_record__Point",
    "__pyo2_class__Counter",
    "__pyo2_m__Counter__add",
    "__pyo2_close__Counter",
]


def test_pyo2_s_own_symbols_are_not_functions(dll: pyo2.RustDLL, fixture_path: Path) -> None:
    raw = ctypes.CDLL(str(fixture_path))
    for name in INTERNAL:
        raw[name]  # the library defines it: the refusal means something
        refused = rf"exports no function '{name}': names starting with '__pyo2_' are pyo2's own symbols"
        with pytest.raises(AttributeError, match=refused):
            dll[name]
        with pytest.raises(AttributeError, match=refused):
            getattr(dll, name)
        with pytest.raises(AttributeError, match=refused):
            pyo2.declare(dll, f"fn {name}(x: u64) -> u64")
        assert name not in dir(dll) and name not in vars(dll)
    assert not [n for n in _dll.function_names(dll) if n.startswith("__pyo2_")]


def test_no_internal_symbol_can_be_called(fixture_path: Path) -> None:
    """In a fresh interpreter: calling a data marker or an entry point as a function crashed the process."""
    result = run_python(
        f"""
import pyo2
dll = pyo2.RustDLL({str(fixture_path)!r})
for name in {INTERNAL!r}:
    try:
        function = dll[name]
    except AttributeError:
        print(name, "refused")
    else:
        function(1)
        print(name, "CALLED")
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == [f"{n} refused" for n in INTERNAL]


# ---------------------------------------------------------------------------
# The library's functions named like pyo2's attributes (names.rs).


def test_functions_named_like_pyo2_s_attributes_are_the_library_s(
    dll: pyo2.RustDLL, fixture_path: Path
) -> None:
    lib: Any = dll  # to the type checker, dll.path is pyo2's str
    assert lib.path() == "the Rust function path"  # #[pyo2::export] fn path() -> String
    assert pyo2.library_path(dll) == str(fixture_path)
    assert dll._cdll(1) == 101  # #[pyo2::export]
    assert dll._address("héllo") == 6  # #[pyo2::export] fn _address(text: &str) -> usize
    out = [0, 0, 0]
    assert dll._names(out) is None  # plain extern "C", inferred
    assert out == [7, 7, 7]
    for name, returns in [("find", 42), ("reload", 82), ("_functions", 241), ("_check_matches", 341)]:
        function = getattr(dll, name)
        assert isinstance(function, pyo2.RustFunction) and function.name == name
        assert function is dll[name] and function.signature is None
        assert function(41) is None  # inferred: the return is unknown
        declared = pyo2.declare(dll, f"fn {name}(x: i64) -> i64")
        assert getattr(dll, name) is declared is dll[name]
        assert getattr(dll, name)(41) == returns
    # pyo2 works beside them: declarations, inference, errors, the class's own finder.
    assert dll.declare("fn add_i64(a: i64, b: i64) -> i64")(2, 3) == 5
    assert dll.ex_add_u8(250, 10) == 4
    with pytest.raises(AttributeError, match="did you mean double_i64"):
        dll.doubel_i64  # noqa: B018 (the access is the test)
    found = pyo2.RustDLL.find("pyo2-fixture", paths=[fixture_path.parent])
    assert found.find is not type(found).find and pyo2.library_path(found) == str(fixture_path)
    assert repr(dll) == f"<RustDLL {str(fixture_path)!r}>"


def test_a_dunder_function_is_only_an_item(dll: pyo2.RustDLL) -> None:
    with pytest.raises(AttributeError, match=r"reachable as dll\['__len__'\]"):
        dll.__len__  # noqa: B018 (the access is the test)
    with pytest.raises(TypeError):
        len(dll)
    assert pyo2.declare(dll, "fn __len__(x: i64) -> i64")(1) == 401
    assert dll["__len__"](2) == 402
    assert not hasattr(dll, "__len__") and "__len__" not in vars(dll) and "__len__" not in dir(dll)


def test_class_attributes_stay_pyo2_s(dll: pyo2.RustDLL, fixture_path: Path) -> None:
    """On the class, find / declare / path are always pyo2's."""
    found = pyo2.RustDLL.find("pyo2_fixture", paths=[fixture_path.parent])
    assert isinstance(found, pyo2.RustDLL)
    assert pyo2.RustDLL.declare(dll, "fn add_i64(a: i64, b: i64) -> i64")(1, 2) == 3
    assert list(inspect.signature(pyo2.RustDLL.find).parameters) == ["name", "package", "paths"]
    assert inspect.getdoc(pyo2.RustDLL.find).startswith("Find a Rust library")  # type: ignore[union-attr]
    assert inspect.getdoc(pyo2.RustDLL).startswith("A Rust ``cdylib``")  # type: ignore[union-attr]


def test_pyo2_keeps_no_attributes_of_its_own_on_a_library(dll: pyo2.RustDLL) -> None:
    """pyo2's state is under a key no attribute name spells; the class's
    only public names are find, declare, path, reload and types; no other name is pyo2's."""
    assert [k for k in vars(dll) if k.isidentifier()] == []
    public = sorted(k for k in vars(pyo2.RustDLL) if not k.startswith("__"))
    assert public == ["declare", "find", "path", "reload", "types"]
    for name in ["_state", "_function", "_remember", "_library", "_shadowing", "_lib", "_handle", "state"]:
        with pytest.raises(AttributeError, match=f"exports no function '{name}'"):
            getattr(dll, name)


# ---------------------------------------------------------------------------
# dir(), help(), caching.


def test_dir_lists_the_library_s_functions_and_the_public_api(dll: pyo2.RustDLL, fixture_path: Path) -> None:
    names = dir(dll)
    assert names == sorted(names)
    public = {n for n in names if not n.startswith("__")}
    defined = {n for n in exported_functions(str(fixture_path)) if not n.startswith("__")}
    assert public == defined | {"declare", "find", "path", "reload", "types"}
    for name in ["ex_parse", "plain_twice", "find", "path", "_cdll", "_names", "declare"]:
        assert name in names
    assert not [n for n in names if n.startswith(_abi.SIG_PREFIX) or not n.isidentifier()]
    assert "__getitem__" in names  # the Python protocol stays visible


def test_help_shows_the_functions(dll: pyo2.RustDLL, fixture_path: Path) -> None:
    dll.declare("fn add_i64(a: i64, b: i64) -> i64")
    out = io.StringIO()
    pydoc.Helper(output=out).help(dll)
    text = out.getvalue()
    for line in [
        f"<RustDLL {str(fixture_path)!r}>",
        "fn ex_parse(s: &str) -> Result<i64, ParseIntError>",
        "fn ex_find(haystack: &str, needle: &str) -> Option<usize>",
        "Byte offset of `needle` in `haystack`, if any.",
        "fn add_i64(a: i64, b: i64) -> i64",  # declared
        "fn plain_twice(...)",
        "fn find(...)",
        "fn path() -> String",
        "fn ex_future(?)  // unreadable",
    ]:
        assert line in text, line
    assert _abi.SIG_PREFIX not in text and "__len__" not in text
    assert inspect.getdoc(dll) == dll.__doc__ != pyo2.RustDLL.__doc__


def test_functions_are_cached_as_attributes(dll: pyo2.RustDLL) -> None:
    function = dll.add_i64
    assert vars(dll)["add_i64"] is function  # the next dll.add_i64 is a dict lookup
    assert dll.add_i64 is function is dll["add_i64"]
    declared = dll.declare("fn add_i64(a: i64, b: i64)")
    assert dll.add_i64 is declared is dll["add_i64"] and declared(1, 2) is None
    again = dll.declare("fn add_i64(a: i64, b: i64) -> i64")  # a declared function may be re-declared
    assert dll.add_i64 is again is not declared and again(1, 2) == 3
    assert pyo2.RustDLL(pyo2.library_path(dll)).add_i64(1, 2) is None  # per library


def test_module_functions_refuse_what_is_not_a_library() -> None:
    with pytest.raises(TypeError, match=r"expected a loaded pyo2\.RustDLL, got object"):
        pyo2.declare(object(), "fn f()")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got str"):
        pyo2.library_path("libx.so")  # type: ignore[arg-type]


def test_a_library_described_signature_is_checked_however_it_came(
    dll: pyo2.RustDLL, fixture_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the library describes is checked against a declaration, also for a
    plain extern "C" fn whose descriptor gives it a plain signature."""
    real = _abi.descriptor

    def descriptor(cdll: ctypes.CDLL, path: str, name: str) -> pyo2.Signature | None:
        if name == "plain_twice":
            return pyo2.parse_signature("fn plain_twice(x: i64) -> i64")
        return real(cdll, path, name)

    monkeypatch.setattr(_abi, "descriptor", descriptor)
    lib = pyo2.RustDLL(fixture_path)
    assert lib.plain_twice.signature is not None and not lib.plain_twice.signature.exported
    assert lib.plain_twice(21) == 42
    assert lib.declare("fn plain_twice(y: i64) -> i64") is lib.plain_twice  # same types
    with pytest.raises(pyo2.SignatureError, match=r"plain_twice is exported with .* as `fn plain_twice"):
        lib.declare("fn plain_twice(x: i32) -> i64")
    with pytest.raises(pyo2.SignatureError):
        pyo2.declare(lib, "fn plain_twice(x: i64)")
    assert lib.plain_twice(21) == 42


# ---------------------------------------------------------------------------
# A library of its own (built here with rustc): a Rust `declare` and `path`,
# and a dependency that defines a function and a pyo2 descriptor.

DEP_RS = r"""
#[no_mangle]
pub extern "C" fn dep_only(x: i64) -> i64 {
    x.wrapping_add(7)
}

/// A descriptor for the main library's `twice`, in the wrong library.
#[no_mangle]
pub extern "C" fn __pyo2_sig__twice() -> *const u8 {
    b"pyo2 1\nfn twice(x: i64) -> i64\n\0".as_ptr()
}
"""

MAIN_RS = r"""
#[link(name = "dep")]
extern "C" {
    fn dep_only(x: i64) -> i64;
}

#[no_mangle]
pub extern "C" fn uses_dep(x: i64) -> i64 {
    unsafe { dep_only(x) }
}

#[no_mangle]
pub extern "C" fn twice(x: i64) -> i64 {
    x.wrapping_mul(2)
}

#[no_mangle]
pub extern "C" fn declare(x: i64) -> i64 {
    x.wrapping_mul(3)
}

#[no_mangle]
pub extern "C" fn path(x: i64) -> i64 {
    x.wrapping_add(5)
}
"""


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``libmain.so``, which links ``libdep.so`` beside it."""
    rustc = shutil.which("rustc")
    if rustc is None or not sys.platform.startswith("linux"):
        pytest.skip("needs rustc and an ELF platform")
    directory = tmp_path_factory.mktemp("linked")
    for name, source in [("dep", DEP_RS), ("main", MAIN_RS)]:
        (directory / f"{name}.rs").write_text(source)
        subprocess.run(
            [
                rustc,
                "--edition=2021",
                "--crate-type=cdylib",
                "--cap-lints=allow",
                "-L",
                str(directory),
                "-C",
                "link-arg=-Wl,-rpath,$ORIGIN",
                "-o",
                str(directory / f"lib{name}.so"),
                str(directory / f"{name}.rs"),
            ],
            check=True,
            capture_output=True,
        )
    return directory / "libmain.so"


def check_linked(lib: Any) -> None:
    raw = ctypes.CDLL(pyo2.library_path(lib))
    raw["dep_only"], raw[_abi.SIG_PREFIX + "twice"]  # dlsym() finds both in libdep
    with pytest.raises(AttributeError, match=r"'dep_only' is a symbol of .*libdep\.so"):
        lib.dep_only  # noqa: B018 (the access is the test)
    with pytest.raises(AttributeError, match="exports no function 'abort'"):
        lib.abort  # noqa: B018
    with pytest.raises(AttributeError, match="exports no function"):
        lib[_abi.SIG_PREFIX + "twice"]
    assert lib.twice.signature is None, "the dependency's descriptor was taken for the library's"
    assert pyo2.declare(lib, "fn twice(x: i64) -> i64")(21) == 42
    assert pyo2.declare(lib, "fn uses_dep(x: i64) -> i64")(1) == 8  # the dependency works, inside
    # The library's `declare` and `path` win over pyo2's on the instance.
    assert lib.declare.name == "declare" and lib.declare is lib["declare"]
    assert lib.declare(2) is None  # inferred
    assert pyo2.declare(lib, "fn declare(x: i64) -> i64") is lib.declare
    assert lib.declare(2) == 6
    assert pyo2.declare(lib, "fn path(x: i64) -> i64")(1) == 6 and lib.path(1) == 6
    # What it doesn't define is pyo2's.
    assert lib.find.__self__ is pyo2.RustDLL
    assert isinstance(lib.find("main", paths=[Path(pyo2.library_path(lib)).parent]), pyo2.RustDLL)


def test_only_the_library_s_own_symbols_count(linked: Path) -> None:
    check_linked(pyo2.RustDLL(linked))


def test_by_file_identity_where_the_base_address_is_unknown(
    linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check macOS gets (no dlinfo()): the file dladdr() names is the library's.
    Loaded by a relative path, then from another directory."""
    monkeypatch.setattr(_dll, "_library_base", lambda handle: None)
    monkeypatch.chdir(linked.parent)
    lib: Any = pyo2.RustDLL(os.path.join(".", linked.name))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AttributeError, match=r"'dep_only' is a symbol of .*libdep\.so"):
        lib.dep_only  # noqa: B018
    with pytest.raises(AttributeError, match="'abort' is a symbol of"):
        lib["abort"]
    assert lib.twice.signature is None
    assert pyo2.declare(lib, "fn twice(x: i64) -> i64")(21) == 42
    assert lib.declare.name == "declare" and lib.path.name == "path"
    assert os.path.samefile(linked, os.path.join(linked.parent, pyo2.library_path(lib)))


def test_the_fixture_s_base_address_is_found(fixture_path: Path) -> None:
    """The Linux check really is the fast one (by base address), not a fallback."""
    raw = ctypes.CDLL(str(fixture_path))
    base = _dll._library_base(raw._handle)
    assert base is not None
    info = _dll._where(ctypes.cast(raw.ex_add_u8, ctypes.c_void_p).value or 0)
    assert info is not None and info.dli_fbase == base
