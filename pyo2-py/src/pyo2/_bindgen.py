"""``python -m pyo2 bindgen LIB -o mylib.py``: a typed module of a library's functions.

The module is plain Python: importing it loads the library (with
``RustDLL.find(NAME)``, or from a path relative to the module), and each of
its functions is the library's own pyo2 function. Type checkers and editors
read a typed ``def`` of each function, with the Python types its Rust
signature accepts and returns (the mapping of :mod:`pyo2._stubgen`), exact
parameter names and doc comments, under ``if TYPE_CHECKING:``; at run time
a module ``__getattr__`` binds a function the first time it is used, as a
module global, so calls cost what ``library.NAME(...)`` costs, with no
wrapper in between (a ``def`` that forwards each call would add a Python
frame to every call, and could drift from the function's own checks).

The first lines of the module hold a fingerprint: the SHA-256 of the rest of
its text. ``--check`` generates the text again and compares the
fingerprints, so it fails (with a diff) when a signature, a doc comment, the
loading options or pyo2's mapping changed since, and not when the file was
only reformatted.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.machinery
import os
import re
import shlex
from typing import TYPE_CHECKING

from ._stubgen import (
    ClassStub,
    _definitions,
    _Names,
    _printable,
    _unfit,
    _unused,
    class_definitions,
    class_names,
    defined_class,
    record_classes,
)

if TYPE_CHECKING:
    from ._types import Signature

__all__ = ["check", "derive_lib_name", "module"]

#: The line that holds the fingerprint.
_FINGERPRINT = re.compile(r"^# pyo2-bindgen-fingerprint: sha256:([0-9a-f]{64})\n", re.MULTILINE)

#: Line width the generated definitions are wrapped at (ruff format's default).
_WIDTH = 88


class Loader:
    """How the generated module finds the library: ``RustDLL.find(name,
    package=package)``, or the file ``path`` (relative to the module's
    directory unless absolute)."""

    def __init__(self, name: str | None = None, package: str | None = None, path: str | None = None) -> None:
        if (name is None) == (path is None) or (package is not None and path is not None):
            raise ValueError("a Loader finds the library by name (and package) or by path")
        self.name = name
        self.package = package
        self.path = path

    def options(self) -> str:
        """The command-line options that choose this loader."""
        if self.path is not None:
            return f"--path {shlex.quote(self.path)}"
        assert self.name is not None
        package = f" --package {shlex.quote(self.package)}" if self.package is not None else ""
        return f"--find {shlex.quote(self.name)}{package}"

    def code(self, variable: str) -> list[str]:
        """The imports and statements that load the library into ``variable``."""
        if self.path is not None:
            return [
                "import os as _pyo2_os",
                "from typing import TYPE_CHECKING",
                "",
                "import pyo2 as _pyo2",
                "",
                "_pyo2_here = _pyo2_os.path.dirname(__file__)",
                f"{variable} = _pyo2.RustDLL(_pyo2_os.path.join(_pyo2_here, {_literal(self.path)}))",
            ]
        assert self.name is not None
        package = f", package={_literal(self.package)}" if self.package is not None else ""
        return [
            "from typing import TYPE_CHECKING",
            "",
            "import pyo2 as _pyo2",
            "",
            f"{variable} = _pyo2.RustDLL.find({_literal(self.name)}{package})",
        ]


def _literal(text: str) -> str:
    """``text`` as a Python string literal, in double quotes as ruff format writes it."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        return '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


def _isort_key(name: str) -> tuple[int, list[tuple[int, int, str]]]:
    """The order ruff's RUF022 wants ``__all__`` in: constants, then classes,
    then the rest, each in natural order (``f8`` before ``f16``)."""
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    chunks = [(1, int(c), "") if c.isdigit() else (0, 0, c) for c in re.split(r"(\d+)", name) if c]
    return kind, chunks


def _unfit_here(name: str) -> str | None:
    """Why the module can't define a function ``name`` (see :func:`pyo2._stubgen._unfit`)."""
    if name.startswith("_pyo2") or name == "TYPE_CHECKING":
        return "a name the generated module keeps for itself"
    return _unfit(name)


def derive_lib_name(path: str) -> str | None:
    """The lib name ``RustDLL.find`` finds the file ``path`` by, or None.

    ``libmy_lib.so`` / ``libmy_lib.dylib`` / ``my_lib.dll`` and the
    extension-module names (``my_lib.cpython-311-x86_64-linux-gnu.so``).
    """
    base = os.path.basename(path)
    for suffix in sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True):
        stem = base[: -len(suffix)]
        if base.endswith(suffix) and stem.isidentifier() and suffix not in (".so", ".pyd"):
            return stem
    # Another interpreter's extension-module name (built for CPython 3.11, read on 3.10).
    tagged = re.fullmatch(r"(\w+)\.(?:cpython-\d+|abi3|pypy\d+-pp\d+)[\w-]*\.(?:so|pyd)", base)
    if tagged and tagged.group(1).isidentifier():
        return tagged.group(1)
    for prefix, suffix in (("lib", ".so"), ("lib", ".dylib"), ("", ".dll")):
        stem = base[len(prefix) : -len(suffix)]
        if base.startswith(prefix) and base.endswith(suffix) and stem.isidentifier():
            return stem
    return None


def _fingerprint(text: str) -> str:
    """The SHA-256 of ``text`` without its fingerprint line."""
    return hashlib.sha256(_FINGERPRINT.sub("", text).encode("utf-8", "surrogatepass")).hexdigest()


