"""``python -m pyo2``: tools around a Rust library.

``python -m pyo2 inspect LIB`` lists every function the library exports: the
ones exported with ``#[pyo2::export]`` with the signature the library itself
describes (and their doc comment), then the plain ``extern "C"`` ones, whose
its signature pyo2 infers per call unless it is declared; then its records and
its classes (``#[pyo2::class]``, with their methods). A function or method
the library marks ``release_gil`` (the accelerator releases the GIL during
its calls) is shown with its attribute, ``#[pyo2::export(release_gil)]`` or
``#[release_gil]``.

``python -m pyo2 bindgen LIB -o mylib.py`` writes a typed module of them
(see :mod:`pyo2._bindgen`); ``--check`` says whether that module is up to
date. ``python -m pyo2 stubgen LIB -o mylib.pyi`` writes type stubs for them
(see :mod:`pyo2._stubgen`).

``LIB`` is the path of the library, or (when it has no directory part and
is not a file) a crate or lib name, found as ``RustDLL.find(LIB)`` finds it:
``python -m pyo2 inspect my-crate`` in a cargo workspace.

Names and descriptors come from the library: a function whose descriptor
can't be read (or can't be turned into a Python function) is reported, with
the reason, and the others are still listed (``inspect`` then exits with 1;
``stubgen`` and ``bindgen`` write the reason as a comment).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from ._accelerate import release_gil_marked
from ._bindgen import Loader, check, derive_lib_name, module
from ._dll import RustDLL, function_names, library_path
from ._errors import Pyo2Error, SignatureError
from ._stubgen import ClassStub, _printable, class_stub, stub

if TYPE_CHECKING:
    from ._types import Signature

__all__ = ["main"]


def _is_path(target: str) -> bool:
    """Whether ``LIB`` names a file (else it is a crate or lib name)."""
    separators = [os.sep, os.altsep] if os.altsep else [os.sep]
    return any(sep in target for sep in separators) or os.path.isfile(target)


def _load(command: str, target: str) -> RustDLL | None:
    """The library ``target`` (a path, or a name for ``RustDLL.find``), or
    None after saying why it can't be loaded."""
    try:
        if not _is_path(target):
            return RustDLL.find(target)
        # A bare file name is the file here, not one the loader searches its path for.
        return RustDLL(target if os.path.dirname(target) else os.path.join(os.curdir, target))
    except OSError as e:
        reason = (e.strerror or str(e)).removeprefix("pyo2: ")
        if _is_path(target):
            print(f"pyo2 {command}: {reason}: {e.filename}", file=sys.stderr)
        else:
            print(
                f"pyo2 {command}: {target!r} is not a file, so it was taken as a crate or lib name: {reason}",
                file=sys.stderr,
            )
        return None


def _functions(
    command: str, dll: RustDLL, quiet: bool = False
) -> tuple[dict[str, Signature | None], dict[str, str]]:
    """The signature of each function (None for a plain one), and the reason
    of each unreadable one (reported on stderr unless ``quiet``)."""
    functions: dict[str, Signature | None] = {}
    unreadable: dict[str, str] = {}
    for name in function_names(dll):
        sig = _signature(dll, name)
        if isinstance(sig, str):
            if not quiet:
                print(f"pyo2 {command}: skipping {name!r}: {sig}", file=sys.stderr)
            unreadable[name] = sig
        else:
            functions[name] = sig
    return functions, unreadable


def _classes(command: str, dll: RustDLL, quiet: bool = False) -> dict[str, ClassStub | str]:
    """Each ``#[pyo2::class]`` of the library, or why it can't be loaded
    (reported on stderr unless ``quiet``)."""
    from ._dll import types

    namespace = types(dll)
    classes: dict[str, ClassStub | str] = {}
    for name in namespace.classes():
        try:
            classes[name] = class_stub(namespace[name])
        except Exception as e:  # one class's problem: reported, then the next one
            why = str(e) if isinstance(e, Pyo2Error) else f"{type(e).__name__}: {e}"
            if not quiet:
                print(f"pyo2 {command}: skipping the class {name!r}: {why}", file=sys.stderr)
            classes[name] = why
    return classes


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


def _inspect(target: str, out: TextIO) -> int:
    dll = _load("inspect", target)
    if dll is None:
        return 1
    path = library_path(dll)
    names = function_names(dll)
    if not names and not _classes("inspect", dll, quiet=True):
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
        if release_gil_marked(dll, name):
            lines.append("#[pyo2::export(release_gil)]")
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
    records, bad = _records(dll)
    if records:
        print("\n// records: #[derive(pyo2::Record)], the classes dll.types.NAME", file=out)
        print("\n".join(records), file=out)
    classes, bad_class = _class_lines(dll)
    if classes:
        print("\n// classes: #[pyo2::class], the classes dll.types.NAME", file=out)
        print("\n".join(classes), file=out)
    return status or bad or bad_class


def _class_lines(dll: RustDLL) -> tuple[list[str], int]:
    """The library's classes, each with its methods; 1 if one is unreadable."""
    lines: list[str] = []
    status = 0
    for name, info in _classes("inspect", dll, quiet=True).items():
        if isinstance(info, str):
            lines.append(f"class {_printable(name)} {{ ? }}  // unreadable descriptor: {_printable(info)}")
            status = 1
            continue
        lines += [f"/// {_printable(line)}".rstrip() for line in info.doc.split("\n")] if info.doc else []
        lines.append(f"class {_printable(name)} {{")
        marked = _marked_members(dll, name)
        for kind, member, sig in info.members:
            doc = sig.doc.split("\n") if sig.doc else []
            lines += [f"    /// {_printable(line)}".rstrip() for line in doc]
            attribute = {"new": "#[new] ", "getter": "#[getter] "}.get(kind, "")
            if member in marked:
                attribute += "#[release_gil] "
            lines.append(f"    {attribute}{_printable(str(sig))}")
        lines.append("}")
    return lines, status


