"""``python -m pyo2``: tools around a Rust library.

``python -m pyo2 inspect LIB`` lists every function the library exports: the
ones exported with ``#[pyo2::export]`` with the signature the library itself
describes (and their doc comment), then the plain ``extern "C"`` ones, whose
signature pyo2 infers per call unless it is declared.

``python -m pyo2 stubgen LIB -o mylib.pyi`` writes type stubs for them (see
:mod:`pyo2._stubgen`).

Names and descriptors come from the library: a function whose descriptor
can't be read (or can't be turned into a Python function) is reported, with
the reason, and the others are still listed (``inspect`` then exits with 1;
``stubgen`` writes the reason as a comment in the stub).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from ._dll import RustDLL, function_names
from ._errors import Pyo2Error
from ._stubgen import _printable, stub

if TYPE_CHECKING:
    from ._types import Signature

__all__ = ["main"]


def _load(command: str, path: str) -> RustDLL | None:
    """The library at ``path``, or None after saying why it can't be loaded."""
    try:
        return RustDLL(path)
    except OSError as e:
        print(f"pyo2 {command}: {(e.strerror or '').removeprefix('pyo2: ')}: {e.filename}", file=sys.stderr)
        return None


def _signature(dll: RustDLL, name: str) -> Signature | str | None:
    """The signature of ``name`` (None without a descriptor), or why it can't be read.

    Any error is one function's problem, not the whole library's: a bad
    descriptor (Pyo2Error), a symbol ctypes can't find (AttributeError), or
    anything else a hostile descriptor might provoke.
    """
    try:
        return dll[name].signature
    except Exception as e:  # one function's problem: reported, then the next one
        return str(e) if isinstance(e, Pyo2Error) else f"{type(e).__name__}: {e}"


def _inspect(path: str, out: TextIO) -> int:
    dll = _load("inspect", path)
    if dll is None:
        return 1
    names = function_names(dll)
    if not names:
        print(
            f"pyo2 inspect: found no exported functions in {path} (only ELF libraries are read)",
            file=sys.stderr,
        )
        return 1
    exported: list[str] = []
    plain: list[str] = []
    status = 0
    for name in names:
        sig = _signature(dll, name)
        if isinstance(sig, str):
            exported.append(f"fn {_printable(name)}(?)  // unreadable descriptor: {sig}")
            status = 1
            continue
        if sig is None:
            plain.append(f"fn {_printable(name)}(...)")
            continue
        # Each line printable: a doc comment can't move the cursor or fake a line.
        lines = [f"/// {_printable(line)}".rstrip() for line in sig.doc.split("\n")] if sig.doc else []
        exported.append("\n".join([*lines, _printable(str(sig))]))
    print(f'{path}: {len(exported)} exported with #[pyo2::export], {len(plain)} plain extern "C"', file=out)
    if exported:
        print("\n// #[pyo2::export]: signatures read from the library", file=out)
        print("\n".join(exported), file=out)
    if plain:
        print(
            '\n// plain extern "C": no descriptor; pyo2 infers from the values, or use dll.declare()',
            file=out,
        )
        print("\n".join(plain), file=out)
    return status


def _stubgen(path: str, output: str | None, out: TextIO) -> int:
    dll = _load("stubgen", path)
    if dll is None:
        return 1
    functions: dict[str, Signature | None] = {}
    unreadable: dict[str, str] = {}
    for name in function_names(dll):
        sig = _signature(dll, name)
        if isinstance(sig, str):
            print(f"pyo2 stubgen: skipping {name!r}: {sig}", file=sys.stderr)
            unreadable[name] = sig
        else:
            functions[name] = sig
    text = stub(os.path.basename(path), functions, unreadable)
    if output is None:
        out.write(text)
    else:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {output}: {len(functions)} functions", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m pyo2", description="Tools around a Rust cdylib used with pyo2."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    inspect = commands.add_parser("inspect", help="list the exported functions with their signatures")
    inspect.add_argument("library", metavar="LIB", help="path of the shared library (.so)")
    stubgen = commands.add_parser("stubgen", help="write type stubs (.pyi) for the library's functions")
    stubgen.add_argument("library", metavar="LIB", help="path of the shared library (.so)")
    stubgen.add_argument(
        "-o", "--output", metavar="FILE", help="the .pyi to write (default: standard output)"
    )
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr, out):
        # A doc comment or a symbol name may hold anything: never die on a
        # terminal that can't show a character.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    if args.command == "stubgen":
        return _stubgen(args.library, args.output, out or sys.stdout)
    return _inspect(args.library, out or sys.stdout)
