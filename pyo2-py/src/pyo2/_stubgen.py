"""``python -m pyo2 stubgen LIB -o mylib.pyi``: type stubs from a library's signatures.

The stub describes a module whose functions are the library's: exported
functions with the Python types their Rust signature accepts and returns,
the others as taking anything and returning ``None`` (pyo2 infers them per
call). Pair it with a module of the same name that hands out the functions::

    # mylib.py
    from pyo2 import RustDLL

    _dll = RustDLL.find("mylib")

    def __getattr__(name):
        return _dll[name]

and mypy (or an editor) checks every call against the Rust types.

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

from ._signature import python_parameters
from ._types import U8, Owned, Ret, RType, Scalar, Signature, VecRef

__all__ = ["stub"]

#: The names the annotations use, spelled as they are when no function of
#: the library has one of them as its name.
_PLAIN = ("int", "float", "bool", "str", "bytes", "bytearray", "memoryview", "list")


class _Names:
    """How the stub spells the types its annotations use."""

    def __init__(self, functions: set[str]) -> None:
        self.spelled = {name: name for name in _PLAIN}
        self.spelled["array"] = "array"
        self.spelled["Any"] = "Any"
        #: The imports at the top of the stub.
        self.imports = ["from array import array", "from typing import Any"]
        if functions.isdisjoint(self.spelled):
            return
        # A function is called `int`, `list`, `array`…: that module-level name
        # would be the function, so every annotation goes through a module,
        # imported under a name no function has.
        builtins, array, typing = (_unused(base, functions) for base in ("_builtins", "_array", "_typing"))
        self.spelled = {name: f"{builtins}.{name}" for name in _PLAIN}
        self.spelled["array"] = f"{array}.array"
        self.spelled["Any"] = f"{typing}.Any"
        self.imports = [
            f"import array as {array}",
            f"import builtins as {builtins}",
            f"import typing as {typing}",
        ]

    def __getitem__(self, name: str) -> str:
        return self.spelled[name]

    def buffer(self) -> str:
        return f"{self['bytearray']} | {self['memoryview']} | {self['array']}[{self['Any']}]"

    def param(self, t: RType) -> str:
        """The Python type a parameter of Rust type ``t`` accepts."""
        if isinstance(t, Scalar):
            return self[t.kind]
        if t.utf8:
            return f"{self['str']} | {self['bytes']} | {self['bytearray']}"
        if t.elem == U8 and not t.mutable:
            return f"{self['str']} | {self['bytes']} | {self.buffer()}"
        if isinstance(t.elem, VecRef):
            return " | ".join(f"{self['list']}[{item}]" for item in self.items(t.elem))
        return f"{self['list']}[{self.param(t.elem)}] | {self.buffer()}"

    def items(self, t: VecRef) -> list[str]:
        """The item types a list of views of type ``t`` may hold, one list type each.

        ``list`` is invariant, so ``list[str | bytes]`` would refuse a
        ``list[str]``: each alternative gets a list type of its own (and rows of
        scalars are lists, not buffers).
        """
        if t.utf8 or (t.elem == U8 and not t.mutable):
            return [self["str"], self["bytes"]]
        if isinstance(t.elem, VecRef):
            return [f"{self['list']}[{item}]" for item in self.items(t.elem)]
        return [f"{self['list']}[{self.param(t.elem)}]"]

    def ret(self, ret: Scalar | Ret | None) -> str:
        if ret is None:
            return "None"
        if isinstance(ret, Scalar):
            return self.param(ret)
        value = ret.value
        if value is None:
            text = "None"
        elif isinstance(value, Owned):
            text = self["str"] if value.text else f"{self['list']}[{self.param(value.elem)}]"
        else:
            text = self.param(value)
        return f"{text} | None" if ret.optional and text != "None" else text


def _unused(base: str, taken: set[str]) -> str:
    while base in taken:
        base += "_"
    return base


def _escape(c: str) -> str:
    r"""``c`` as an escape sequence (``\x00``, ``\u2028``, ``\ud800``)."""
    return ascii(c)[1:-1] if c != "\\" else "\\\\"


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
    return f'    """{body}\n    """'


def _function(name: str, sig: Signature | None, names: _Names) -> list[str]:
    if sig is None:
        return [
            f"def {name}(*args: {names['Any']}) -> None:",
            '    """No descriptor: pyo2 infers the Rust types from the values of each call."""',
        ]
    shown, positional = python_parameters([p for p, _ in sig.params])
    params = [f"{p}: {names.param(t)}" for p, (_, t) in zip(shown, sig.params)]
    if positional:
        params.insert(positional, "/")
    doc = [str(sig)]
    if isinstance(sig.ret, Ret) and sig.ret.error is not None:
        doc.append("Raises pyo2.RustError for an Err, pyo2.RustPanic for a panic.")
    if sig.doc:
        doc += ["", *sig.doc.split("\n")]
    return [f"def {name}({', '.join(params)}) -> {names.ret(sig.ret)}:", _docstring(doc)]


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


def _comment(name: str, why: str) -> list[str]:
    lines = why.split("\n")
    return [
        f"# {_printable(repr(name))} is not in this stub: {_printable(lines[0])}",
        *(f"#     {_printable(line)}".rstrip() for line in lines[1:]),
        f"# (call it as dll[{_printable(repr(name))}])",
    ]


def stub(
    library: str, functions: dict[str, Signature | None], unreadable: dict[str, str] | None = None
) -> str:
    """The text of the stub for ``functions`` (name → signature or None).

    ``unreadable`` maps the functions whose descriptor could not be read to
    the reason; they, and functions a stub can't define, appear as comments.
    The text always parses as Python.
    """
    unreadable = unreadable or {}
    names = _Names({n for n in functions if _unfit(n) is None})
    lines = [
        f"# Generated by `python -m pyo2 stubgen {_printable(library)}` from the signatures the library",
        "# exports (#[pyo2::export]); generate it again when the Rust signatures change.",
        "",
        *names.imports,
        "",
    ]
    for name in sorted({*functions, *unreadable}):
        if name in unreadable:
            lines += ["", *_comment(name, f"unreadable descriptor: {unreadable[name]}")]
            continue
        why = _unfit(name)
        if why is not None:
            lines += ["", *_comment(name, why)]
            continue
        text = _function(name, functions[name], names)
        try:
            compile("\n".join(text), "<stub>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:  # pragma: no cover - a bug in this module
            lines += ["", *_comment(name, f"pyo2 could not write its stub ({e})")]
            continue
        lines += ["", *text, ""]
    return "\n".join(lines).rstrip() + "\n"
