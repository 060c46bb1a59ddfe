"""What runs when a Rust function is called: C functions, the general path, arity errors.

- :func:`prototype` and :func:`holding_gil` give the ctypes function for a
  signature (the latter keeps the GIL, for calls that lend a buffer in place).
- :class:`State` is what one Python function needs at call time.
- :func:`general` / :func:`call` check and marshal every argument with
  :class:`pyo2._marshal.Marshal`, call, and write back; an exported
  function's result goes through :func:`pyo2._abi.settle`, the one post-call
  rule (after a panic nothing is written back; after ``Err`` writes stand).
- :func:`finish` ends an exported call of the generated fast paths
  (:mod:`pyo2._codegen`), by the same rule and the same write-back
  (:func:`pyo2._marshal.write_back_flat`).
- :func:`arity` and :func:`keywords` bind arguments the generated function
  couldn't, and word a wrong call as Python does, plus the Rust signature.

Imports point down: :mod:`pyo2._codegen`, :mod:`pyo2._inference` and
:mod:`pyo2._function` use this module; it uses :mod:`pyo2._marshal`,
:mod:`pyo2._abi` and :mod:`pyo2._types`.
"""

from __future__ import annotations

import ctypes

from . import _abi
from ._callbacks import forget
from ._marshal import Marshal, write_back_flat
from ._types import CallbackT, Ret, Scalar, Signature

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from array import array
    from typing import Any

__all__ = [
    "FREE_SLOTS",
    "MAX_PROTOTYPES",
    "MISSING",
    "PROTOTYPES",
    "State",
    "arity",
    "bind",
    "call",
    "finish",
    "general",
    "holding_gil",
    "keywords",
    "new_slot",
    "prototype",
]

# On 64-bit platforms an 8-byte integer is passed as a c_void_p: the same
# register or stack slot as an int64_t in every 64-bit C ABI, and ctypes
# converts an int to c_void_p about twice as fast as to c_int64. The value is
# range-checked before (the ctype itself would accept [-2**63, 2**64)).
_INT64_AS_POINTER = ctypes.sizeof(ctypes.c_void_p) == 8

#: One ctypes prototype per distinct C signature, shared by every library.
#: Inferred calls need one per arity and mix of C types, so the cache is
#: cleared when full (a function keeps its prototype alive on its own).
PROTOTYPES: dict[tuple[Any, ...], Any] = {}
MAX_PROTOTYPES = 256


def _param_ctype(t: object) -> Any:
    if isinstance(t, Scalar):
        return ctypes.c_void_p if (_INT64_AS_POINTER and t.kind == "int" and t.size == 8) else t.ctype
    return ctypes.c_void_p  # a pointer to a PyVec header


def prototype(sig: Signature | None) -> Any:
    """The ctypes prototype of ``sig``'s C signature.

    An exported function returns a status and takes one more pointer, to its
    result slot (see :mod:`pyo2._abi`). Without a signature: what
    ``ctypes.CDLL`` gives (an ``int`` result, any arguments).
    """
    key: tuple[Any, ...]
    if sig is None:
        key = (ctypes.c_int, None)
    else:
        params = tuple(_param_ctype(t) for _, t in sig.params)
        if isinstance(sig.ret, Ret):
            key = (ctypes.c_int32, *params, ctypes.c_void_p)
        else:
            key = (None if sig.ret is None else sig.ret.ctype, *params)
    proto = PROTOTYPES.get(key)
    if proto is None:
        if len(PROTOTYPES) >= MAX_PROTOTYPES:
            PROTOTYPES.clear()
        proto = PROTOTYPES[key] = _new_prototype(key[0], key[1:])
    return proto


def _new_prototype(restype: Any, argtypes: tuple[Any, ...]) -> Any:
    """``ctypes.CFUNCTYPE(restype, *argtypes)`` without its cache, which never
    forgets a signature (inferred calls can have any number of them).
    ``argtypes`` ``(None,)`` means none set (any arguments).

    Calls through it release the GIL while Rust runs.
    """
    try:  # what ctypes.CFUNCTYPE is built on, in CPython and PyPy alike
        from _ctypes import FUNCFLAG_CDECL as _CDECL
        from _ctypes import CFuncPtr as _CFuncPtr
    except ImportError:  # pragma: no cover - a ctypes without them: its cache it is
        if argtypes == (None,):
            return ctypes.CFUNCTYPE(restype)
        return ctypes.CFUNCTYPE(restype, *argtypes)

    if argtypes == (None,):

        class CFunction(_CFuncPtr):  # what ctypes.CDLL's functions are
            _restype_ = restype
            _flags_ = _CDECL

        return CFunction

    class CFunctionType(_CFuncPtr):  # what CFUNCTYPE makes
        _argtypes_ = argtypes
        _restype_ = restype
        _flags_ = _CDECL

    return CFunctionType


