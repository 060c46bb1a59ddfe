"""Generating the Python function for a signature (as :mod:`dataclasses` generates ``__init__``).

:func:`generate` compiles one function per signature, with the Rust
parameter names, so Python binds positional and keyword arguments itself. A
name Python can't spell as it is (``in``, ``__debug__``, one NFKC changes)
never reaches the source: the parameters are then positional-only, and
keyword arguments by the Rust names are bound by
:func:`pyo2._runtime.keywords`.

- When every parameter is a scalar, the fast path checks each argument's
  exact type and range and calls ctypes directly; any argument that doesn't
  clear that (another type, a subclass, out of range, NaN for f32…) goes to
  the general path (:func:`pyo2._runtime.general`), which raises the precise
  error. Both paths accept and refuse exactly the same values, with the same
  results (a differential test pins this).
- When every parameter is a scalar or a view of scalars, each exact ``list``
  (or ``str`` / ``bytes`` for a ``&PyStr``) is packed at C speed and written
  back by :func:`pyo2._marshal.write_back_flat`; lists of lists, buffers and
  anything a converter refuses take the general path.

The source is registered in :mod:`linecache` (as attrs does), so tracebacks,
pdb and ``inspect.getsource`` show the generated lines: one entry per
distinct source of a signature function, and the latest
:data:`MAX_SHAPE_SOURCES` of inferred shapes' functions (whose number has no
bound); :func:`forget` removes one when its cache evicts the function.

Imports point down: :mod:`pyo2._inference` and :mod:`pyo2._function` use this
module; it uses :mod:`pyo2._runtime`, :mod:`pyo2._marshal`,
:mod:`pyo2._convert`, :mod:`pyo2._signature` and :mod:`pyo2._types`.
"""

from __future__ import annotations

import ctypes
import struct
from array import array

from ._abi import _DROP, _DROPS
from ._callbacks import converter as callback_converter
from ._callbacks import forget_fast
from ._convert import text
from ._marshal import WORD, _Retry, lend_bytes, pack, write_back_flat
from ._runtime import (
    FREE_SLOTS,
    MISSING,
    State,
    arity,
    finish,
    finish_records,
    general,
    held,
    keywords,
    new_slot,
)
from ._signature import python_name
from ._types import (
    BOOL,
    HEADER_SIZE,
    U8,
    CallbackT,
    IterT,
    ORec,
    ORet,
    Owned,
    Ret,
    Rich,
    Scalar,
    Signature,
    VecRef,
)

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["MAX_SHAPE_SOURCES", "copied_text", "forget", "generate", "list_converter", "source"]

_F32_MAX = 3.4028234663852886e38


def _condition(t: Scalar, name: str) -> str:
    """A Python expression true only for values the fast path may pass as ``t``.

    Exact types only (``type(x) is int``): a subclass could compare one way
    and convert another. The expressions can't raise. Builtins are reached
    through ``_pyo2_`` names, so a parameter called ``type`` can't shadow them.
    """
    if t.kind == "int":
        return f"_pyo2_type({name}) is _pyo2_int and {t.lo} <= {name} <= {t.hi}"
    if t.kind == "bool":
        return f"({name} is True or {name} is False)"
    if t.size == 4:
        return f"_pyo2_type({name}) is _pyo2_float and {-_F32_MAX!r} <= {name} <= {_F32_MAX!r}"
    # f64: ctypes converts an exact float or int as pyo2 does; anything else
    # (an int subclass, whose own __float__ ctypes would call) is for the
    # general path.
    return f"(_pyo2_type({name}) is _pyo2_float or _pyo2_type({name}) is _pyo2_int)"


def _usable(names: list[str]) -> bool:
    """Whether the Rust parameter names can be Python parameter names as they are
    (see :func:`pyo2._signature.python_name`: not a keyword, ``__debug__``,
    ``_pyo2…`` or changed by NFKC; and each once)."""
    return len(set(names)) == len(names) and all(map(python_name, names))


