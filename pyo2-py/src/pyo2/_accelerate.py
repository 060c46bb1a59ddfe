"""The optional compiled accelerator: when and how a function uses it.

``pyo2._accel`` is a small extension module (Rust, PyO3, the stable ABI of
CPython 3.10+), built with the package when cargo is there. Its
``Function`` calls an exported function through the function's uniform
entry point, ``__pyo2_call__NAME`` (see ``pyo2::abi``), converting exact
``int``/``float``/``bool``/``str``/``bytes``/``list`` arguments in Rust.
Anything it does not take exactly (a subclass, a wrong type, an
out-of-range int, a wrong number of arguments, an unknown keyword…) goes to
the pure-Python function with the original arguments, so every error is the
pure path's. Errors after the call (``Err``, a panic, a refused argument)
are built by :func:`_failure` with :func:`pyo2._abi.outcome`, as the pure
path builds them.

The GIL is released while Rust runs when a call passes a list or a text,
or when the library marks the function ``release_gil``
(``#[pyo2::export(release_gil)]``, ``#[release_gil]`` on a method): it
then exports the data symbol ``__pyo2_release_gil__SYMBOL`` (see
``pyo2::abi``, "Releasing the GIL"; :func:`release_gil_marked`).

:func:`accelerate` is called by :func:`pyo2._function.make_function`; it
returns ``None`` (keep the pure function) unless

- ``pyo2._accel`` imports (CPython 3.10 or later; not PyPy),
- ``PYO2_PURE`` is not ``1`` (read when this module is imported),
- the library exports ``__pyo2_call__NAME``, and
- the signature has a :func:`plan`.

Imports point down: :mod:`pyo2._function` uses this module; it uses
:mod:`pyo2._abi`, :mod:`pyo2._errors` and :mod:`pyo2._types`.
"""

from __future__ import annotations

import ctypes
import os
import sys

from . import _abi
from ._errors import RustError
from ._types import U8, Handle, Owned, Ret, Scalar, Signature, VecRef

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = [
    "ENTRY_PREFIX",
    "RELEASE_GIL_PREFIX",
    "accelerate",
    "available",
    "entry_address",
    "plan",
    "release_gil_marked",
]

#: Prefix of an exported function's uniform entry point.
ENTRY_PREFIX = "__pyo2_call__"
#: Prefix of the marker of a function or method exported with ``release_gil``.
RELEASE_GIL_PREFIX = "__pyo2_release_gil__"

#: The accelerator module, or ``None`` (not built, not CPython 3.10+, or ``PYO2_PURE=1``).
_accel: Any = None
if (
    os.environ.get("PYO2_PURE") != "1"
    and sys.implementation.name == "cpython"
    and sys.version_info >= (3, 10)
):
    try:
        from . import _accel
    except ImportError:  # not built: the pure-Python package
        _accel = None


def available() -> bool:
    """Whether functions are accelerated in this process."""
    return _accel is not None


def plan(sig: Signature, max_params: int = 16) -> tuple[list[str], str] | None:
    """The accelerator's plan for ``sig``: a code per parameter and one for the
    return, or ``None`` when it has no plan for some parameter or the return.

    Parameters: a scalar's name (``i64``, ``f32``, ``bool``…); ``str`` for
    ``&str``; ``text`` for ``&PyStr`` / ``&[u8]`` (a ``str`` or ``bytes``);
    ``ref:T`` / ``mut:T`` for ``&[T]`` / ``&PyVec<T>`` and their ``&mut``
    (a ``list`` of ``T``); at most ``max_params`` of them. Returns: ``()``, a scalar's name, ``String``,
    ``bytes`` (``Vec<u8>``) or ``vec:T``, in ``Option`` or ``Result`` or not.
    """
    ret = sig.ret
    if not isinstance(ret, Ret):
        return None  # a declared (or plain extern "C") function: ctypes calls it
    params: list[str] = []
    for _, t in sig.params:
        if isinstance(t, Scalar):
            params.append(t.name)
        elif isinstance(t, VecRef) and isinstance(t.elem, Scalar):
            if t.utf8:
                params.append("str")
            elif t.elem is U8 and not t.mutable:
                params.append("text")
            else:
                params.append(("mut:" if t.mutable else "ref:") + t.elem.name)
        else:
            return None
    value = ret.value
    if value is None:
        code = "()"
    elif isinstance(value, Scalar):
        code = value.name
    elif isinstance(value, Owned):
        code = "String" if value.text else "bytes" if value.elem is U8 else "vec:" + value.elem.name
    else:
        return None
    if len(params) > max_params:
        return None
    return params, code


def entry_address(dll: Any, name: str, typed: int | None = None) -> int | None:
    """The address of ``name``'s uniform entry point in ``dll``, or ``None``.

    Only the library's own symbol counts (its loader refuses a dependency's);
    with ``typed``, only when the library's symbol ``name`` is at that
    address (the function being made is that symbol).
    """
    cdll = _cdll(dll)
    if cdll is None:
        return None
    try:
        pointer = cdll[ENTRY_PREFIX + name]
        if typed is not None and ctypes.cast(cdll[name], ctypes.c_void_p).value != typed:
            return None
    except AttributeError:  # none (an older library), or a dependency's
        return None
    address = ctypes.cast(pointer, ctypes.c_void_p).value
    return address or None


