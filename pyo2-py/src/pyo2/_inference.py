"""Calls of a function without a signature: one is inferred from each call's values.

:func:`call` infers nothing it has seen before: a call of a simple shape
(scalars, ``str``, ``bytes``, flat lists, judged by each list's first item)
reuses a function generated for that shape (:mod:`pyo2._codegen`), which
still checks every list item's exact type; anything else, or anything that
shape's function refuses, is inferred in full by :func:`inferred_general`
(:func:`pyo2._marshal.infer`) and called through the general path. Both
caches, of shapes and of inferred signatures, are bounded: a function can be
called with any number of shapes.

Imports point down: :mod:`pyo2._function` uses this module; it uses
:mod:`pyo2._codegen`, :mod:`pyo2._runtime`, :mod:`pyo2._marshal` and
:mod:`pyo2._types`.
"""

from __future__ import annotations

from ._codegen import copied_text, forget, generate, list_converter
from ._convert import Where
from ._marshal import infer
from ._runtime import State, prototype
from ._runtime import call as general_call
from ._types import BOOL, F64, I64, PYSTR, RType, Scalar, Signature, VecRef

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["MAX_INFERRED", "MAX_SHAPES", "call", "inferred_general"]

#: Bounds of each function's caches of inferred calls (:class:`pyo2._runtime.State`).
MAX_SHAPES = 64
MAX_INFERRED = 64

_SHAPE_SCALARS: dict[type, Scalar] = {int: I64, float: F64, bool: BOOL}


def call(state: State, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Call without a signature (the result is unknown: None)."""
    if kwargs:
        raise TypeError(
            f"{state.name}(): got keyword arguments {sorted(kwargs)}, but the function "
            "has no declared signature and so no parameter names (use dll.declare)"
        )
    shape = _shape(args)
    if shape is None:
        return inferred_general(state, args)
    function = state.shapes.get(shape)
    if function is None:
        function = _shape_function(state, shape)
        if len(state.shapes) >= MAX_SHAPES:  # bounded: calls can have any number of shapes
            for evicted in state.shapes.values():
                forget(evicted.__code__.co_filename)
            state.shapes.clear()
        state.shapes[shape] = function
    function(*args)
    return None


def inferred_general(state: State, args: tuple[Any, ...]) -> None:
    """Infer the signature of ``args`` in full, and call through the general path."""
    params = tuple(
        (f"#{i}", infer(value, Where(state.name, f"#{i}", "inferred"))) for i, value in enumerate(args, 1)
    )
    sig = Signature(state.name, params)
    c = state.inferred.get(sig)
    if c is None:
        c = prototype(sig)(state.address)
        if len(state.inferred) >= MAX_INFERRED:  # bounded, as shapes
            state.inferred.clear()
        state.inferred[sig] = c
    general_call(state, sig, c, args, trusted=False)


def _shape(args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """A key for the inferred signature of ``args``, judged by each list's first item;
    None when that is not simple."""
    key: list[Any] = []
    for value in args:
        t = type(value)
        if t is list:
            if not value:
                return None
            first = type(value[0])
            if first not in _SHAPE_SCALARS:
                return None
            key.append((list, first))
        elif t in _SHAPE_SCALARS or t is str or t is bytes:
            key.append(t)
        else:
            return None
    return tuple(key)


def _shape_function(state: State, shape: tuple[Any, ...]) -> Callable[..., Any]:
    """The generated function for inferred calls of one shape.

    Its parameters are those inference would give; its list converters
    require every item to have the first item's exact type, and its text
    converters copy (inference never lends an immutable object). Anything
    else goes to :func:`inferred_general`.
    """
    params: list[tuple[str, RType]] = []
    converters: dict[str, Any] = {}
    for i, part in enumerate(shape):
        if isinstance(part, tuple):
            elem = _SHAPE_SCALARS[part[1]]
            t: RType = VecRef(elem, mutable=True)
            converters[f"_pyo2_in{i}"] = list_converter(elem, exact=part[1], keep=True)
            converters[f"_pyo2_e{i}"] = elem
        elif part is str or part is bytes:
            t = PYSTR
            converters[f"_pyo2_in{i}"] = copied_text
        else:
            t = _SHAPE_SCALARS[part]
        params.append((f"a{i}", t))
    sig = Signature(state.name, tuple(params))
    sub = State(state.name, state.address, sig)
    return generate(sub, sig, general=lambda _, args: inferred_general(state, args), converters=converters)