# C functions that keep the GIL while Rust runs, by (address, signature):
# for calls that lend a buffer in place (see Marshal.in_place).
_HELD: dict[tuple[int, Signature], Any] = {}


def holding_gil(address: int, sig: Signature) -> Any:
    """The C function at ``address`` with ``sig``, called without releasing the GIL.

    A buffer lent in place is memory that any Python thread could write while
    Rust holds a ``&[T]`` or ``&mut [T]`` over it; keeping the GIL for the call
    means none can (``ctypes.PYFUNCTYPE`` semantics).
    """
    key = (address, sig)
    function = _HELD.get(key)
    if function is None:
        from _ctypes import FUNCFLAG_CDECL as _CDECL
        from _ctypes import FUNCFLAG_PYTHONAPI as _PYTHONAPI
        from _ctypes import CFuncPtr as _CFuncPtr

        base = prototype(sig)

        class HeldFunctionType(_CFuncPtr):  # what ctypes.PYFUNCTYPE makes
            _argtypes_ = base._argtypes_
            _restype_ = base._restype_
            _flags_ = _CDECL | _PYTHONAPI

        if len(_HELD) >= MAX_PROTOTYPES:
            _HELD.clear()
        function = _HELD[key] = HeldFunctionType(address)
    return function


class State:
    """What one Python function needs at call time."""

    __slots__ = ("address", "c", "copies", "held", "inferred", "name", "shapes", "sig")

    def __init__(self, name: str, address: int, sig: Signature | None) -> None:
        self.name = name
        self.address = address
        self.sig = sig
        #: The C function for the signature (with none: ``ctypes.CDLL``'s kind).
        self.c: Any = prototype(sig)(address)
        #: Inferred signatures seen so far → their C function (see :mod:`pyo2._inference`).
        self.inferred: dict[Signature, Any] = {}
        #: Inferred calls of a simple shape → their generated function.
        self.shapes: dict[tuple[Any, ...], Any] = {}
        #: Whether the signature takes a callback: a call then can't keep the
        #: GIL, and its buffers are lent as private copies (see :func:`call`).
        self.copies = sig is not None and any(isinstance(t, CallbackT) for _, t in sig.params)
        #: :func:`holding_gil` for the signature, once a call needed it.
        self.held: Any = None


# ---------------------------------------------------------------------------
# The general path.


def general(state: State, args: tuple[Any, ...]) -> Any:
    """Call with a signature: check and marshal every argument, then call."""
    sig = state.sig
    assert sig is not None
    return call(state, sig, state.c, args, trusted=True)


def call(state: State, sig: Signature, c: Any, args: tuple[Any, ...], trusted: bool) -> Any:
    """Call ``c`` (of ``sig``) with ``args``: each checked and converted, Rust's writes put back.

    ``trusted``: the signature is the function's own (declared or exported),
    not inferred from these values.
    """
    # A call with a callback releases the GIL (see below): its buffers are lent as private copies.
    own = sig is state.sig
    copies = state.copies if own else any(isinstance(t, CallbackT) for _, t in sig.params)
    marshal = Marshal(state.name, trusted, copies)
    try:
        c_args = [marshal.param(t, value, pname) for (pname, t), value in zip(sig.params, args)]
    except BaseException:
        if marshal.callbacks:  # Rust never received them
            forget(marshal.callbacks, sent=False)
        raise
    ret = sig.ret
    slot = None
    if isinstance(ret, Ret):
        slot = _abi.CSlot()
        c_args.append(ctypes.addressof(slot))
    if not marshal.nodes and not marshal.keep:  # scalars only: nothing to lay out or write back
        result = c(*c_args)
        return result if slot is None else _abi.settle(state.name, result, ret, slot, None)  # type: ignore[arg-type]
    try:
        try:
            marshal.layout()
            laid_out = marshal.c_args(c_args)
        except BaseException:
            # Refused once every argument was converted (a list that changed
            # size): Rust never received the callables, stored ones included.
            # forget() empties the list, so release() forgets none twice.
            if marshal.callbacks:
                forget(marshal.callbacks, sent=False)
            raise
        # With a callback, Python code runs during the call anyway, and a Rust
        # thread calling it needs the GIL: holding it would deadlock.
        if marshal.in_place and not marshal.callbacks:
            # held(): found once per function (the lookup hashes the signature).
            c = held(state) if own else holding_gil(state.address, sig)
        result = c(*laid_out)
        if slot is not None:
            return _abi.settle(state.name, result, ret, slot, marshal.write_back)  # type: ignore[arg-type]
        marshal.write_back()
    finally:
        marshal.release()
    return result


# ---------------------------------------------------------------------------
# The end of the generated fast paths (see pyo2._codegen).

#: Result slots of exported calls not in use: one per call in flight, so calls
#: from several threads (or a finalizer that runs mid-call) never share one.
FREE_SLOTS: list[tuple[_abi.CSlot, int, Any]] = []