def source(sig: Signature, method: bool = False) -> str:
    """The source of the function for ``sig``.

    Every parameter defaults to a private sentinel and extra positional
    arguments are collected, so that a wrong count reaches :func:`_arity`
    (:func:`pyo2._runtime.arity`, whose message shows the Rust signature) instead of Python's binding
    error. (``inspect.signature``, through :mod:`pyo2._function`, shows the
    plain parameter list.)

    When the Rust names are usable (:func:`_usable`), they are the
    parameters and Python binds keyword arguments itself. Otherwise (a
    keyword such as ``in``, ``__debug__``, a name NFKC changes…) no Rust name
    reaches the source: the parameters are positional-only ``_pyo2_p{i}``,
    and keyword arguments, by the Rust names, are bound by
    :func:`pyo2._runtime.keywords`.
    """
    rust = [n for n, _ in sig.params]
    keywords = _usable(rust)
    if keywords:
        names = rust
    else:
        names = [f"_pyo2_p{i}" for i in range(len(rust))]
        sig = Signature(sig.name, tuple(zip(names, (t for _, t in sig.params))), sig.ret)
    params = ", ".join(names)
    args = f"({params},)" if names else "()"
    defaults = "".join(f"{n}=_pyo2_M, " for n in names)
    missing = " or ".join(["_pyo2_extra", *(f"{n} is _pyo2_M" for n in names)])
    lines = []
    if keywords:
        lines.append(f"def {_py_name(sig.name)}({defaults}*_pyo2_extra):")
        if method:
            # A method of a class (pyo2._objects): `self` is an instance, and
            # the rest of the function sees its handle (a u64) in its place.
            # `_pyo2_o` keeps the instance alive until the call returns (it
            # may be the last reference, as in `Counter(2).add(3)`: its
            # finaliser would close the handle before Rust sees it).
            lines += [
                "    _pyo2_o = self",
                "    if _pyo2_type(self) is not _pyo2_cls or self._pyo2_h is None:",
                "        self = _pyo2_handle(_pyo2_cls, self, _pyo2_what)",
                "    else:",
                "        self = self._pyo2_h",
            ]
    else:
        slash = "/, " if names else ""
        lines += [
            f"def {_py_name(sig.name)}({defaults}{slash}*_pyo2_extra, **_pyo2_kw):",
            "    if _pyo2_kw:",
            f"        _pyo2_args = _pyo2_keywords(_pyo2_state, {args}, _pyo2_extra, _pyo2_kw)",
            "        return _pyo2_general(_pyo2_state, _pyo2_args)",
        ]
    # The fast paths need no arity check of their own: a missing argument is
    # the sentinel, which no fast-path test or converter accepts.
    ret = sig.ret
    if all(isinstance(t, Scalar) for _, t in sig.params) and not _owned(ret):
        lines += _scalar_fast_path(sig, names)
    elif all(_flat(t) for _, t in sig.params):
        lines += _flat_fast_path(sig, names)
    elif _record_call(sig):
        lines += _record_fast_path(sig, names)
    lines += [
        f"    if {missing}:",
        f"        _pyo2_arity(_pyo2_state, {args}, _pyo2_extra)",
    ]
    lines.append(f"    return _pyo2_general(_pyo2_state, {args})")
    return "\n".join(lines) + "\n"


def _owned(ret: Scalar | Ret | None) -> bool:
    return isinstance(ret, Ret) and isinstance(ret.value, (Owned, ORet, IterT))


def _flat(t: object) -> bool:
    """A scalar, a view of scalars (a flat list, a str or bytes) or a callback."""
    return isinstance(t, (Scalar, CallbackT)) or (isinstance(t, VecRef) and isinstance(t.elem, Scalar))


def _record_slice(t: object) -> bool:
    """A ``&[P]`` / ``&mut [P]`` of a plain record."""
    return (
        isinstance(t, Rich)
        and t.mode in ("slice", "mslice")
        and isinstance(t.t, ORec)
        and bool(t.t.record.plain)
    )


def _record_call(sig: Signature) -> bool:
    """An exported function of scalars and one slice of plain records,
    returning a scalar or ``()``: :func:`_record_fast_path` takes it."""
    ret = sig.ret
    if not isinstance(ret, Ret) or not (ret.value is None or isinstance(ret.value, Scalar)):
        return False
    slices = [t for _, t in sig.params if _record_slice(t)]
    return len(slices) == 1 and all(isinstance(t, Scalar) or _record_slice(t) for _, t in sig.params)


def _test(sig: Signature) -> str:
    """The fast path's condition: no extra arguments, every scalar of an exact type and in range."""
    conditions = [_condition(t, n) for n, t in sig.params if isinstance(t, Scalar)]
    return " and ".join(["not _pyo2_extra", *conditions])


