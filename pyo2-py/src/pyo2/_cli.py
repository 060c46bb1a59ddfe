"""``python -m pyo2``: tools around a Rust library.

``python -m pyo2 inspect LIB`` lists every function the library exports: the
ones exported with ``#[pyo2::export]`` with the signature the library itself
describes (and their doc comment), then the plain ``extern "C"`` ones, whose
signature pyo2 infers per call unless it is declared.

``python -m pyo2 stubgen LIB -o mylib.pyi`` writes type stubs for them (see
:mod:`pyo2._stubgen`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from ._dll import RustDLL
from ._errors import Pyo2Error
from ._stubgen import stub

__all__ = ["main"]


def _load(command: str, path: str) -> RustDLL | None:
    """The library at ``path``, or None after saying why it can't be loaded."""
    try:
        return RustDLL(path)
    except OSError as e:
        print(f"pyo2 {command}: {(e.strerror or '').removeprefix('pyo2: ')}: {e.filename}", file=sys.stderr)
        return None


def _inspect(path: str, out: TextIO) -> int:
    dll = _load("inspect", path)
    if dll is None:
        return 1
    names = dll._names()
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
        try:
            sig = dll[name].signature
        except Pyo2Error as e:
            exported.append(f"fn {name}(?)  // unreadable descriptor: {e}")
            status = 1
            continue
        if sig is None:
            plain.append(f"fn {name}(...)")
            continue
        lines = [f"/// {line}".rstrip() for line in sig.doc.splitlines()] + [str(sig)]
        exported.append("\n".join(lines))
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
    functions = {}
    for name in dll._names():
        try:
            functions[name] = dll[name].signature
        except Pyo2Error as e:
            print(f"pyo2 stubgen: skipping {name}: {e}", file=sys.stderr)
    text = stub(os.path.basename(path), functions)
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
    if args.command == "stubgen":
        return _stubgen(args.library, args.output, out or sys.stdout)
    return _inspect(args.library, out or sys.stdout)
