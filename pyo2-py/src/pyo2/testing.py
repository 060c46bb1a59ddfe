"""Hypothesis strategies for the values a Rust function's signature accepts.

Property-test a Rust function from Python in three lines::

    from hypothesis import given
    from pyo2.testing import arguments

    @given(arguments(dll.parse))
    def test_parse_never_crashes(args):
        try:
            dll.parse(*args)
        except pyo2.RustError:
            pass  # an Err is fine; a panic (RustPanic) fails the test

:func:`arguments` reads the function's signature (exported with
``#[pyo2::export]`` or declared with :meth:`pyo2.RustDLL.declare`) and draws
one valid Python value per parameter: integers across the whole range of
their Rust type, any ``f32``/``f64`` (NaN and infinities included), text
that is valid UTF-8 for ``&str``, ``str`` or ``bytes`` for ``&PyStr``,
lists of any of these, nested as the type says, records, and, for a
callback parameter, a function returning values of the callback's return
type. Given a ``#[pyo2::class]`` (``dll.types.Tokenizer``), it draws the
arguments of its constructor; given a method (``Tokenizer.encode``), the
arguments after ``self``::

    @given(arguments(dll.types.Tokenizer), arguments(dll.types.Tokenizer.encode))
    def test_encode_never_panics(new_args, encode_args):
        with dll.types.Tokenizer(*new_args) as tok:
            tok.encode(*encode_args)

This module needs Hypothesis (``pip install pyo2[testing]``); ``import
pyo2`` does not. Without it, ``import pyo2.testing`` raises an ``ImportError``
that says what to install.

.. versionadded:: 0.2
"""

from __future__ import annotations

from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as e:  # pragma: no cover - tested in a subprocess
    raise ImportError(
        "pyo2.testing needs Hypothesis: pip install 'pyo2[testing]' (or pip install hypothesis)",
        name=e.name,
    ) from None

from ._types import (
    U8,
    CallbackT,
    Handle,
    OArr,
    OOpt,
    ORec,
    OStr,
    OTup,
    OType,
    OVec,
    Param,
    Rich,
    RType,
    Scalar,
    Signature,
    VecRef,
)

__all__ = ["arguments", "values"]


def values(t: RType | Param | OType, max_size: int = 20, depth: int = 0) -> st.SearchStrategy[Any]:
    """Any Python value pyo2 accepts for the Rust type ``t`` (lists up to ``max_size`` items).

    For a callback type, a function (Hypothesis' :func:`~hypothesis.strategies.functions`)
    that returns values of the callback's return type: call it only during the test
    (Hypothesis refuses calls after it, so don't draw one for a callback Rust keeps
    and calls later).

    >>> from hypothesis import find
    >>> from pyo2 import parse_signature
    >>> sig = parse_signature("fn f(v: &mut PyVec<u8>)")
    >>> find(values(sig.params[0][1]), lambda v: len(v) >= 3)  # the simplest such list
    [0, 0, 0]
    """
    if isinstance(t, CallbackT):
        returns = st.none() if t.ret is None else values(t.ret, max_size)
        return st.functions(like=lambda *args: None, returns=returns)
    if isinstance(t, Scalar):
        if t.kind == "bool":
            return st.booleans()
        if t.kind == "float":
            return st.floats(width=32) if t.size == 4 else st.floats()
        assert t.lo is not None and t.hi is not None
        return st.integers(t.lo, t.hi)
    text = st.text(alphabet=st.characters(codec="utf-8"), max_size=max_size)  # no lone surrogates
    if not isinstance(t, VecRef):
        return _owned(t, max_size, depth, text)
    if t.utf8:
        return text
    if t.elem == U8 and not t.mutable:
        return st.one_of(text, st.binary(max_size=max_size))
    return st.lists(values(t.elem, max_size), max_size=max_size)


def arguments(function: Any, max_size: int = 20) -> st.SearchStrategy[tuple[Any, ...]]:
    """Tuples of arguments for ``function`` (a :class:`pyo2.RustFunction` or a
    :class:`pyo2.Signature`), one valid value per parameter; for a
    ``#[pyo2::class]`` (``dll.types.NAME``), its constructor's; for one of its
    methods, the arguments after ``self``.

    Raises ``TypeError`` for a function without a signature (declare it
    first, or export it with ``#[pyo2::export]``) and for a class without a
    ``#[new]`` constructor.
    """
    if isinstance(function, type):
        init = getattr(getattr(function, "__init__", None), "rust_function", None)
        if init is None:
            raise TypeError(f"arguments(): the class {function.__name__!r} has no #[new] constructor")
        function = init
    function = getattr(function, "rust_function", function)  # a method: its Rust function
    sig = function if isinstance(function, Signature) else getattr(function, "signature", None)
    if not isinstance(sig, Signature):
        name = getattr(function, "name", function)
        raise TypeError(
            f"arguments(): {name!r} has no signature to draw from; "
            "declare it with dll.declare(...) or export it with #[pyo2::export]"
        )
    # `&self` / `&mut self`: the object the method is called on, not an argument.
    return st.tuples(*(values(t, max_size) for _, t in sig.params if not isinstance(t, Handle)))


def _owned(t: Any, max_size: int, depth: int, text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Values of a record, an owned type or a parameter of issue 12's types.

    Records are drawn as instances of their ``dll.types`` class; below a few
    levels of nesting (a record holding itself through ``Vec`` or
    ``Option``), vectors are empty and options ``None``.
    """
    size = max_size if depth < 4 else 0
    if isinstance(t, Rich):
        if t.mode == "optref":
            return st.none() | values(t.view, max_size, depth)
        if t.mode in ("own", "ref", "mut"):
            return values(t.t, max_size, depth)
        return st.lists(values(t.t, max_size, depth + 1), max_size=max_size)
    if isinstance(t, OStr):
        return text
    if isinstance(t, OVec):
        if t.elem == U8:
            return st.binary(max_size=size)
        return st.lists(values(t.elem, max_size, depth + 1), max_size=size)
    if isinstance(t, OOpt):
        inner = values(t.inner, max_size, depth + 1)
        return st.none() if depth >= 4 else st.none() | inner
    if isinstance(t, OArr):
        return st.lists(values(t.elem, max_size, depth + 1), min_size=t.n, max_size=t.n)
    if isinstance(t, OTup):
        return st.tuples(*(values(item, max_size, depth + 1) for item in t.items))
    if isinstance(t, ORec) and t.record is not None:
        rec = t.record
        return st.builds(rec.cls, *(values(f.t, max_size, depth + 1) for f in rec.fields))
    raise TypeError(f"values(): not a Rust type: {t!r}")