def _scalar_fast_path(sig: Signature, names: list[str]) -> list[str]:
    params = ", ".join(names)
    ret = sig.ret
    if not isinstance(ret, Ret):
        return [
            f"    if {_test(sig)}:",
            "        try:",
            f"            return _pyo2_c({params})",
            "        except _pyo2_ArgumentError:",
            "            pass",
        ]
    assert ret.value is None or isinstance(ret.value, Scalar)
    read = "None" if ret.value is None else f"_pyo2_so.{ret.value.name}"
    comma = ", " if names else ""
    return [
        f"    if {_test(sig)}:",
        "        try:",
        "            _pyo2_s = _pyo2_pop()",
        "        except _pyo2_IndexError:",
        "            _pyo2_s = _pyo2_new_slot()",
        "        _pyo2_so, _pyo2_sa, _pyo2_sv = _pyo2_s",
        "        try:",
        f"            _pyo2_st = _pyo2_c({params}{comma}_pyo2_sa)",
        "        except _pyo2_ArgumentError:",
        "            _pyo2_push(_pyo2_s)",
        "        else:",
        "            if _pyo2_st:",
        "                return _pyo2_finish(_pyo2_state, _pyo2_st, _pyo2_s, None, ())",
        f"            _pyo2_v = {read}",
        "            _pyo2_push(_pyo2_s)",
        "            return _pyo2_v",
    ]


def _flat_fast_path(sig: Signature, names: list[str]) -> list[str]:
    """Scalars plus views of scalars: each list packed at C speed, one header array.

    ``_pyo2_in{i}`` converts parameter ``i`` (see :func:`_converters`) or
    raises :class:`_Retry` for anything but an exact ``list`` (or ``str`` /
    ``bytes`` for a ``&PyStr``) that packs cleanly; the general path then
    handles (and explains) it.
    """
    vecs = [(i, n, t) for i, (n, t) in enumerate(sig.params) if isinstance(t, VecRef)]
    test = _test(sig)
    for a, (_, n1, t1) in enumerate(vecs):
        for _, n2, t2 in vecs[a + 1 :]:
            if t1.mutable or t2.mutable:
                test += f" and {n1} is not {n2}"  # aliasing a &mut: the general path refuses it
    # Callables last: a converter that raises _Retry after one registered a
    # callable would leave it registered. A refused later callable forgets
    # the ones before it (Rust never receives them).
    cbs = [(i, n) for i, (n, t) in enumerate(sig.params) if isinstance(t, CallbackT)]
    lines = [f"    if {test}:", "        try:"]
    lines += [f"            _pyo2_a{i} = _pyo2_in{i}({n})" for i, n, _ in vecs]
    for k, (i, n) in enumerate(cbs):
        if not k:
            lines.append(f"            _pyo2_b{i} = _pyo2_in{i}({n})")
            continue
        before = "(" + "".join(f"_pyo2_b{j}, " for j, _ in cbs[:k]) + ")"
        lines += [
            "            try:",
            f"                _pyo2_b{i} = _pyo2_in{i}({n})",
            "            except _pyo2_Retry:",
            f"                _pyo2_forget({before}, False)",
            "                raise",
        ]
    if not vecs and not cbs:
        lines.append("            pass")
    lines += ["        except _pyo2_Retry:", "            pass", "        else:"]
    header = ", ".join(f"_pyo2_a{i}[0], _pyo2_a{i}[1]" for i, _, _ in vecs)
    if vecs:
        lines += [
            f"            _pyo2_h = _pyo2_array(_pyo2_W, ({header},))",
            "            _pyo2_hb = _pyo2_h.buffer_info()[0]",
        ]
    position = {i: k for k, (i, _, _) in enumerate(vecs)}
    c_args = [
        f"_pyo2_b{i}[0]"
        if isinstance(t, CallbackT)
        else n
        if i not in position
        else f"_pyo2_hb + {position[i] * HEADER_SIZE}"
        for i, (n, t) in enumerate(sig.params)
    ]
    back = ", ".join(f"({n}, _pyo2_a{i}, {position[i]}, _pyo2_e{i})" for i, n, t in vecs if t.mutable)
    entries = f"({back},)" if back else "()"
    # ctypes refuses an f64 argument it can't convert (ArgumentError) before
    # calling: the general path then explains it.
    if not isinstance(sig.ret, Ret):
        lines += [
            "            try:",
            f"                _pyo2_r = _pyo2_c({', '.join(c_args)})",
            "            except _pyo2_ArgumentError:",
            "                pass",
            "            else:",
        ]
        if back:
            lines.append(f"                _pyo2_back(_pyo2_state.name, _pyo2_h, {entries})")
        lines.append("                return _pyo2_r")
        return lines
    headers = "_pyo2_h" if vecs else "None"
    callbacks = "(" + "".join(f"_pyo2_b{i}, " for i, _ in cbs) + ")"
    return [
        *lines,
        "            try:",
        "                _pyo2_s = _pyo2_pop()",
        "            except _pyo2_IndexError:",
        "                _pyo2_s = _pyo2_new_slot()",
        "            try:",
        f"                _pyo2_st = _pyo2_c({', '.join([*c_args, '_pyo2_s[1]'])})",
        "            except _pyo2_ArgumentError:",
        "                _pyo2_push(_pyo2_s)",
        *([f"                _pyo2_forget({callbacks}, False)"] if cbs else []),
        "            else:",
        *([f"                _pyo2_forget({callbacks}, True)"] if cbs else []),
        *_ok_tail(sig.ret, back and f"_pyo2_back(_pyo2_state.name, _pyo2_h, {entries})"),
        f"                return _pyo2_finish(_pyo2_state, _pyo2_st, _pyo2_s, {headers}, {entries})",
    ]