def _marked_members(dll: RustDLL, name: str) -> set[str]:
    """The members of the class ``name`` (``__init__`` for its constructor)
    whose symbol, read from the class descriptor, the library marks ``release_gil``."""
    from ._dll import _state
    from ._objects import _describe

    state = _state(dll)
    try:
        text = _describe(state.cdll, state.path, name)
    except Exception:  # unreadable: the class line says so already
        return set()
    marked: set[str] = set()
    for line in (text or "").partition("\n\n")[0].split("\n")[2:]:
        parts = line.split(" ")
        if len(parts) == 3 and release_gil_marked(dll, parts[2]):
            marked.add("__init__" if parts[0] == "new" else parts[1])
    return marked


def _records(dll: RustDLL) -> tuple[list[str], int]:
    """The library's records, each as a struct with its layout; 1 if one is unreadable."""
    from ._dll import types

    namespace = types(dll)
    lines: list[str] = []
    status = 0
    for name in namespace.names():
        try:
            rec = namespace.record(name)
        except (Pyo2Error, AttributeError, SignatureError) as e:
            lines.append(f"struct {_printable(name)} {{ ? }}  // unreadable descriptor: {_printable(str(e))}")
            status = 1
            continue
        lines += [f"/// {_printable(line)}".rstrip() for line in rec.doc.split("\n")] if rec.doc else []
        kind = "plain" if rec.plain else f"owned, In mirror: size {rec.in_size}, align {rec.in_align}"
        lines.append(f"struct {rec.name} {{  // {kind}; size {rec.size}, align {rec.align}")
        for f in rec.fields:
            at = f"@{f.off}" if rec.plain else f"@{f.off}, in@{f.inoff}"
            lines.append(f"    {f.name}: {f.t},  // {at}")
        lines.append("}")
    return lines, status


def _write(command: str, text: str, output: str | None, out: TextIO, count: int) -> None:
    if output is None:
        out.write(text)
        return
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"pyo2 {command}: wrote {output}: {count} functions", file=sys.stderr)


def _stubgen(target: str, output: str | None, out: TextIO) -> int:
    dll = _load("stubgen", target)
    if dll is None:
        return 1
    functions, unreadable = _functions("stubgen", dll)
    classes = _classes("stubgen", dll)
    text = stub(os.path.basename(library_path(dll)), functions, unreadable, classes)
    _write("stubgen", text, output, out, len(functions))
    return 0


def _loader(args: argparse.Namespace, dll: RustDLL) -> Loader | str:
    """How the generated module loads the library, or why the options can't say."""
    if args.path is not None:
        if args.find is not None or args.package is not None:
            return "--path loads a file: it doesn't go with --find or --package"
        return Loader(path=args.path)
    name = args.find
    if name is None:
        name = args.library if not _is_path(args.library) else derive_lib_name(library_path(dll))
    if name is None:
        return (
            f"can't tell the lib name RustDLL.find() would find {args.library!r} by: "
            "pass --find NAME (the crate or lib name) or --path PATH (relative to the module)"
        )
    return Loader(name=name, package=args.package)


def _bindgen(args: argparse.Namespace, out: TextIO) -> int:
    if args.check and args.output is None:
        print("pyo2 bindgen: --check needs the module to check: -o FILE", file=sys.stderr)
        return 2
    dll = _load("bindgen", args.library)
    if dll is None:
        return 1
    loader = _loader(args, dll)
    if isinstance(loader, str):
        print(f"pyo2 bindgen: {loader}", file=sys.stderr)
        return 2
    functions, unreadable = _functions("bindgen", dll, quiet=args.check)  # the module says why
    classes = _classes("bindgen", dll, quiet=args.check)
    text = module(functions, unreadable, loader, classes)
    if args.check:
        stale = check(args.output, text)
        if stale is not None:
            print(f"pyo2 bindgen --check: {stale}", file=out)
            return 1
        print(f"pyo2 bindgen --check: {args.output} is up to date", file=sys.stderr)
        return 0
    _write("bindgen", text, args.output, out, len(functions))
    return 0


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m pyo2", description="Tools around a Rust cdylib used with pyo2."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lib_help = "the library: its path, or a crate or lib name (found as RustDLL.find finds it)"
    inspect = commands.add_parser("inspect", help="list the exported functions with their signatures")
    inspect.add_argument("library", metavar="LIB", help=lib_help)
    bindgen = commands.add_parser(
        "bindgen", help="write a typed Python module (.py) of the library's functions"
    )
    bindgen.add_argument("library", metavar="LIB", help=lib_help)
    bindgen.add_argument(
        "-o", "--output", metavar="FILE", help="the module to write (default: standard output)"
    )
    bindgen.add_argument(
        "--find",
        metavar="NAME",
        help="the module loads the library with RustDLL.find(NAME) (default: LIB's lib name)",
    )
    bindgen.add_argument(
        "--package", metavar="PKG", help="... and RustDLL.find(NAME, package=PKG): a package that ships it"
    )
    bindgen.add_argument(
        "--path",
        metavar="PATH",
        help="the module loads this file instead (relative to the module's directory)",
    )
    bindgen.add_argument(
        "--check",
        action="store_true",
        help="write nothing: exit with 1 and a diff when FILE is not what bindgen writes now",
    )
    stubgen = commands.add_parser("stubgen", help="write type stubs (.pyi) for the library's functions")
    stubgen.add_argument("library", metavar="LIB", help=lib_help)
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
    if args.command == "bindgen":
        return _bindgen(args, out or sys.stdout)
    return _inspect(args.library, out or sys.stdout)
