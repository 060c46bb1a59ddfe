"""Parse a Rust function declaration into a :class:`~pyo2._types.Signature`.

Accepted::

    [pub] [unsafe] [extern "C"] fn NAME(PARAM: TYPE, ...) [-> RET] [;]

``TYPE`` is a scalar (``i8 … u64``, ``isize``, ``usize``, ``f32``, ``f64``,
``bool``), ``&PyStr``, ``&PyVec<T>`` or ``&mut PyVec<T>`` with ``T`` any
``TYPE``; paths may be spelled ``pyo2::PyVec`` and references may carry a
lifetime (``&'a PyStr``). ``RET`` is a scalar or ``()``. Names are Rust identifiers (Unicode ones
too); a raw identifier ``r#in`` is the name ``in``, as Rust's symbol is.

The descriptor of a function exported with ``#[pyo2::export]`` is parsed the
same way (``exported=True``), with more types: parameters may also be
``&str``, ``&[T]`` and ``&mut [T]``, and ``RET`` may be ``String``,
``Vec<T>``, ``Option<…>`` and ``Result<…, E>``.
"""

from __future__ import annotations

import keyword

from ._errors import SignatureError
from ._types import (
    SCALARS,
    SELF,
    SELF_MUT,
    SELF_REF,
    STR_ARG,
    U8,
    CallbackT,
    IterT,
    OArr,
    OOpt,
    ORec,
    ORet,
    OStr,
    OTup,
    OType,
    OVec,
    Owned,
    Param,
    Ret,
    Rich,
    RType,
    Scalar,
    Signature,
    VecRef,
)

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    import re
    from collections.abc import Sequence

__all__ = ["MAX_DEPTH", "parse_descriptor", "parse_signature", "python_name", "python_parameters"]

#: Deepest nesting of ``PyVec`` a signature (or an inferred value) may have.
MAX_DEPTH = 32

_TOKEN_RE = r"""
    (?P<ws>\s+)
  | (?P<lifetime>'[A-Za-z_][A-Za-z0-9_]*)
  | (?P<ident>(?:r\#)?[^\W\d]\w*)
  | (?P<string>"[^"]*")
  | (?P<number>[0-9]+)
  | (?P<punct>->|::|[&<>(),:;\[\]*{}+=!?.\#@%^|~/-])
    """
_TOKEN: list[re.Pattern[str]] = []  # compiled by the first parse: re is imported then, not with pyo2

_OWNED = {"String", "Vec", "Option", "Result", "Box"}
#: Names that are never a record's.
_NOT_RECORDS = {"PyVec", "PyStr", "pyo2", "str", "Box", "Result", "mut", "fn", "dyn", "impl", "Self", "self"}


class _Tok:
    __slots__ = ("kind", "pos", "text")

    def __init__(self, kind: str, text: str, pos: int) -> None:
        self.kind = kind
        self.text = text
        self.pos = pos