def _ok_tail(ret: Ret, back: str) -> list[str]:
    """What a flat fast call returns when Rust returned ``Ok`` (status 0), as
    :func:`pyo2._abi.settle` would (the value read and its buffer freed, then
    the write-back ``back``, if any), read straight from the slot: a scalar
    by its field, an owned ``String``/``Vec`` of scalars by :func:`owned_taker`.
    Anything else (another status, a record, an iterator) takes
    :func:`pyo2._runtime.finish`."""
    value = ret.value
    if value is None or isinstance(value, Scalar):
        read = "None" if value is None else f"_pyo2_s[0].{value.name}"
        return [
            "                if not _pyo2_st:",
            f"                    _pyo2_v = {read}",
            "                    _pyo2_push(_pyo2_s)",
            *([f"                    {back}"] if back else []),
            "                    return _pyo2_v",
        ]
    if isinstance(value, Owned) and not back:
        return ["                if not _pyo2_st:", "                    return _pyo2_take(_pyo2_s)"]
    return []


def owned_taker(owned: Owned) -> Callable[[tuple[Any, int, Any]], Any]:
    """Reads the ``String`` / ``Vec<u8>`` / ``Vec<scalar>`` Rust handed over in
    the slot ``(slot, address, char view)`` (see :func:`pyo2._runtime.new_slot`)
    as :func:`pyo2._abi.outcome` does, with one copy: ``view[:n]``, then
    ``decode`` or a typed ``memoryview``; frees it with its ``drop`` and puts
    the slot back on the free list, whatever happens."""
    unpack = _OWNED_BUF.unpack_from
    drops = _DROPS
    push = FREE_SLOTS.append
    if owned.text:

        def take(s: tuple[Any, int, Any]) -> Any:
            try:
                _, n, _, drop = unpack(s[0])
                return s[2][:n].decode("utf-8") if n else ""
            finally:
                _drop(drops, drop, s[1])
                push(s)

    elif owned.elem is U8:

        def take(s: tuple[Any, int, Any]) -> Any:
            try:
                _, n, _, drop = unpack(s[0])
                return s[2][:n] if n else b""
            finally:
                _drop(drops, drop, s[1])
                push(s)

    else:
        elem = owned.elem
        assert isinstance(elem, Scalar)
        size = elem.size
        code = "?" if elem is BOOL else elem.code

        def take(s: tuple[Any, int, Any]) -> Any:
            try:
                _, n, _, drop = unpack(s[0])
                return memoryview(s[2][: n * size]).cast(code).tolist() if n else []  # type: ignore[call-overload]
            finally:
                _drop(drops, drop, s[1])
                push(s)

    return take


def _drop(drops: dict[int, Any], drop: int | None, address: int) -> None:
    """Call an owned buffer's ``drop`` (at ``address``), as :func:`pyo2._abi._free` does."""
    if drop:
        fn = drops.get(drop)
        if fn is None:
            fn = drops[drop] = _DROP(drop)
        fn(address)


