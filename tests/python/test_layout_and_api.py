"""The C layout both halves agree on, and the shape of the public API."""

from __future__ import annotations

import ctypes
import importlib.resources
import inspect

import pyo2
from pyo2._types import PYVEC_LAYOUT, SCALARS


def test_pyvec_layout_matches_the_rust_crate(dll: pyo2.RustDLL) -> None:
    out = [0, 0, 0, 0]
    dll.declare("fn pyvec_layout(out: &mut PyVec<usize>)")(out)
    assert tuple(out) == PYVEC_LAYOUT
    word = ctypes.sizeof(ctypes.c_void_p)
    assert (2 * word, word, 0, word) == PYVEC_LAYOUT


def test_scalar_sizes_match_rust() -> None:
    expected = {
        "i8": 1,
        "u8": 1,
        "i16": 2,
        "u16": 2,
        "i32": 4,
        "u32": 4,
        "i64": 8,
        "u64": 8,
        "f32": 4,
        "f64": 8,
        "bool": 1,
    }
    for name, size in expected.items():
        t = SCALARS[name]
        assert t.size == size == ctypes.sizeof(t.ctype)
        assert ctypes.sizeof(t.ctype) == __import__("array").array(t.code).itemsize


def test_public_names_have_one_home() -> None:
    assert sorted(pyo2.__all__) == [
        "Pyo2Error",
        "RustDLL",
        "RustError",
        "RustFunction",
        "RustPanic",
        "Signature",
        "SignatureError",
        "declare",
        "library_path",
        "parse_signature",
        "reload",
        "types",
    ]
    for name in pyo2.__all__:
        obj = getattr(pyo2, name)
        assert obj.__module__ == "pyo2", name
        assert inspect.getdoc(obj), name
    # Besides __all__, only the public submodule pyo2.testing (once imported).
    assert not [n for n in dir(pyo2) if not n.startswith("_") and n not in [*pyo2.__all__, "testing"]]


def test_package_ships_py_typed() -> None:
    assert importlib.resources.files("pyo2").joinpath("py.typed").is_file()
