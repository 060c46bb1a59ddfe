"""``python -m pyo2 stubgen LIB -o mylib.pyi``: type stubs from a library's signatures.

The stub describes a module whose functions are the library's: exported
functions with the Python types their Rust signature accepts and returns,
the others as taking anything and returning ``None`` (pyo2 infers them per
call). ``python -m pyo2 bindgen`` (:mod:`pyo2._bindgen`) writes a real
module with the same annotations, which is what most projects want; a stub
is for a module you write yourself.

The mapping from Rust to Python types (:class:`_Names`) is shared with
``bindgen``, and promises only what pyo2 accepts at run time.

Names and doc comments come from the library, so nothing reaches the stub
unchecked: a function whose name a module can't define (a keyword, a name
Python's NFKC normalisation changes, a dunder) gets a comment saying why it
is missing; a parameter name Python can't spell becomes ``argN``,
positional-only; the doc comment is escaped; and a function named like a
type the annotations use (``int``, ``list``, ``array``, ``Any``…) makes
every annotation go through its module (``_builtins.int``).
"""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from ._signature import python_name, python_parameters
from ._types import (
    U8,
    CallbackT,
    Handle,
    IterT,
    OArr,
    OOpt,
    ORec,
    ORet,
    OStr,
    OTup,
    OVec,
    Owned,
    Param,
    Ret,
    Rich,
    Scalar,
    Signature,
    VecRef,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["stub"]

#: The names the annotations use, spelled as they are when no function of
#: the library has one of them as its name.
_PLAIN = ("int", "float", "bool", "str", "bytes", "bytearray", "memoryview", "list", "tuple", "object")
#: The names the annotations take from :mod:`collections.abc` (callbacks, iterators).
_ABC = ("Callable", "Iterator")


class _Names:
    """How the stub spells the types its annotations use."""

    def __init__(self, functions: set[str]) -> None:
        self.spelled = {name: name for name in _PLAIN}
        self.spelled["array"] = "array"
        self.spelled["Any"] = "Any"
        self.spelled.update({name: name for name in _ABC})
        #: The names spelled so far (:meth:`needed_imports`).
        self.used: set[str] = set()
        #: The records the annotations name (name → ``pyo2._records.RecordType``).
        self.records: dict[str, Any] = {}
        #: Names a record class can't have here (a function's, a type's the annotations use).
        self.taken = set(functions) | set(self.spelled)
        #: The imports at the top of the stub.
        self.imports = [
            "from array import array",
            f"from collections.abc import {', '.join(_ABC)}",
            "from typing import Any",
        ]
        if functions.isdisjoint(self.spelled):
            return
        # A function is called `int`, `list`, `array`…: that module-level name
        # would be the function, so every annotation goes through a module,
        # imported under a name no function has.
        builtins, array, typing = (_unused(base, functions) for base in ("_builtins", "_array", "_typing"))
        self.spelled = {name: f"{builtins}.{name}" for name in _PLAIN}
        self.spelled["array"] = f"{array}.array"
        self.spelled["Any"] = f"{typing}.Any"
        self.spelled.update({name: f"{typing}.{name}" for name in _ABC})
        self.imports = [
            f"import array as {array}",
            f"import builtins as {builtins}",
            f"import typing as {typing}",
        ]

    def __getitem__(self, name: str) -> str:
        self.used.add(name)
        return self.spelled[name]

    def needed_imports(self) -> list[str]:
        """The imports of the types the annotations spelled so far use."""
        needed: list[str] = []
        for line in self.imports:
            if line.startswith("from "):  # `from collections.abc import Callable, Iterator`
                module, _, bound = line[5:].partition(" import ")
                used = [name for name in bound.split(", ") if name in self.used]
                if used:
                    needed.append(f"from {module} import {', '.join(used)}")
                continue
            bound = line.split()[-1]  # `import array as _array`
            if any(self.spelled[name].startswith(f"{bound}.") for name in self.used):
                needed.append(line)
        return needed

    def param(self, t: Param) -> str:
        """The Python type a parameter of Rust type ``t`` accepts (see :meth:`alternatives`)."""
        return " | ".join(self.alternatives(t))

    def alternatives(self, t: Param) -> list[str]:
        """The Python types a parameter of Rust type ``t`` accepts, one per union member.

        Only types pyo2 converts for ``t`` (tests/python/test_bindgen.py calls
        a function with a value of each): what a type can't tell is checked
        at each call instead, as an ``int``'s range is (an ``array``'s type
        code, a read-only ``memoryview`` for ``&mut``). Bytes (``bytes``,
        ``bytearray``, ``memoryview``) are only for ``u8`` elements and text;
        ``bool``, ``isize`` and ``usize`` elements come only in lists (``array``
        has no ``bool`` type code, and pyo2 takes no buffer as ``isize``).
        ``list`` is invariant, so the rows of a nested list are one
        ``list[...]`` type per row type, not a ``list`` of a union.
        """
        if isinstance(t, Scalar):
            return [self[t.kind]]
        if isinstance(t, Rich):
            return self.rich(t)
        if isinstance(t, CallbackT):
            return [self.callback(t)]
        if t.utf8:
            return [self["str"], self["bytes"], self["bytearray"], self["memoryview"]]
        elem = t.elem
        if isinstance(elem, VecRef):
            return [f"{self['list']}[{item}]" for item in self.alternatives(elem)]
        items = f"{self['list']}[{self[elem.kind]}]"
        if elem.kind == "bool" or elem.name in ("isize", "usize"):
            return [items]  # no array type code is a bool, and pyo2 takes none for isize/usize
        array = f"{self['array']}[{self[elem.kind]}]"
        if elem != U8:
            return [items, array]
        writable = [self["bytearray"], self["memoryview"], items, array]
        return writable if t.mutable else [self["str"], self["bytes"], *writable]

    def callback(self, t: CallbackT) -> str:
        """``Callable[[A, …], R]`` for a callback parameter: its arguments as
        Python gets them (``&str`` is a ``str``) and what it must return (for
        ``()``, anything: the result is ignored)."""
        args = [self["str"] if isinstance(a, VecRef) else self[a.kind] for a in t.args]
        ret = self["object"] if t.ret is None else self[t.ret.kind]
        return f"{self['Callable']}[[{', '.join(args)}], {ret}]"

    def rich(self, t: Rich) -> list[str]:
        """The Python types a parameter of issue 12's types accepts."""
        if t.mode == "optref":
            return [*self.alternatives(t.view), "None"]
        if t.mode in ("own", "ref", "mut"):
            return [self.owned(t.t, param=True)]
        item = self.owned(t.t, param=True)
        return [f"{self['list']}[{item}]", self["Any"]]  # Any: a numpy structured array

    def record(self, t: ORec) -> str | None:
        """The class name of a record, or None when a stub can't define it under that name."""
        rec = t.record
        if rec is None or not python_name(rec.name) or rec.name in self.taken or rec.name.startswith("_"):
            return None
        known = self.records.setdefault(rec.name, rec)
        return rec.name if known is rec else None

    def owned(self, t: object, param: bool) -> str:
        """An owned type's Python type: what a parameter accepts (``param``) or a return is."""
        if isinstance(t, Scalar):
            return self[t.kind]
        if isinstance(t, OStr):
            return self["str"]
        if isinstance(t, OVec):
            if t.elem == U8:
                return f"{self['bytes']} | {self['list']}[{self['int']}]" if param else self["bytes"]
            return f"{self['list']}[{self.owned(t.elem, param)}]"
        if isinstance(t, OOpt):
            return f"{self.owned(t.inner, param)} | None"
        if isinstance(t, OArr):
            return f"{self['list']}[{self.owned(t.elem, param)}]"
        if isinstance(t, OTup):
            return f"{self['tuple']}[{', '.join(self.owned(i, param) for i in t.items)}]"
        assert isinstance(t, ORec)
        name = self.record(t)
        if name is None:
            return self["Any"]
        # Any object with the fields is accepted (a dataclass, a dict, a tuple...).
        return f"{name} | {self['Any']}" if param else name

    def ret(self, ret: Scalar | Ret | None) -> str:
        if ret is None:
            return "None"
        if isinstance(ret, Scalar):
            return self.param(ret)
        text = self.value(ret.value)
        return f"{text} | None" if ret.optional and text != "None" else text

    def value(self, value: Scalar | Owned | ORet | IterT | None) -> str:
        """The Python type of a returned value (of a ``Ret``, or an ``Iter``'s item)."""
        if value is None:
            text = "None"
        elif isinstance(value, Handle):
            text = self["Any"]  # `Self`: a constructor's, written as `__init__` by class_stubs
        elif isinstance(value, Owned):
            if value.text:
                text = self["str"]
            elif value.elem == U8:
                text = self["bytes"]
            else:
                text = f"{self['list']}[{self.param(value.elem)}]"
        elif isinstance(value, ORet):
            text = self.owned(value.t, param=False)
        elif isinstance(value, IterT):
            text = f"{self['Iterator']}[{self.value(value.item)}]"
        else:
            text = self.param(value)
        return text


def _unused(base: str, taken: set[str]) -> str:
    while base in taken:
        base += "_"
    return base


def _escape(c: str) -> str:
    r"""``c`` as an escape sequence (``\x00``, ``\u2028``); a lone surrogate
    as the text ``\ud800`` (CPython 3.13.0 can't compile a docstring that
    holds one, even escaped)."""
    if c == "\\":
        return "\\\\"
    if "\ud800" <= c <= "\udfff":
        return "\\" + ascii(c)[1:-1]
    return ascii(c)[1:-1]


def _printable(text: str) -> str:
    """``text`` on one line: every character that isn't printable escaped."""
    return "".join(c if c.isprintable() else _escape(c) for c in text)


# A quote followed by another one (or last): escaped, so no `"""` can end the
# docstring early and none is next to the closing quotes.
_QUOTES = re.compile(r'"(?="|\Z)')


def _docstring(lines: list[str]) -> str:
    """The docstring of a function body (indented) whose text is ``lines``.

    Backslashes, quotes that could close it, and characters that aren't
    printable (NUL, a form feed, a line separator…; newlines and tabs stay)
    are escaped, so the stub parses whatever the doc comment holds.
    """
    text = "\n".join(lines)
    text = "".join(c if c in "\n\t" or (c.isprintable() and c != "\\") else _escape(c) for c in text)
    text = _QUOTES.sub(lambda _: '\\"', text)
    body = "\n".join(f"    {line}".rstrip() for line in text.split("\n")).lstrip()
    if "\n" not in body:  # one line, closed on it (as ruff format writes it)
        return f'    """{body}"""'
    return f'    """{body}\n    """'


def _function(name: str, sig: Signature | None, names: _Names, width: int = 0, kind: str = "") -> list[str]:
    """The definition of ``name``; a first line longer than ``width`` (if not 0) is wrapped.

    ``kind`` is a class member's (see :class:`ClassStub`): a ``method`` or
    ``getter`` takes ``self`` in place of Rust's ``&self`` / ``&mut self``,
    ``new`` is ``__init__`` (returning None).
    """
    if sig is None:
        return [
            f"def {name}(*args: {names['Any']}) -> None:",
            '    """No descriptor: pyo2 infers the Rust types from the values of each call."""',
        ]
    rust = [(p, t) for p, t in sig.params if not isinstance(t, Handle)]
    shown, positional = python_parameters([p for p, _ in rust])
    params = [f"{p}: {names.param(t)}" for p, (_, t) in zip(shown, rust)]
    if positional:
        params.insert(positional, "/")
    if kind in ("new", "method", "getter"):
        params.insert(0, "self")
    returns = "None" if kind == "new" else names.ret(sig.ret)
    doc = [str(sig)]
    if isinstance(sig.ret, Ret) and sig.ret.error is not None:
        doc.append("Raises pyo2.RustError for an Err, pyo2.RustPanic for a panic.")
    if sig.doc:
        doc += ["", *sig.doc.split("\n")]
    head = f"def {name}({', '.join(params)}) -> {returns}:"
    if width and len(head) > width and params:  # one parameter a line, as ruff format has it
        wrapped: list[str] = []
        for param in params:
            if len(param) + 5 > width and " | " in param:  # and a long union one member a line
                first, *rest = members(param)
                wrapped += [
                    f"    {first}",
                    *(f"    | {member}" for member in rest[:-1]),
                    f"    | {rest[-1]},",
                ]
            else:
                wrapped.append(f"    {param},")
        return [f"def {name}(", *wrapped, f") -> {returns}:", _docstring(doc)]
    return [head, _docstring(doc)]


class ClassStub(NamedTuple):
    """What a stub says of a ``#[pyo2::class]``: its doc comment and members,
    each ``(kind, name, signature)`` in the library's order, ``kind`` being
    ``new``, ``method``, ``getter`` or ``static``."""

    name: str
    doc: str
    members: list[tuple[str, str, Signature]]


def class_stub(cls: type) -> ClassStub:
    """The :class:`ClassStub` of a class pyo2 made (``dll.types.NAME``)."""
    members: list[tuple[str, str, Signature]] = []
    fn: Any
    for name, attr in vars(cls).items():
        if isinstance(attr, staticmethod):
            kind, fn = "static", attr.__func__
        elif isinstance(attr, property):
            kind, fn = "getter", getattr(attr.fget, "rust_function", None)
        elif callable(attr):
            kind, fn = ("new" if name == "__init__" else "method"), getattr(attr, "rust_function", None)
        else:
            continue
        sig = getattr(fn, "signature", None)
        if isinstance(sig, Signature):
            members.append((kind, name, sig))
    return ClassStub(cls.__name__, cls.__doc__ or "", members)


def class_names(classes: dict[str, ClassStub | str]) -> set[str]:
    """The names a library's classes and their members take in the stub."""
    return {*classes, *(m for c in classes.values() if isinstance(c, ClassStub) for _, m, _ in c.members)}


def defined_class(
    name: str, info: ClassStub | str, taken: set[str], unfit: Callable[[str], str | None] | None = None
) -> str | None:
    """Why a stub or module can't define the class ``name``, or None if it can
    (``unfit``: why it can't define a function of that name; :func:`_unfit`)."""
    if isinstance(info, str):
        return f"unreadable class descriptor: {info}"
    why = (unfit or _unfit)(name)
    if why is None and name in taken:
        why = "the name of a function"
    if why is None and name.startswith("_"):
        why = "a private name"
    return why


def class_definitions(
    classes: dict[str, ClassStub | str],
    names: _Names,
    taken: set[str],
    *,
    width: int = 0,
    where: str = "this stub",
    library: str = "dll",
    unfit: Callable[[str], str | None] | None = None,
) -> list[str]:
    """The class of each ``#[pyo2::class]`` (a comment for the ones ``where`` can't
    define: an unreadable descriptor, a name ``taken`` by a function, or one
    Python can't spell), with its constructor, methods, getters (properties),
    static methods, ``close`` and the context manager."""
    lines: list[str] = []
    for name in sorted(classes):
        info = classes[name]
        reach = f"use {library}.types[{_printable(repr(name))}]"
        why = defined_class(name, info, taken, unfit)
        if why is not None or isinstance(info, str):
            lines += ["", *_comment(name, why or "", where, reach=reach)]
            continue
        body: list[str] = []
        defined = set()
        for kind, member, sig in info.members:
            why = None if kind == "new" else _unfit(member)
            if why is not None:
                body += [
                    "",
                    *_comment(
                        member,
                        why,
                        f"the class {name}",
                        reach=f"call it as getattr(obj, {_printable(repr(member))})",
                    ),
                ]
                continue
            text = _function(member, sig, names, width - 4 if width else 0, kind)
            if kind == "getter":
                text = ["@property", *text]
            elif kind == "static":
                text = ["@staticmethod", *text]
            body += ["", *text]
            defined.add(member)
        if "close" not in defined:
            body += [
                "",
                "def close(self) -> None:",
                '    """Drop the Rust value now; a second close does nothing."""',
            ]
        for dunder, line in (
            ("__enter__", f"def __enter__(self) -> {name}: ..."),
            ("__exit__", f"def __exit__(self, *exc: {names['object']}) -> None: ..."),
        ):
            if dunder not in defined:
                body += ["", line]
        doc = [f"#[pyo2::class] {name}", *(["", *info.doc.split("\n")] if info.doc else [])]
        indented = [f"    {line}".rstrip() for item in body for line in item.split("\n")]
        lines += ["", f"class {name}:", _docstring(doc), *indented, ""]
    return lines


def _unfit(name: str) -> str | None:
    """Why a stub can't define a function called ``name``, or None if it can."""
    if not name.isidentifier():
        return "not a Python identifier"
    if keyword.iskeyword(name):
        return "a Python keyword"
    if name == "__debug__":
        return "a name Python reserves"
    if name.startswith("__") and name.endswith("__"):
        return "a dunder name, which means something else in a module"
    if not name.isascii():
        import unicodedata

        normal = unicodedata.normalize("NFKC", name)
        if normal != name:
            return f"Python reads it as {normal!r} (NFKC)"
    return None


def _comment(
    name: str, why: str, where: str = "this stub", library: str = "dll", reach: str = ""
) -> list[str]:
    """The comment that stands for a function ``where`` can't define (``reach``:
    how to reach it instead, if not ``library[name]``)."""
    lines = why.split("\n")
    reach = reach or f"call it as {library}[{_printable(repr(name))}]"
    return [
        f"# {_printable(repr(name))} is not in {where}: {_printable(lines[0])}",
        *(f"#     {_printable(line)}".rstrip() for line in lines[1:]),
        f"# ({reach})",
    ]


def _definitions(
    functions: dict[str, Signature | None],
    unreadable: dict[str, str],
    names: _Names,
    *,
    unfit: Callable[[str], str | None] = _unfit,
    where: str = "this stub",
    library: str = "dll",
    width: int = 0,
) -> list[str]:
    """The definition of each function (a comment for the ones ``unfit`` refuses), by name."""
    lines: list[str] = []
    for name in sorted({*functions, *unreadable}):
        if name in unreadable:
            lines += ["", *_comment(name, f"unreadable descriptor: {unreadable[name]}", where, library)]
            continue
        why = unfit(name)
        if why is not None:
            lines += ["", *_comment(name, why, where, library)]
            continue
        text = _function(name, functions[name], names, width)
        try:
            compile("\n".join(text), "<stub>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:  # pragma: no cover - a bug in this module
            lines += ["", *_comment(name, f"pyo2 could not write its stub ({e})", where, library)]
            continue
        lines += ["", *text, ""]
    return lines


def record_classes(names: _Names, width: int = 0) -> list[str]:
    """The class of each record the annotations named: its fields and
    constructor, as ruff format writes them (``width``: where to wrap)."""
    lines: list[str] = []
    done: set[str] = set()
    while len(done) < len(names.records):
        for name, rec in sorted(names.records.items()):
            if name in done:
                continue
            done.add(name)
            fields = [
                (f.name, names.owned(f.t, param=False), names.owned(f.t, param=True)) for f in rec.fields
            ]
            shown = [f for f in fields if python_name(f[0])]
            doc = [
                f"struct {rec.name}: {rec.layout_text()}",
                *(["", *rec.doc.split("\n")] if rec.doc else []),
            ]
            if len(shown) > 5 or len(shown) < len(fields):  # too many to list (or unspellable): any
                params = [f"*args: {names['Any']}", f"**kwargs: {names['Any']}"]
            else:
                params = [f"{n}: {p}" for n, _, p in shown]
            head = f"    def __init__(self{''.join(', ' + p for p in params)}) -> None: ..."
            if width and len(head) > width:
                init = [
                    "    def __init__(",
                    "        self,",
                    *(f"        {p}," for p in params),
                    "    ) -> None: ...",
                ]
            else:
                init = [head]
            match = ", ".join(_literal(n) for n, _, _ in shown) + ("," if len(shown) == 1 else "")
            matches = [f"    __match_args__ = ({match})"]
            if width and len(matches[0]) > width:
                matches = [
                    "    __match_args__ = (",
                    *(f"        {_literal(n)}," for n, _, _ in shown),
                    "    )",
                ]
            lines += [
                "",
                f"class {name}:",
                _docstring(doc),
                "",
                *matches,
                *(f"    {n}: {r}" for n, r, _ in shown),
                "",
                *init,
                "",
            ]
    return lines


def _literal(text: str) -> str:
    """A str literal as ruff format writes it (double quotes); ``text`` is an identifier."""
    return f'"{text}"'


def stub(
    library: str,
    functions: dict[str, Signature | None],
    unreadable: dict[str, str] | None = None,
    classes: dict[str, ClassStub | str] | None = None,
) -> str:
    """The text of the stub for ``functions`` (name → signature or None) and
    ``classes`` (name → :class:`ClassStub`, or why its descriptor can't be read).

    ``unreadable`` maps the functions whose descriptor could not be read to
    the reason; they, and functions a stub can't define, appear as comments.
    The text always parses as Python.
    """
    classes = classes or {}
    fit = {n for n in functions if _unfit(n) is None}
    names = _Names(fit | class_names(classes))
    names.taken |= set(classes)
    defined = class_definitions(classes, names, fit)
    body = _definitions(functions, unreadable or {}, names)
    body = [*record_classes(names), *defined, *body]
    lines = [
        f"# Generated by `python -m pyo2 stubgen {_printable(library)}` from the signatures the library",
        "# exports (#[pyo2::export]); generate it again when the Rust signatures change.",
        "",
        *names.needed_imports(),
        "",
        *body,
    ]
    return "\n".join(lines).rstrip() + "\n"


def members(text: str) -> list[str]:
    """The members of a union's text, split at its top level (``list[A | B] | C`` has two)."""
    parts: list[str] = []
    depth = start = 0
    for i, c in enumerate(text):
        depth += {"[": 1, "]": -1}.get(c, 0)
        if depth == 0 and text.startswith(" | ", i):
            parts.append(text[start:i])
            start = i + 3
    parts.append(text[start:])
    return parts