#: ``pyo2::abi::OwnedBuf``: ``{ptr, len, cap, drop}``, read in one step.
_OWNED_BUF = struct.Struct("PNNP")


def _record_fast_path(sig: Signature, names: list[str]) -> list[str]:
    """Scalars plus one slice of plain records: a list of records packed at C
    speed or a numpy structured array lent in place, by ``_pyo2_in{i}`` (see
    :func:`pyo2._records.fast_slice`), which raises :class:`_Retry` for
    anything else (the general path then handles and explains it). The
    converter says whether the call must keep the GIL (an array lent in
    place); the write-back is the general path's
    (:func:`pyo2._runtime.finish_records`).
    """
    i, name = next((i, n) for i, ((_, t), n) in enumerate(zip(sig.params, names)) if _record_slice(t))
    c_args = ["_pyo2_r[0]" if k == i else n for k, n in enumerate(names)]
    return [
        f"    if {_test(sig)}:",
        "        try:",
        f"            _pyo2_r = _pyo2_in{i}({name})",
        "        except _pyo2_Retry:",
        "            pass",
        "        else:",
        "            try:",
        "                _pyo2_s = _pyo2_pop()",
        "            except _pyo2_IndexError:",
        "                _pyo2_s = _pyo2_new_slot()",
        "            _pyo2_cc = _pyo2_held(_pyo2_state) if _pyo2_r[1] else _pyo2_c",
        "            try:",
        f"                _pyo2_st = _pyo2_cc({', '.join([*c_args, '_pyo2_s[1]'])})",
        "            except _pyo2_ArgumentError:",
        "                _pyo2_push(_pyo2_s)",
        "            else:",
        "                return _pyo2_rfinish(_pyo2_state, _pyo2_st, _pyo2_s, _pyo2_r)",
    ]


def _converters(sig: Signature) -> dict[str, Any]:
    """``_pyo2_in{i}`` and ``_pyo2_e{i}`` for each view parameter of the flat
    fast path, and ``_pyo2_take`` for an owned ``String`` / ``Vec`` result."""
    out: dict[str, Any] = {}
    if isinstance(sig.ret, Ret) and isinstance(sig.ret.value, Owned):
        out["_pyo2_take"] = owned_taker(sig.ret.value)
    for i, (_, t) in enumerate(sig.params):
        if isinstance(t, VecRef) and isinstance(t.elem, Scalar):
            lent = t.elem is U8 and not t.mutable
            out[f"_pyo2_in{i}"] = _lent_text(t.utf8) if lent else list_converter(t.elem, keep=t.mutable)
            out[f"_pyo2_e{i}"] = t.elem
        elif isinstance(t, CallbackT):
            out[f"_pyo2_in{i}"] = callback_converter(t, _Retry)
        elif _record_slice(t) and _record_call(sig):
            from ._records import fast_slice

            assert isinstance(t, Rich)
            out[f"_pyo2_in{i}"] = fast_slice(t.t.record, t.mode == "mslice", sig.name, _Retry)
    return out


def list_converter(
    elem: Scalar, exact: type | None = None, keep: bool = False
) -> Callable[[Any], tuple[Any, ...]]:
    """Converts an exact ``list`` of ``elem`` (every item of type ``exact``, if given).

    With ``keep`` (a ``&mut`` list) the items are read once into a copy of the
    list, which is packed and kept: write-back checks the list still holds them.
    """

    def convert(value: Any) -> tuple[Any, ...]:
        if type(value) is not list:
            raise _Retry
        n = len(value)
        if exact is not None and list(map(type, value)).count(exact) != n:
            raise _Retry
        items = list.copy(value) if keep else value  # a snapshot, which write-back compares the list with
        data, packed = pack(elem, items, n, keep)  # the bytes only to tell what Rust changed
        if len(value) != n:  # converting an item changed the list: the general path explains
            raise _Retry
        return (data.buffer_info()[0] if n else 0, n, data, packed, items)

    return convert


def _exact_text(value: Any, utf8: bool) -> bytes:
    """:func:`pyo2._convert.text` of an exact ``str`` or ``bytes``; :class:`_Retry`
    for anything else or anything it refuses (the general path explains)."""
    if type(value) is not str and type(value) is not bytes:
        raise _Retry
    try:
        return text(value, utf8)
    except ValueError:  # UnicodeEncodeError, UnicodeDecodeError
        pass
    raise _Retry