def new_slot() -> tuple[_abi.CSlot, int, Any]:
    """A result slot, its address, and a ``char *`` view of its first word
    (an owned buffer's ``ptr``): ``view[:n]`` copies ``n`` bytes Rust handed
    over in one step (see :func:`pyo2._codegen.owned_taker`)."""
    slot = _abi.CSlot()
    return slot, ctypes.addressof(slot), _CHAR_P.from_buffer(slot)


_CHAR_P = ctypes.POINTER(ctypes.c_char)


def held(state: State) -> Any:
    """:func:`holding_gil` for the function's own signature, found once."""
    function = state.held
    if function is None:
        assert state.sig is not None
        function = state.held = holding_gil(state.address, state.sig)
    return function


def finish_records(
    state: State, status: int, slot: tuple[_abi.CSlot, int, Any], lent: tuple[Any, ...]
) -> Any:
    """The end of a fast call with a slice of records (see
    :func:`pyo2._codegen._record_fast_path`): the result, and for a ``&mut``
    list of records (``lent[3]``, a :class:`pyo2._records.RecordBack`) the
    general path's write-back, by :func:`pyo2._abi.settle`'s rule; then the
    slot back to the free list."""
    sig = state.sig
    assert sig is not None and isinstance(sig.ret, Ret)
    back = lent[3]
    try:
        return _abi.settle(state.name, status, sig.ret, slot[0], None if back is None else back.write)
    finally:
        FREE_SLOTS.append(slot)


def finish(
    state: State,
    status: int,
    slot: tuple[_abi.CSlot, int, Any],
    headers: array[int] | None,
    entries: tuple[Any, ...],
) -> Any:
    """The end of a fast exported call, but for a plain scalar result: the
    result and the write-back of ``entries`` by :func:`pyo2._abi.settle`'s
    rule (none without ``headers``), then the slot back to the free list."""
    sig = state.sig
    assert sig is not None and isinstance(sig.ret, Ret)
    back = None if headers is None else (lambda: write_back_flat(state.name, headers, entries))
    try:
        return _abi.settle(state.name, status, sig.ret, slot[0], back)
    finally:
        FREE_SLOTS.append(slot)


# ---------------------------------------------------------------------------
# Binding: what the generated function can't do itself.

#: The default of every parameter of a generated function: "not given".
MISSING: Any = object()


def arity(state: State, args: tuple[Any, ...], extra: tuple[Any, ...]) -> None:
    """Raise the TypeError for a call with too many or too few arguments."""
    sig = state.sig
    assert sig is not None
    given = [a for a in args if a is not MISSING]
    if extra:
        bind(sig, (*given, *extra), {})
    bind(sig, (), {n: a for (n, _), a in zip(sig.params, args) if a is not MISSING})


def keywords(
    state: State, args: tuple[Any, ...], extra: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """The arguments of a call with keywords to a function whose Rust names
    Python can't spell: bound by the Rust names (or their NFKC form, which is
    what Python makes of ``f(ﬁ=1)``), or the TypeError :func:`bind` raises."""
    sig = state.sig
    assert sig is not None
    names = [n for n, _ in sig.params]
    spelled: dict[str, Any] = {}
    for key, value in kwargs.items():
        name = key
        if key not in names:
            import unicodedata

            same = [n for n in names if unicodedata.normalize("NFKC", n) == key]
            if len(same) == 1 and same[0] not in kwargs:
                name = same[0]
        spelled[name] = value
    given = [a for a in args if a is not MISSING]  # positional-only: the ones given come first
    return bind(sig, (*given, *extra), spelled)


def _quoted(names: list[str]) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b', and 'c'``: as Python lists missing arguments."""
    shown = [repr(n) for n in names]
    if len(shown) <= 2:
        return " and ".join(shown)
    return ", ".join(shown[:-1]) + ", and " + shown[-1]


def bind(sig: Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The arguments in parameter order, or the TypeError Python would raise
    (in its words and order of checks) followed by the Rust signature."""
    names = [name for name, _ in sig.params]
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError(f"{sig.name}() got an unexpected keyword argument {key!r} ({sig})")
        if key in bound:
            raise TypeError(f"{sig.name}() got multiple values for argument {key!r} ({sig})")
        bound[key] = value
    if len(args) > len(names):
        n = len(names)
        given = "1 was" if len(args) == 1 else f"{len(args)} were"
        raise TypeError(
            f"{sig.name}() takes {n} positional argument{'s' * (n != 1)} but {given} given ({sig})"
        )
    missing = [name for name in names if name not in bound]
    if missing:
        raise TypeError(
            f"{sig.name}() missing {len(missing)} required positional argument{'s' * (len(missing) != 1)}: "
            f"{_quoted(missing)} ({sig})"
        )
    return tuple(bound[name] for name in names)