def _tokenize(text: str) -> list[_Tok]:
    if not _TOKEN:
        import re

        _TOKEN.append(re.compile(_TOKEN_RE, re.VERBOSE))
    token = _TOKEN[0]
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = token.match(text, pos)
        if m is None:
            raise _error(text, pos, text[pos], f"unexpected character {text[pos]!r}")
        if m.lastgroup != "ws":
            toks.append(_Tok(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    toks.append(_Tok("end", "", len(text)))
    return toks


def _error(text: str, pos: int, token: str, message: str) -> SignatureError:
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    return SignatureError(message, line, pos - line_start + 1, token)


class _Parser:
    def __init__(self, text: str, exported: bool = False) -> None:
        self.text = text
        #: Parsing the descriptor of an exported function, not a declaration.
        self.exported = exported
        self.toks = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def fail(self, message: str, tok: _Tok | None = None) -> SignatureError:
        tok = tok or self.tok
        found = f"found {tok.text!r}" if tok.kind != "end" else "found the end of the declaration"
        return _error(self.text, tok.pos, tok.text, f"{message}, {found}")

    def accept(self, text: str) -> bool:
        if self.tok.text == text and self.tok.kind != "string":
            self.i += 1
            return True
        return False

    def expect(self, text: str, what: str | None = None) -> None:
        if not self.accept(text):
            raise self.fail(f"expected {what or repr(text)}")

    def ident(self, what: str) -> str:
        """A name: a Rust identifier, without the ``r#`` of a raw one."""
        tok = self.tok
        if tok.kind != "ident":
            raise self.fail(f"expected {what}")
        name = tok.text[2:] if tok.text.startswith("r#") else tok.text
        # The token is any run of word characters; Rust (like Python) takes
        # only XID_Start XID_Continue*, which isidentifier() checks.
        if not name.isidentifier():
            raise self.fail(f"expected {what}: a letter or '_', then letters, digits or '_'")
        self.i += 1
        return name

    def signature(self) -> Signature:
        self.accept("pub")
        self.accept("unsafe")
        if self.accept("extern") and self.tok.kind == "string":
            if self.tok.text != '"C"':
                raise self.fail('only extern "C" functions can be called')
            self.i += 1
        self.expect("fn", "'fn'")
        name = self.ident("the function name")
        if self.tok.text == "<":
            raise self.fail("generic functions have no C symbol; expected '('")
        self.expect("(")
        params: list[tuple[str, Param]] = []
        seen: set[str] = set()
        while not self.accept(")"):
            if self.exported and not params and self._receiver():
                self.i += 1
                params.append(("self", SELF_MUT if self.accept("mut") else SELF_REF))
                self.i += 1
                seen.add("self")
                if not self.accept(","):
                    self.expect(")", "',' or ')'")
                    break
                continue
            self.accept("mut")
            name_tok = self.tok
            pname = self.ident("a parameter name or ')'")
            if pname in seen:
                raise self.fail(
                    f"parameter {pname!r} of fn {name} appears twice; give each parameter its own name",
                    name_tok,
                )
            seen.add(pname)
            self.expect(":")
            params.append((pname, self.type(1)))
            if not self.accept(","):
                self.expect(")", "',' or ')'")
                break
        ret: Scalar | Ret | None = Ret(None) if self.exported else None
        if self.accept("->"):
            ret = self.exported_ret() if self.exported else self.ret()
        self.accept(";")
        if self.tok.kind != "end":
            raise self.fail("expected the end of the declaration")
        return Signature(name, tuple(params), ret)

    def _receiver(self) -> bool:
        """At ``&self`` or ``&mut self`` (a method's first parameter)."""
        ahead = [t.text for t in self.toks[self.i : self.i + 3]]
        return ahead[:2] == ["&", "self"] or ahead == ["&", "mut", "self"]

    def callback(self, stored: bool) -> CallbackT:
        """``dyn Fn(A, …) -> R`` (``stored``) or ``dyn FnMut(A, …) -> R``,
        after the ``&mut`` / ``Callback<``."""
        self.expect("dyn", "'dyn'")
        self.expect("Fn" if stored else "FnMut", "'Fn'" if stored else "'FnMut'")
        self.expect("(")
        args: list[Scalar | VecRef] = []
        while not self.accept(")"):
            if self.accept("&"):
                self.expect("str", "str (a callback takes scalars, bool and &str)")
                args.append(STR_ARG)
            elif self.tok.kind == "ident" and self.tok.text in SCALARS:
                args.append(SCALARS[self.tok.text])
                self.i += 1
            else:
                raise self.fail("expected a callback argument type: a scalar, bool or &str")
            if not self.accept(","):
                self.expect(")", "',' or ')'")
                break
        ret: Scalar | None = None
        if self.accept("->"):
            if self.accept("("):
                self.expect(")", "')'")
            elif self.tok.kind == "ident" and self.tok.text in SCALARS:
                ret = SCALARS[self.tok.text]
                self.i += 1
            else:
                raise self.fail("expected a callback return type: a scalar, bool or ()")
        if stored:
            while self.accept("+"):
                self.ident("a marker trait")
        return CallbackT(stored, tuple(args), ret)

    def ret(self) -> Scalar | None:
        if self.accept("("):
            self.expect(")", "')' (only () and scalars can be returned)")
            return None
        tok = self.tok
        if tok.text in SCALARS:
            self.i += 1
            return SCALARS[tok.text]
        if tok.text in _OWNED:
            raise self.fail(
                "owned returns (String, Vec, Option, Result) need #[pyo2::export]; "
                "a declared function returns a scalar, bool or ()"
            )
        raise self.fail("expected a return type: a scalar, bool or ()")

    def exported_ret(self) -> Ret:
        if not self.accept("Result"):
            return self.option_or_plain()
        self.expect("<")
        ok = self.option_or_plain()
        self.expect(",", "',' and the error type")
        start = self.tok
        depth = 0
        while not (self.tok.text == ">" and depth == 0):
            if self.tok.kind == "end":
                raise self.fail("expected '>' to close Result<")
            depth += {"<": 1, ">": -1}.get(self.tok.text, 0)
            self.i += 1
        error = self.text[start.pos : self.tok.pos].strip()
        if not error:
            raise self.fail("expected the error type of Result<_, E>")
        self.i += 1
        return Ret(ok.value, ok.optional, error)

    def option_or_plain(self) -> Ret:
        if not self.accept("Option"):
            return Ret(self.plain())
        self.expect("<")
        value = self.plain()
        self.expect(">", "'>'")
        return Ret(value, optional=True)

    def plain(self) -> Scalar | Owned | ORet | IterT | None:
        tok = self.tok
        if tok.text == "(" and self.toks[self.i + 1].text == ")":
            self.i += 2
            return None
        if self.exported and tok.text == "Self":
            self.i += 1
            return SELF
        if self.exported and tok.text == "Iter" and self.toks[self.i + 1].text == "<":
            self.i += 2
            item = self.plain()
            if item is None or isinstance(item, IterT):
                raise self.fail("an Iter's item is a type a function returns (not (), Option or Result)")
            self.expect(">", "'>'")
            return IterT(item)
        if tok.text in SCALARS:
            self.i += 1
            return SCALARS[tok.text]
        if self._is_record() or tok.text in ("(", "["):
            return ORet(self.otype(1))
        if tok.text in ("String", "Vec"):
            t = self.otype(1)
            if isinstance(t, OStr):
                return Owned(U8, text=True)
            assert isinstance(t, OVec)
            return Owned(t.elem) if isinstance(t.elem, Scalar) else ORet(t)
        raise self.fail(
            "expected a return type: a scalar, bool, (), String, Vec<T>, a tuple, a record, "
            "Option<T> or Result<T, E>"
        )

    def otype(self, depth: int) -> OType:
        """An owned type (see ``pyo2::abi``: scalars, String, Vec, Option, arrays, tuples, records)."""
        if depth > MAX_DEPTH:
            raise self.fail(f"types nested deeper than {MAX_DEPTH} levels")
        tok = self.tok
        if tok.kind == "ident" and tok.text in SCALARS:
            self.i += 1
            return SCALARS[tok.text]
        if self.accept("String"):
            return OStr()
        if tok.text in ("Vec", "Option"):
            self.i += 1
            self.expect("<")
            inner = self.otype(depth + 1)
            self.expect(">", "'>'")
            return OVec(inner) if tok.text == "Vec" else OOpt(inner)
        if self.accept("("):
            items = [self.otype(depth + 1)]
            while self.accept(","):
                if self.tok.text == ")":
                    break
                items.append(self.otype(depth + 1))
            self.expect(")", "',' or ')'")
            if not 2 <= len(items) <= 8:
                raise self.fail("a tuple crosses with 2 to 8 items")
            return OTup(tuple(items))
        if self.accept("["):
            elem = self.otype(depth + 1)
            self.expect(";", "';'")
            number = self.tok
            if number.kind != "number" or int(number.text) > 1 << 24:
                raise self.fail("expected the length of [T; N]")
            self.i += 1
            self.expect("]", "']'")
            if not isinstance(elem, (Scalar, ORec)):
                raise self.fail("an array's element is a scalar or a plain record", number)
            return OArr(elem, int(number.text))
        if tok.kind == "ident" and tok.text not in _OWNED and tok.text not in _NOT_RECORDS:
            return ORec(self.ident("a record name"))
        raise self.fail(
            "expected an owned type (a scalar, String, Vec<T>, Option<T>, a tuple, an array or a record)"
        )

    def _is_record(self) -> bool:
        tok = self.tok
        return (
            tok.kind == "ident"
            and tok.text not in SCALARS
            and tok.text not in _OWNED
            and tok.text not in _NOT_RECORDS
        )

    def inner(self, depth: int, in_slice: bool = False) -> RType:
        """A type inside a view (never a :class:`Rich` one)."""
        t = self.type(depth, in_slice)
        assert not isinstance(t, (Rich, CallbackT))
        return t

    def type(self, depth: int, in_slice: bool = False) -> Param:
        tok = self.tok
        if tok.text == "&" and depth > MAX_DEPTH:
            raise self.fail(f"PyVec nested deeper than {MAX_DEPTH} levels")
        if tok.kind == "ident" and tok.text in SCALARS:
            self.i += 1
            return SCALARS[tok.text]
        top = self.exported and depth == 1
        if top and tok.text in ("Callback", "pyo2") and self.toks[self.i + 1].text in ("<", "::"):
            if self.accept("pyo2"):
                self.expect("::")
            self.expect("Callback", "Callback")
            self.expect("<")
            callback = self.callback(stored=True)
            self.expect(">", "'>'")
            return callback
        if top and tok.text == "Option" and self.toks[self.i + 2].text == "&":
            self.i += 2
            view = self.inner(1)
            self.expect(">", "'>'")
            if isinstance(view, Rich):
                raise self.fail("Option<&T> takes &str or &[T] (T a scalar or a view)")
            return Rich("optref", view=view)
        if top and (tok.text in ("String", "Vec", "Option", "(", "[") or self._is_record()):
            return Rich("own", self.otype(1))
        if not self.accept("&"):
            if tok.text in ("PyVec", "PyStr", "pyo2"):
                raise self.fail(f"a {tok.text} crosses by reference: expected '&' or '&mut'")
            if tok.text == "*":
                raise self.fail("raw pointers are not supported; use &PyVec<T>")
            if tok.text in _OWNED or tok.text == "str":
                raise self.fail(f"{tok.text} is not FFI-safe as a parameter; use &PyStr or &PyVec<T>")
            raise self.fail("expected a type (a scalar, &PyStr, &PyVec<T> or &mut PyVec<T>)")
        if self.tok.kind == "lifetime":
            if self.tok.text == "'static":
                raise self.fail("a parameter can't borrow for 'static: Python lends memory for one call")
            self.i += 1
        mutable = self.accept("mut")
        if top and mutable and self.tok.text == "dyn":
            return self.callback(stored=False)
        sugar = self.exported and (depth == 1 or (in_slice and not mutable))
        if top and self._is_record():
            return Rich("mut" if mutable else "ref", ORec(self.ident("a record name")))
        if self.tok.text == "str":
            if sugar and not mutable:
                self.i += 1
                return VecRef(U8, mutable=False, utf8=True)
            if depth > 1:
                raise self.fail("&str can't be a PyVec element (a fat pointer); use &PyStr")
            raise self.fail(
                "&str is a fat pointer, not FFI-safe; use &PyStr (or #[pyo2::export] the function)"
            )
        if self.tok.text == "[":
            if sugar:
                self.i += 1
                if top and self._is_record():
                    name = self.ident("a record name")
                    self.expect("]", "']'")
                    return Rich("mslice" if mutable else "slice", ORec(name))
                elem = self.inner(depth + 1, in_slice=depth == 1 and not mutable)
                self.expect("]", "']'")
                return VecRef(elem, mutable, slice=True)
            if depth > 1:
                raise self.fail("a slice can't be a PyVec element (a fat pointer); use &PyVec<T>")
            raise self.fail(
                "slices are fat pointers, not FFI-safe; use &PyVec<T> or &mut PyVec<T> "
                "(or #[pyo2::export] the function)"
            )
        if self.accept("pyo2"):
            self.expect("::")
        tok = self.tok
        if self.accept("PyStr"):
            return VecRef(U8, mutable)
        if not self.accept("PyVec"):
            raise self.fail("expected PyVec or PyStr after '&'", tok)
        self.expect("<")
        if top and self._is_record():
            name = self.ident("a record name")
            self.expect(">", "'>'")
            return Rich("mslice" if mutable else "slice", ORec(name), pyvec=True)
        elem = self.inner(depth + 1)
        self.expect(">", "'>'")
        return VecRef(elem, mutable)


def python_name(name: str) -> bool:
    """Whether Python source can spell the Rust name ``name`` as it is.

    Not: a Python keyword (``in``, ``lambda``, ``None``), ``__debug__`` (it
    can't be assigned, so not a parameter or a function name), a name starting
    with ``_pyo2`` (the generated code's own names), or a name that Python's
    NFKC normalisation of identifiers would change (``ﬁ`` is read as ``fi``).
    Soft keywords (``match``, ``type``, ``_``) are fine.
    """
    if not name.isidentifier() or keyword.iskeyword(name) or name == "__debug__" or name.startswith("_pyo2"):
        return False
    if name.isascii():
        return True
    import unicodedata  # only for non-ASCII names

    return unicodedata.normalize("NFKC", name) == name


def python_parameters(names: Sequence[str]) -> tuple[list[str], int]:
    """Python parameter names for the Rust ones, and how many of them are positional-only.

    A Rust name Python can spell (see :func:`python_name`) is kept; any
    other gets ``arg{i}`` (plus ``_`` until it is unique) and makes it and
    every parameter before it positional-only. The generated function takes
    keyword arguments by the Rust names all the same (``**{"in": 1}``); this
    is what ``inspect.signature`` and the type stubs show.
    """
    keep = [python_name(n) and names.count(n) == 1 for n in names]
    taken = {n for n, k in zip(names, keep) if k}
    out: list[str] = []
    for i, (rust, kept) in enumerate(zip(names, keep)):
        name = rust
        if not kept:
            name = f"arg{i}"
            while name in taken:
                name += "_"
            taken.add(name)
        out.append(name)
    positional = max((i + 1 for i, kept in enumerate(keep) if not kept), default=0)
    return out, positional


def parse_descriptor(text: str) -> Signature:
    """Parse the signature line of an exported function's descriptor.

    The text comes from the library: anything that isn't a signature of
    identifiers and known types is refused here, before any name of it can
    reach generated code.
    """
    try:
        return _Parser(text, exported=True).signature()
    except SignatureError as e:
        import re

        found = re.match(r"\s*fn\s+([^\s(]+)", text)
        name = f"fn {found.group(1)!r}" if found else "a function"
        raise SignatureError(
            f"the #[pyo2::export] descriptor of {name} does not parse: {e.reason} "
            "(build the library with the pyo2 crate of this version, or fix a hand-written descriptor)",
            e.text,
            e.column,
            e.token,
        ) from None


def parse_signature(text: str) -> Signature:
    """Parse one Rust function declaration.

    >>> print(parse_signature("fn scale(v: &mut PyVec<f64>, k: f64) -> f64"))
    fn scale(v: &mut PyVec<f64>, k: f64) -> f64

    Raises :class:`pyo2.SignatureError` pointing at the bad token.

    .. versionadded:: 0.2
    """
    if not isinstance(text, str):
        raise TypeError(f"a declaration is a str, got {type(text).__name__}")
    return _Parser(text).signature()