def release_gil_marked(dll: Any, symbol: str) -> bool:
    """Whether the library marks the function or method ``symbol`` (its C
    symbol) ``release_gil``: it exports ``__pyo2_release_gil__SYMBOL``
    itself (a dependency's doesn't count). A library built before the
    marker existed has none: its functions follow the parameter rule.
    """
    cdll = _cdll(dll)
    if cdll is None:
        return False
    try:
        cdll[RELEASE_GIL_PREFIX + symbol]  # its address only: the marker is data, never called
    except AttributeError:  # none, or a dependency's
        return False
    return True


def _cdll(dll: Any) -> Any:
    """The library's own symbols (``pyo2._dll._Library``) of a RustDLL, or None."""
    state = getattr(dll, "__dict__", {}).get(" pyo2")  # pyo2._dll's state of a RustDLL
    return getattr(state, "cdll", None)


def _failure(name: str, ret: Ret) -> Callable[[int, int], tuple[BaseException, bool]]:
    """What the accelerator calls after a status other than OK or NONE: the
    exception the pure path raises for it (the slot's message freed), and
    whether the lists Rust wrote are written back first (after ``Err`` and a
    refused argument, not after a panic)."""

    def failure(status: int, address: int) -> tuple[BaseException, bool]:
        slot = _abi.CSlot.from_address(address)
        try:
            _abi.outcome(name, status, ret, slot)
        except (RustError, ValueError) as e:
            return e, True
        except BaseException as e:  # handed to the accelerator, which raises it
            return e, False
        return RuntimeError(f"{name}(): status {status} carried no error"), False  # pragma: no cover

    return failure


def _repr(module: str, sig: Signature, owner: str = "", method: bool = False) -> str:
    """``<pyo2 function lib::f(…) -> R>``; ``owner``: the class of a method (``method``) or static."""
    library = str(module).rpartition(".")[2]
    what = "method" if method else "function"
    return f"<pyo2 {what} {library}::{owner + '.' if owner else ''}{str(sig)[3:]}>"


def accelerate(
    dll: Any,
    sig: Signature,
    pure: Any,
    names: list[str] | None,
    *,
    module: Any = None,
    address: int | None = None,
    method: tuple[type | None, str, str] | None = None,
) -> Any:
    """The accelerated function for ``sig`` (falling back to ``pure``, whose
    attributes it takes, ``__wrapped__`` being ``pure``), or ``None`` to keep ``pure``.

    ``names``: the parameter names keywords bind to (``None``: keyword calls
    go to ``pure``). The GIL is released while Rust runs when a list or a
    text is passed or the library marks the function ``release_gil``
    (:func:`release_gil_marked`), and kept for other scalar-only calls
    (releasing it costs more than such a call) until the process first
    hands Rust a Python callable (:mod:`pyo2._callbacks` then calls
    ``_accel.release_gil_always()``: a Rust thread may call it while a
    scalar call waits for that thread).

    ``module``: the accelerator module (by default the one this process
    uses, none with ``PYO2_PURE=1``; the tests pass it). ``address``: the
    typed symbol's, which must be the library's symbol ``sig.name``.

    ``method``: ``(cls, symbol, label)`` for a method of the class ``cls``
    (``pyo2._objects``): its first parameter is ``self``, an instance of
    exactly ``cls`` whose handle the accelerator passes (any other ``self``
    goes to ``pure``); the entry point is ``symbol``'s, messages name
    ``label``. The result is a ``Method``, which binds as a Python function.
    With ``cls`` ``None`` (a constructor or a static method: no ``self``),
    only the entry point and the label are ``symbol`` and ``label``.
    """
    if module is None:
        module = _accel
    if module is None:
        return None
    planned = plan(sig, module.MAX_PARAMS)
    if planned is None:
        return None
    symbol, label = (sig.name, sig.name) if method is None else (method[1], method[2])
    entry = entry_address(dll, symbol, address)
    if entry is None:
        return None
    params, ret = planned
    cls = None if method is None else method[0]
    if cls is not None:
        if not sig.params or not isinstance(sig.params[0][1], Handle):
            return None
        params[0] = "self"
    assert isinstance(sig.ret, Ret)
    attrs = dict(pure.__dict__)
    for key in ("__name__", "__qualname__", "__module__", "__doc__"):
        attrs[key] = getattr(pure, key)
    attrs["__wrapped__"] = pure
    release = any(not isinstance(t, Scalar) for _, t in sig.params) or release_gil_marked(dll, symbol)
    return (module.Function if cls is None else module.Method)(
        entry,
        params,
        ret,
        names,
        pure,
        _failure(label, sig.ret),
        release,
        label,
        _repr(pure.__module__, sig, "" if method is None else label.rpartition(".")[0], cls is not None),
        attrs,
        cls,
    )
