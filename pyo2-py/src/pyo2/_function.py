"""The Python function that calls one Rust function: binding and introspection.

:func:`make_function` builds it once per function, from the signature:

- with one (exported or declared), the function :mod:`pyo2._codegen`
  generates for it, calling through :mod:`pyo2._runtime`;
- without, a function whose calls infer a signature from their values
  (:mod:`pyo2._inference`).

When the compiled accelerator is built and the library has the function's
uniform entry point, the function returned is a ``pyo2._accel.Function``
that falls back to that Python function (see :mod:`pyo2._accelerate`).

Either way it is a plain Python function (calls cost no more than that) that
introspects as the Rust function: ``__name__`` / ``__qualname__`` are the
Rust name, ``__module__`` names the library (``pyo2.lib.mylib`` for
``libmylib.so``), ``inspect.signature`` shows the Rust parameter names and
the Python types each accepts (the annotations of ``python -m pyo2
stubgen``, from :mod:`pyo2._stubgen`), ``__doc__`` is the Rust signature and
doc comment, and ``c_function`` is the raw ctypes function (see
:class:`pyo2.RustFunction`).

Loading a function doesn't import :mod:`inspect` (with ``ast``, ``dis``…,
about 5 ms of import time). When ``inspect`` is already loaded, the
function's ``__signature__`` is that signature, as is a class member's
(:mod:`pyo2._objects` reads it). Otherwise the function has no
``__signature__`` but a ``__wrapped__``: a stand-in function with just those
parameters and annotations (:func:`_stand_in`), from which
``inspect.signature`` (and so ``help``) makes the same signature, and whose
code has the function's file and first line, so ``inspect.getsource`` still
finds the generated source.

Imports point down: :mod:`pyo2._dll` uses this module; it uses
:mod:`pyo2._inference`, :mod:`pyo2._codegen`, :mod:`pyo2._runtime`,
:mod:`pyo2._stubgen`, :mod:`pyo2._signature` and :mod:`pyo2._types`.
"""

from __future__ import annotations

import os
import sys

from ._accelerate import accelerate
from ._codegen import generate
from ._inference import call as inferred_call
from ._runtime import State
from ._signature import python_parameters
from ._types import Ret, Scalar, Signature

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["make_function"]


def make_function(dll: Any, name: str, address: int, sig: Signature | None) -> Any:
    """The Python function for the Rust function ``name`` at ``address`` of ``dll``
    (a :class:`pyo2.RustDLL`)."""
    state = State(name, address, sig)
    if sig is None:

        def function(*args: Any, **kwargs: Any) -> None:
            return inferred_call(state, args, kwargs)

        doc = f"fn {name}(...): the signature is inferred from the values of each call."
    else:
        function = generate(state, sig)
        doc = str(sig) + (f"\n\n{sig.doc}" if sig.doc else "")
    function.__name__ = function.__qualname__ = name
    function.__module__ = f"pyo2.lib.{_library_name(_library_path(dll))}"
    function.__doc__ = doc
    attributes = function.__dict__
    if "inspect" in sys.modules or "." in name:  # a class's member is named `Class.member`
        attributes["__signature__"] = _signature(sig)
    else:
        attributes["__wrapped__"] = _stand_in(function, sig)
    attributes["dll"] = dll
    attributes["name"] = name
    attributes["signature"] = sig
    attributes["doc"] = sig.doc if sig is not None else ""
    attributes["c_function"] = state.c
    if sig is not None:  # the compiled accelerator, when built and the library has the entry
        names = [n for n, _ in sig.params]
        unique = names if len(set(names)) == len(names) else None
        fast = accelerate(dll, sig, function, unique, address=address)
        if fast is not None:
            return fast
    return function


def _library_path(dll: Any) -> str:
    """The path ``dll`` was loaded from: ``RustDLL.path`` read through the class,
    as :func:`pyo2.library_path` does (an instance's ``path`` may be a library
    function of that name)."""
    fget = getattr(getattr(type(dll), "path", None), "fget", None)
    path = fget(dll) if fget is not None else None
    return path if isinstance(path, str) else ""


def _library_name(path: str) -> str:
    """The library's name as a module name: ``target/release/libmy_lib.so`` → ``my_lib``.

    The file name up to its first dot, without the ``lib`` cargo prefixes on
    Unix; anything that can't be in an identifier becomes ``_``.
    """
    name = os.path.basename(path).partition(".")[0]
    if name.startswith("lib") and len(name) > 3 and sys.platform != "win32":
        name = name[3:]
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return name if name.isidentifier() else f"_{name}"


# ---------------------------------------------------------------------------
# __signature__: the Rust parameters with the Python types they accept.

#: Annotations by their stub text: each is evaluated once.
_ANNOTATIONS: dict[Any, Any] = {}


def _signature(sig: Signature | None) -> Any:
    """The ``inspect.Signature`` of the function for ``sig`` (``inspect`` is
    imported here, not with pyo2)."""
    import inspect

    if sig is None:
        args = inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL, annotation=_annotation("Any"))
        return inspect.Signature([args], return_annotation=None)
    shown, positional = python_parameters([n for n, _ in sig.params])
    annotations, ret = _annotations(sig)
    params = [
        inspect.Parameter(
            p,
            inspect.Parameter.POSITIONAL_ONLY if i < positional else inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=annotation,
        )
        for i, (p, annotation) in enumerate(zip(shown, annotations))
    ]
    return inspect.Signature(params, return_annotation=ret)