def copied_text(value: Any) -> tuple[int, int, Any, bytes]:
    """A str (as UTF-8) or bytes, copied: what inference lends for ``&PyStr``."""
    data = array("B", _exact_text(value, False))
    n = len(data)
    return (data.buffer_info()[0] if n else 0, n, data, b"")


def _lent_text(utf8: bool) -> Callable[[Any], tuple[int, int, Any, bytes]]:
    """A str (as UTF-8) or bytes, lent read-only: what a declared or exported ``&PyStr`` / ``&str`` gets."""

    def convert(value: Any) -> tuple[int, int, Any, bytes]:
        data = _exact_text(value, utf8)
        ptr, lent = lend_bytes(data)
        return (ptr, len(data), lent, data)

    return convert


def _py_name(name: str) -> str:
    """The name of the generated ``def`` (``__name__`` is set to the Rust name after)."""
    return name if python_name(name) else "rust_function"


#: The names every generated function reaches its helpers by (``_pyo2_…``:
#: no Rust name that reaches the source starts so; see :func:`source`).
_HELPERS: dict[str, Any] = {
    "_pyo2_ArgumentError": ctypes.ArgumentError,
    "_pyo2_pop": FREE_SLOTS.pop,
    "_pyo2_push": FREE_SLOTS.append,
    "_pyo2_new_slot": new_slot,
    "_pyo2_M": MISSING,
    "_pyo2_type": type,
    "_pyo2_int": int,
    "_pyo2_float": float,
    "_pyo2_IndexError": IndexError,
    "_pyo2_Retry": _Retry,
    "_pyo2_array": array,
    "_pyo2_W": WORD,
    "_pyo2_back": write_back_flat,
    "_pyo2_finish": finish,
    "_pyo2_arity": arity,
    "_pyo2_keywords": keywords,
    "_pyo2_forget": forget_fast,
    "_pyo2_held": held,
    "_pyo2_rfinish": finish_records,
}


#: Sources of inferred-shape functions in :mod:`linecache`, oldest first, and
#: how many are kept: shapes are many and their functions come and go (a
#: signature function's source stays, one per distinct source).
_SHAPE_SOURCES: dict[str, None] = {}
MAX_SHAPE_SOURCES = 256


def generate(
    state: State,
    sig: Signature,
    general: Callable[[State, tuple[Any, ...]], Any] = general,
    converters: dict[str, Any] | None = None,
    method: dict[str, Any] | None = None,
) -> Callable[..., Any]:
    """The function for ``sig``, calling ``state.c``; ``general`` is its general
    path, ``converters`` (for an inferred shape) its converters.

    Its source is in :mod:`linecache` under its ``co_filename``, ``<pyo2 fn
    …>`` plus a hash of the source: functions of one source share the entry.
    Only the :data:`MAX_SHAPE_SOURCES` latest sources of inferred shapes are
    kept there.
    """
    namespace: dict[str, Any] = {
        **_HELPERS,
        "_pyo2_c": state.c,
        "_pyo2_state": state,
        "_pyo2_general": general,
        **(_converters(sig) if converters is None else converters),
    }
    if method is not None:  # `_pyo2_cls`, `_pyo2_handle` and `_pyo2_what` of a method
        namespace.update(method)
    code = source(sig, method is not None)
    # Generated from a parsed signature; no name in it comes from Rust unless
    # Python can spell it as it is (see source()).
    filename = f"<pyo2 {sig} #{hash(code) & 0xFFFFFFFF:08x}>".replace("\0", "")
    exec(compile(code, filename, "exec"), namespace)
    import linecache  # here, not with pyo2: it imports tokenize and re

    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    if converters is not None:
        _SHAPE_SOURCES.pop(filename, None)
        _SHAPE_SOURCES[filename] = None
        if len(_SHAPE_SOURCES) > MAX_SHAPE_SOURCES:
            forget(next(iter(_SHAPE_SOURCES)))
    function: Callable[..., Any] = namespace[_py_name(sig.name)]
    return function


def forget(filename: str) -> None:
    """Remove the source of an inferred shape's function from :mod:`linecache`."""
    import linecache

    _SHAPE_SOURCES.pop(filename, None)
    linecache.cache.pop(filename, None)
