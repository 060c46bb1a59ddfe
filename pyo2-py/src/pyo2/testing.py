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
that is valid UTF-8 for ``&str``, ``str`` or ``bytes`` for ``&PyStr``, and
lists of any of these, nested as the type says.

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

from ._types import U8, RType, Scalar, Signature, VecRef

__all__ = ["arguments", "values"]


def values(t: RType, max_size: int = 20) -> st.SearchStrategy[Any]:
    """Any Python value pyo2 accepts for the Rust type ``t`` (lists up to ``max_size`` items).

    >>> from hypothesis import find
    >>> from pyo2 import parse_signature
    >>> sig = parse_signature("fn f(v: &mut PyVec<u8>)")
    >>> find(values(sig.params[0][1]), lambda v: len(v) >= 3)  # the simplest such list
    [0, 0, 0]
    """
    if isinstance(t, Scalar):
        if t.kind == "bool":
            return st.booleans()
        if t.kind == "float":
            return st.floats(width=32) if t.size == 4 else st.floats()
        assert t.lo is not None and t.hi is not None
        return st.integers(t.lo, t.hi)
    if not isinstance(t, VecRef):
        raise TypeError(f"values(): not a Rust type: {t!r}")
    text = st.text(alphabet=st.characters(codec="utf-8"), max_size=max_size)  # no lone surrogates
    if t.utf8:
        return text
    if t.elem == U8 and not t.mutable:
        return st.one_of(text, st.binary(max_size=max_size))
    return st.lists(values(t.elem, max_size), max_size=max_size)


def arguments(function: Any, max_size: int = 20) -> st.SearchStrategy[tuple[Any, ...]]:
    """Tuples of arguments for ``function`` (a :class:`pyo2.RustFunction` or a
    :class:`pyo2.Signature`), one valid value per parameter.

    Raises ``TypeError`` for a function without a signature: declare it
    first, or export it with ``#[pyo2::export]``.
    """
    sig = function if isinstance(function, Signature) else getattr(function, "signature", None)
    if not isinstance(sig, Signature):
        name = getattr(function, "name", function)
        raise TypeError(
            f"arguments(): {name!r} has no signature to draw from; "
            "declare it with dll.declare(...) or export it with #[pyo2::export]"
        )
    return st.tuples(*(values(t, max_size) for _, t in sig.params))