def module(
    functions: dict[str, Signature | None],
    unreadable: dict[str, str] | None,
    loader: Loader,
    classes: dict[str, ClassStub | str] | None = None,
) -> str:
    """The text of the typed module for ``functions`` (name → signature or
    None) and ``classes`` (the ``#[pyo2::class]`` classes: name → :class:`ClassStub`,
    or why it can't be read), loading the library with ``loader``.

    ``unreadable`` maps the functions whose descriptor could not be read to
    the reason; they, and functions a module can't define, appear as
    comments that say how to reach them (``library["in"]``). The text always
    parses as Python.
    """
    classes = classes or {}
    fit = sorted(n for n in functions if _unfit_here(n) is None)
    library = _unused("library", set(fit) | set(classes))
    names = _Names(set(fit) | class_names(classes))
    names.taken |= set(classes)
    defined = class_definitions(
        classes, names, set(fit), width=_WIDTH - 4, where="this module", library=library, unfit=_unfit_here
    )
    body = _definitions(
        functions,
        unreadable or {},
        names,
        unfit=_unfit_here,
        where="this module",
        library=library,
        width=_WIDTH - 4,
    )
    records_defined = record_classes(names, _WIDTH - 4)
    # Records' classes and #[pyo2::class]es: both are the library's types.
    typed = {
        *names.records,
        *(n for n, c in classes.items() if defined_class(n, c, set(fit), _unfit_here) is None),
    }
    records = "".join(f"\n            {_literal(name)}," for name in sorted(typed))
    checking: list[str] = []
    for item in [*names.needed_imports(), "", *records_defined, *defined, *body]:
        if item or (checking and checking[-1]):  # one blank line between definitions
            checking.append(item)
    indented = [f"    {line}".rstrip() for item in checking for line in item.split("\n")]
    # `from __future__ import annotations` binds the name `annotations`, which
    # would hide a function of that name; the annotations are never evaluated
    # (only type checkers read them), so the module does without.
    future = ["from __future__ import annotations", ""] if "annotations" not in fit else []
    listed = "".join(f"\n    {_literal(name)}," for name in sorted(fit, key=_isort_key))
    lines = [
        "# Typed bindings of a Rust library, generated by `python -m pyo2 bindgen` from the",
        "# signatures it exports (#[pyo2::export]). Don't edit it: generate it again with",
        f"#     python -m pyo2 bindgen LIB -o THIS_FILE {_printable(loader.options())}",
        "# and check that it is up to date (in a test) with the same command plus --check.",
        "# ruff: noqa",
        '"""Typed bindings of a Rust library, generated by ``python -m pyo2 bindgen``.',
        "",
        "Each function is the library's own pyo2 function (bound on first use): the",
        "definitions under ``if TYPE_CHECKING:`` tell type checkers and editors its",
        "parameters and the Python types it accepts and returns.",
        '"""',
        "",
        *future,
        *loader.code(library),
        "",
        f"__all__ = [{listed}\n]" if fit else "__all__: list[str] = []",
        "",
        "if TYPE_CHECKING:",
        *indented,
    ]
    if not fit:
        lines.append("    pass")
    lines += [
        "else:",
        "    import builtins as _pyo2_builtins",
        "",
        "    _pyo2_globals = _pyo2_builtins.globals()",
        "    _pyo2_functions = _pyo2_builtins.frozenset(__all__)",
        *(
            [f"    _pyo2_records = _pyo2_builtins.frozenset(\n        ({records}\n        )\n    )"]
            if records
            else []
        ),
        "",
        "    def __getattr__(name):",
        "        # The first use binds the function as a global: later uses are plain look-ups.",
        *(
            [
                "        if name in _pyo2_records:  # a record's class or a #[pyo2::class]",
                f"            record = _pyo2_globals[name] = _pyo2.types({library})[name]",
                "            return record",
            ]
            if records
            else []
        ),
        "        if name not in _pyo2_functions:",
        '            message = f"module {__name__!r} has no attribute {name!r}"',
        "            raise _pyo2_builtins.AttributeError(message)",
        f"        function = _pyo2_globals[name] = {library}[name]",
        "        return function",
        "",
        "    def __dir__():",
        "        return _pyo2_builtins.sorted({*_pyo2_globals, *_pyo2_functions})",
    ]
    text = "\n".join(lines) + "\n"
    fingerprint = f"# pyo2-bindgen-fingerprint: sha256:{_fingerprint(text)}\n"
    head, _, rest = text.partition("# ruff: noqa\n")
    return f"{head}{fingerprint}# ruff: noqa\n{rest}"


def check(path: str, fresh: str) -> str | None:
    """Why the module at ``path`` is not the one ``fresh`` is, or None when it is.

    Compares fingerprints: a stale module gets a unified diff from it to
    ``fresh``.
    """
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            current = f.read()
    except OSError as e:
        return f"{path}: can't read it ({e.strerror or e}); generate it first"
    found = _FINGERPRINT.search(current)
    if found is None:
        return f"{path}: has no pyo2-bindgen fingerprint (not written by python -m pyo2 bindgen?)"
    if found.group(1) == _fingerprint(fresh):
        return None
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        fresh.splitlines(keepends=True),
        fromfile=path,
        tofile=f"{path} (generated now)",
    )
    return f"{path} is out of date with the library; generate it again:\n{''.join(diff)}"