def _shown() -> None:
    """The code of every stand-in (:func:`_stand_in`), with its parameters."""
    raise TypeError("this function only shows a pyo2 function's signature (for inspect): call that function")


def _stand_in(function: Any, sig: Signature | None) -> Any:
    """A function whose parameters and annotations are those of the
    ``inspect.Signature`` for ``sig`` (:func:`_signature`), made without
    importing :mod:`inspect`: ``inspect.signature(function)`` follows
    ``function.__wrapped__`` to it and makes the same signature from it.

    Its code is :func:`_shown`'s with those parameters, and with the file
    and first line of ``function``'s (the generated source, whose lines
    :func:`inspect.getsource` reads through ``__wrapped__`` too).
    """
    if sig is None:
        names, positional, varargs = ["args"], 0, True
        annotations = {"args": _annotation("Any"), "return": None}
    else:
        names, positional = python_parameters([n for n, _ in sig.params])
        varargs = False
        params, ret = _annotations(sig)
        annotations = {**dict(zip(names, params)), "return": ret}
    code = function.__code__
    shown = _shown.__code__.replace(
        co_argcount=len(names) - varargs,
        co_posonlyargcount=positional,
        co_kwonlyargcount=0,
        co_nlocals=len(names),
        co_varnames=tuple(names),
        co_flags=_shown.__code__.co_flags | (_CO_VARARGS if varargs else 0),
        co_filename=code.co_filename,
        co_firstlineno=code.co_firstlineno,
        co_name=code.co_name,
    )
    stand_in = _FUNCTION(shown, _shown.__globals__, function.__name__)
    stand_in.__qualname__ = function.__qualname__
    stand_in.__module__ = function.__module__
    stand_in.__doc__ = function.__doc__
    stand_in.__annotations__ = annotations
    return stand_in


#: ``types.FunctionType``.
_FUNCTION: Any = type(_shown)
#: ``inspect.CO_VARARGS``: the code takes ``*args``.
_CO_VARARGS = 0x04

#: The annotation of a plain scalar, by its kind: how the stubs spell it.
_SCALARS: dict[str, type] = {"int": int, "float": float, "bool": bool}


def _annotations(sig: Signature) -> tuple[list[Any], Any]:
    """The annotation of each parameter of ``sig`` and of its return: the
    types of ``python -m pyo2 stubgen``, as objects.

    A function of plain scalars returning one or nothing (in an ``Option``
    or a ``Result`` or not) is annotated here; any other by the stubs' own
    spelling (:class:`pyo2._stubgen._Names`, which imports ``typing``).
    tests/python/test_import_cost.py checks that both agree.
    """
    params = [_SCALARS[t.kind] for _, t in sig.params if type(t) is Scalar]
    ret = sig.ret
    value = ret.value if isinstance(ret, Ret) else ret  # a declared function's: a scalar or None
    if len(params) == len(sig.params) and (value is None or type(value) is Scalar):
        annotation = None if value is None else _SCALARS[value.kind]
        if not (isinstance(ret, Ret) and ret.optional and annotation is not None):
            return params, annotation
        if sys.version_info >= (3, 10):  # (3.9 spells it typing.Optional)
            return params, annotation | None
    from ._stubgen import _Names  # the stubs' spelling of each type, so both agree

    names = _Names(set())
    return (
        [_annotation(names.param(t), names.records) for _, t in sig.params],
        _annotation(names.ret(sig.ret), names.records),
    )


def _annotation(text: str, records: dict[str, Any] | None = None) -> Any:
    """The run-time annotation for a stub's type text (``list[int] | bytearray``);
    ``records``: the record types it names (their classes are the annotation's)."""
    classes = {name: rec.cls for name, rec in (records or {}).items() if name in text}
    key = (text, *(id(c) for c in classes.values())) if classes else text
    annotation = _ANNOTATIONS.get(key)
    if annotation is None and key not in _ANNOTATIONS:
        import array
        import collections.abc
        import types

        from ._stubgen import members

        class Array:  # `array[Any]` in a stub; array.array itself isn't subscriptable
            def __getitem__(self, item: Any) -> Any:
                return types.GenericAlias(array.array, item)

        namespace = {
            **{
                t.__name__: t
                for t in (int, float, bool, str, bytes, bytearray, memoryview, list, tuple, object)
            },
            **classes,
            "array": Array(),
            "Callable": collections.abc.Callable,
            "Iterator": collections.abc.Iterator,
            "None": None,
        }
        if "Any" in text:  # typing only then: it takes milliseconds to import
            import typing

            namespace["Any"] = typing.Any
        # The text is _stubgen's, from the type (never a name from the library).
        try:
            parts = [eval(part, {"__builtins__": {}}, namespace) for part in members(text)]
        except TypeError:  # pragma: no cover - `A | B` inside [] before Python 3.10
            import typing

            parts = [typing.Any]
        if len(parts) == 1:
            annotation = parts[0]
        elif sys.version_info >= (3, 10):
            annotation = parts[0]
            for part in parts[1:]:
                annotation = annotation | part
        else:  # pragma: no cover - Python 3.9
            import typing

            annotation = typing.Union[tuple(parts)]
        _ANNOTATIONS[key] = annotation
    return annotation
