"""The Python function that calls one Rust function.

:func:`make_function` builds it once per function, from the signature:

- With a signature (exported or declared), the function is generated with
  the Rust parameter names (as :mod:`dataclasses` generates ``__init__``), so
  Python binds positional and keyword arguments itself. A name Python can't
  spell as it is (``in``, ``__debug__``, one NFKC changes) never reaches the
  source: the parameters are then positional-only, and keyword arguments by
  the Rust names are bound by :func:`_keywords`. When every parameter
  is a scalar, its fast path checks each argument's exact type and range
  and calls ctypes directly; any argument that doesn't clear that (another
  type, a subclass, out of range, NaN for f32…) goes to the general path,
  which checks it with :func:`pyo2._convert.scalar` and raises the precise
  error. Both paths accept and refuse exactly the same values, with the same
  results (a differential test pins this).
- When every parameter is a scalar or a view of scalars, each exact
  ``list`` (or ``str`` / ``bytes`` for a ``&PyStr``) is packed at C speed
  and written back inline; lists of lists, buffers and anything a converter
  refuses take the general path, :class:`pyo2._marshal.Marshal`.
- Without a signature, each call infers one from its values.

Exported functions return their result through a 32-byte slot (see
:mod:`pyo2._abi`); scalar results borrow a slot from a free list, so calls
from several threads (or from a finalizer that runs mid-call) never share one.
"""

from __future__ import annotations

import codecs
import ctypes
from array import array
from typing import TYPE_CHECKING, Any

from . import _abi
from ._convert import Where
from ._errors import RustError, RustPanic
from ._marshal import WORD, Marshal, _Retry, apply, infer, pack, read_scalars
from ._signature import python_name, python_parameters
from ._types import BOOL, F64, HEADER_SIZE, I64, PYSTR, U8, Owned, Ret, RType, Scalar, Signature, VecRef

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._dll import RustDLL

__all__ = ["make_function"]

# On 64-bit platforms an 8-byte integer is passed as a c_void_p: the same
# register or stack slot as an int64_t in every 64-bit C ABI, and ctypes
# converts an int to c_void_p about twice as fast as to c_int64. The value is
# range-checked before (the ctype itself would accept [-2**63, 2**64)).
_INT64_AS_POINTER = ctypes.sizeof(ctypes.c_void_p) == 8

# One ctypes prototype per distinct C signature, shared by every library.
# Inferred calls need one per arity and mix of C types, so the cache is
# cleared when full (a function keeps its prototype alive on its own).
_PROTOTYPES: dict[tuple[Any, ...], Any] = {}
_MAX_PROTOTYPES = 256
#: Bounds of each function's caches of inferred calls (:class:`_State`).
_MAX_SHAPES = 64
_MAX_INFERRED = 64

_F32_MAX = 3.4028234663852886e38


def _param_ctype(t: object) -> Any:
    if isinstance(t, Scalar):
        return ctypes.c_void_p if (_INT64_AS_POINTER and t.kind == "int" and t.size == 8) else t.ctype
    return ctypes.c_void_p  # a pointer to a PyVec header


def prototype(sig: Signature) -> Any:
    """The ctypes prototype of ``sig``'s C signature.

    An exported function returns a status and takes one more pointer, to its
    result slot (see :mod:`pyo2._abi`).
    """
    params = tuple(_param_ctype(t) for _, t in sig.params)
    key: tuple[Any, ...]
    if isinstance(sig.ret, Ret):
        key = (ctypes.c_int32, *params, ctypes.c_void_p)
    else:
        key = (None if sig.ret is None else sig.ret.ctype, *params)
    proto = _PROTOTYPES.get(key)
    if proto is None:
        if len(_PROTOTYPES) >= _MAX_PROTOTYPES:
            _PROTOTYPES.clear()
        proto = _PROTOTYPES[key] = _new_prototype(key[0], key[1:])
    return proto


def _new_prototype(restype: Any, argtypes: tuple[Any, ...]) -> Any:
    """``ctypes.CFUNCTYPE(restype, *argtypes)`` without its cache, which never
    forgets a signature (inferred calls can have any number of them).

    Calls through it release the GIL while Rust runs.
    """
    try:  # what ctypes.CFUNCTYPE is built on, in CPython and PyPy alike
        from _ctypes import FUNCFLAG_CDECL as _CDECL
        from _ctypes import CFuncPtr as _CFuncPtr
    except ImportError:  # pragma: no cover - a ctypes without them: its cache it is
        return ctypes.CFUNCTYPE(restype, *argtypes)

    class CFunctionType(_CFuncPtr):  # what CFUNCTYPE makes
        _argtypes_ = argtypes
        _restype_ = restype
        _flags_ = _CDECL

    return CFunctionType


# C functions that keep the GIL while Rust runs, by (address, signature):
# for calls that lend a buffer in place (see Marshal.in_place).
_HELD: dict[tuple[int, Signature], Any] = {}


def _holding_gil(address: int, sig: Signature | None) -> Any:
    """The C function at ``address`` with ``sig``, called without releasing the GIL.

    A buffer lent in place is memory that any Python thread could write while
    Rust holds a ``&[T]`` or ``&mut [T]`` over it; keeping the GIL for the call
    means none can (``ctypes.PYFUNCTYPE`` semantics).
    """
    assert sig is not None
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

        if len(_HELD) >= _MAX_PROTOTYPES:
            _HELD.clear()
        function = _HELD[key] = HeldFunctionType(address)
    return function


class _State:
    """What the general path of one function needs."""

    __slots__ = ("address", "c", "inferred", "name", "shapes", "sig")

    def __init__(self, name: str, address: int, sig: Signature | None) -> None:
        self.name = name
        self.address = address
        self.sig = sig
        #: The C function for the signature.
        self.c: Any = None if sig is None else prototype(sig)(address)
        #: Inferred signatures seen so far → their C function.
        self.inferred: dict[Signature, Any] = {}
        #: Inferred calls of a simple shape (see :func:`_shape`) → their generated function.
        self.shapes: dict[tuple[Any, ...], Callable[..., Any]] = {}


# ---------------------------------------------------------------------------
# The general path.


def _general(state: _State, args: tuple[Any, ...]) -> Any:
    """Call with a signature: check and marshal every argument, then call."""
    sig = state.sig
    assert sig is not None
    return _call(state, sig, state.c, args, trusted=True)


def _call(state: _State, sig: Signature, c: Any, args: tuple[Any, ...], trusted: bool) -> Any:
    marshal = Marshal(state.name, trusted)
    c_args = [marshal.param(t, value, pname) for (pname, t), value in zip(sig.params, args)]
    ret = sig.ret
    if isinstance(ret, Ret):
        return _call_exported(state, c, ret, marshal, c_args)
    if not marshal.nodes:  # scalars only: nothing to lay out or write back
        return c(*c_args)
    try:
        marshal.layout()
        if marshal.in_place:
            c = _holding_gil(state.address, sig)
        result = c(*marshal.c_args(c_args))
        marshal.write_back()
    finally:
        marshal.release()
    return result


def _call_exported(state: _State, c: Any, ret: Ret, marshal: Marshal, c_args: list[Any]) -> Any:
    slot = _abi.CSlot()
    address = ctypes.addressof(slot)
    if not marshal.nodes:
        return _abi.outcome(state.name, c(*c_args, address), ret, slot)
    try:
        marshal.layout()
        if marshal.in_place:
            c = _holding_gil(state.address, state.sig)
        status = c(*marshal.c_args(c_args), address)
        try:
            result = _abi.outcome(state.name, status, ret, slot)
        except (RustError, ValueError):
            # Err(e) is a normal return: Rust's writes stand. (A bad argument
            # was refused before the function ran, so nothing changed.)
            marshal.write_back()
            raise
        # On a panic (raised above) nothing is written back: the lists stay
        # as they were rather than half updated.
        marshal.write_back()
    finally:
        marshal.release()
    return result


def _inferred(state: _State, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Call without a signature: infer one from the values (the result is unknown: None).

    Calls of a simple shape (scalars, str, bytes, flat lists) reuse a function
    generated for that shape, which still checks every list item's exact type;
    anything else, or anything that shape's function refuses, is inferred in
    full by :func:`_inferred_general`.
    """
    if kwargs:
        raise TypeError(
            f"{state.name}(): got keyword arguments {sorted(kwargs)}, but the function "
            "has no declared signature and so no parameter names (use dll.declare)"
        )
    shape = _shape(args)
    if shape is None:
        return _inferred_general(state, args)
    function = state.shapes.get(shape)
    if function is None:
        function = _shape_function(state, shape)
        if len(state.shapes) >= _MAX_SHAPES:  # bounded: calls can have any number of shapes
            state.shapes.clear()
        state.shapes[shape] = function
    function(*args)
    return None


def _inferred_general(state: _State, args: tuple[Any, ...]) -> None:
    params = tuple(
        (f"#{i}", infer(value, Where(state.name, f"#{i}", "inferred"))) for i, value in enumerate(args, 1)
    )
    sig = Signature(state.name, params)
    c = state.inferred.get(sig)
    if c is None:
        c = prototype(sig)(state.address)
        if len(state.inferred) >= _MAX_INFERRED:  # bounded, as shapes
            state.inferred.clear()
        state.inferred[sig] = c
    _call(state, sig, c, args, trusted=False)


_SHAPE_SCALARS: dict[type, Scalar] = {int: I64, float: F64, bool: BOOL}


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


def _shape_function(state: _State, shape: tuple[Any, ...]) -> Callable[..., Any]:
    """The generated function for inferred calls of one shape.

    Its parameters are those inference would give; its list converters
    require every item to have the first item's exact type, and its text
    converters copy (inference never lends an immutable object). Anything
    else goes to :func:`_inferred_general`.
    """
    params: list[tuple[str, RType]] = []
    for i, part in enumerate(shape):
        if isinstance(part, tuple):
            t: RType = VecRef(_SHAPE_SCALARS[part[1]], mutable=True)
        elif part is str or part is bytes:
            t = PYSTR
        else:
            t = _SHAPE_SCALARS[part]
        params.append((f"a{i}", t))
    sig = Signature(state.name, tuple(params))
    sub = _State(state.name, state.address, sig)
    converters: dict[str, Any] = {}
    for i, part in enumerate(shape):
        if isinstance(part, tuple):
            converters[f"_pyo2_in{i}"] = _list_converter(_SHAPE_SCALARS[part[1]], exact=part[1])
            converters[f"_pyo2_e{i}"] = _SHAPE_SCALARS[part[1]]
        elif part is str or part is bytes:
            converters[f"_pyo2_in{i}"] = _copied_text
    return _generated(sub, sig, general=lambda _, args: _inferred_general(state, args), converters=converters)


# ---------------------------------------------------------------------------
# Generating the function.

_FREE_SLOTS: list[tuple[_abi.CSlot, int]] = []


def _new_slot() -> tuple[_abi.CSlot, int]:
    slot = _abi.CSlot()
    return slot, ctypes.addressof(slot)


def _condition(t: Scalar, name: str) -> str | None:
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
    return None  # f64: ctypes accepts exactly the values pyo2 does


def _python_name(name: str) -> bool:
    """Whether a Rust name can be a name in the generated code as it is (see
    :func:`pyo2._signature.python_name`: not a keyword, ``__debug__``, ``_pyo2…``
    or changed by NFKC)."""
    return python_name(name)


def _usable(names: list[str]) -> bool:
    """Whether the Rust parameter names can be Python parameter names as they are."""
    return len(set(names)) == len(names) and all(map(_python_name, names))


def _source(sig: Signature) -> str:
    """The source of the function for ``sig``.

    Every parameter defaults to a private sentinel and extra positional
    arguments are collected, so that a wrong count reaches :func:`_arity`
    (whose message shows the Rust signature) instead of Python's binding
    error. ``_pyo2_template`` has the plain parameter list, for
    ``inspect.signature`` (through ``__wrapped__``).

    When the Rust names are usable (:func:`_usable`), they are the
    parameters and Python binds keyword arguments itself. Otherwise (a
    keyword such as ``in``, ``__debug__``, a name NFKC changes…) no Rust name
    reaches the source: the parameters are positional-only ``_pyo2_p{i}``,
    and keyword arguments, by the Rust names, are bound by :func:`_keywords`.
    """
    rust = [n for n, _ in sig.params]
    keywords = _usable(rust)
    if keywords:
        names = rust
        template = ", ".join(names)
    else:
        names = [f"_pyo2_p{i}" for i in range(len(rust))]
        sig = Signature(sig.name, tuple(zip(names, (t for _, t in sig.params))), sig.ret)
        shown, positional = python_parameters(rust)
        template = ", ".join([*shown[:positional], "/", *shown[positional:]])
    params = ", ".join(names)
    args = f"({params},)" if names else "()"
    defaults = "".join(f"{n}=_pyo2_M, " for n in names)
    missing = " or ".join(["_pyo2_extra", *(f"{n} is _pyo2_M" for n in names)])
    lines = [f"def _pyo2_template({template}): pass"]
    if keywords:
        lines.append(f"def {_py_name(sig.name)}({defaults}*_pyo2_extra):")
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
    lines += [
        f"    if {missing}:",
        f"        _pyo2_arity(_pyo2_state, {args}, _pyo2_extra)",
    ]
    lines.append(f"    return _pyo2_general(_pyo2_state, {args})")
    return "\n".join(lines) + "\n"


def _owned(ret: Scalar | Ret | None) -> bool:
    return isinstance(ret, Ret) and isinstance(ret.value, Owned)


def _flat(t: object) -> bool:
    """A scalar, or a view of scalars (a flat list, a str or bytes)."""
    return isinstance(t, Scalar) or (isinstance(t, VecRef) and isinstance(t.elem, Scalar))


def _test(sig: Signature) -> str:
    """The fast path's condition: no extra arguments, every scalar of an exact type and in range."""
    conditions = [c for n, t in sig.params if isinstance(t, Scalar) and (c := _condition(t, n))]
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
    assert not isinstance(ret.value, Owned)
    read = "None" if ret.value is None else f"_pyo2_so.{ret.value.name}"
    comma = ", " if names else ""
    return [
        f"    if {_test(sig)}:",
        "        try:",
        "            _pyo2_s = _pyo2_pop()",
        "        except _pyo2_IndexError:",
        "            _pyo2_s = _pyo2_new_slot()",
        "        _pyo2_so, _pyo2_sa = _pyo2_s",
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
    lines = [f"    if {test}:", "        try:"]
    lines += [f"            _pyo2_a{i} = _pyo2_in{i}({n})" for i, n, _ in vecs] or ["            pass"]
    lines += ["        except _pyo2_Retry:", "            pass", "        else:"]
    header = ", ".join(f"_pyo2_a{i}[0], _pyo2_a{i}[1]" for i, _, _ in vecs)
    if vecs:
        lines += [
            f"            _pyo2_h = _pyo2_array(_pyo2_W, ({header},))",
            "            _pyo2_hb = _pyo2_h.buffer_info()[0]",
        ]
    position = {i: k for k, (i, _, _) in enumerate(vecs)}
    c_args = [
        n if i not in position else f"_pyo2_hb + {position[i] * HEADER_SIZE}"
        for i, (n, _) in enumerate(sig.params)
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
            lines.append(f"                _pyo2_back(_pyo2_h, {entries}, _pyo2_state.name)")
        lines.append("                return _pyo2_r")
        return lines
    headers = "_pyo2_h" if vecs else "None"
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
        "            else:",
        f"                return _pyo2_finish(_pyo2_state, _pyo2_st, _pyo2_s, {headers}, {entries})",
    ]


def _converters(sig: Signature) -> dict[str, Any]:
    """``_pyo2_in{i}`` and ``_pyo2_e{i}`` for each view parameter of the flat fast path."""
    out: dict[str, Any] = {}
    for i, (_, t) in enumerate(sig.params):
        if isinstance(t, VecRef) and isinstance(t.elem, Scalar):
            text = t.elem is U8 and not t.mutable
            out[f"_pyo2_in{i}"] = _text_converter(t.utf8) if text else _list_converter(t.elem)
            out[f"_pyo2_e{i}"] = t.elem
    return out


def _list_converter(elem: Scalar, exact: type | None = None) -> Callable[[Any], tuple[int, int, Any, bytes]]:
    """Converts an exact ``list`` of ``elem`` (every item of type ``exact``, if given)."""

    def convert(value: Any) -> tuple[int, int, Any, bytes]:
        if type(value) is not list:
            raise _Retry
        n = len(value)
        if exact is not None and list(map(type, value)).count(exact) != n:
            raise _Retry
        data, packed = pack(elem, value, n)
        if len(value) != n:  # converting an item changed the list: the general path explains
            raise _Retry
        return (data.buffer_info()[0] if n else 0, n, data, packed)

    return convert


def _copied_text(value: Any) -> tuple[int, int, Any, bytes]:
    """A str (as UTF-8) or bytes, copied: what inference lends for ``&PyStr``."""
    if type(value) is str:
        try:
            data = array("B", value.encode())
        except UnicodeEncodeError:
            raise _Retry from None
    elif type(value) is bytes:
        data = array("B", value)
    else:
        raise _Retry
    n = len(data)
    return (data.buffer_info()[0] if n else 0, n, data, b"")


def _text_converter(utf8: bool) -> Callable[[Any], tuple[int, int, Any, bytes]]:
    def convert(value: Any) -> tuple[int, int, Any, bytes]:
        if type(value) is str:
            try:
                data = value.encode()
            except UnicodeEncodeError:
                raise _Retry from None
        elif type(value) is bytes:
            data = value
            if utf8:
                try:
                    codecs.utf_8_decode(data, "strict", True)
                except UnicodeDecodeError:
                    raise _Retry from None
        else:
            raise _Retry
        if not data:
            return (0, 0, None, data)
        pointer = ctypes.c_char_p(data)
        return (ctypes.cast(pointer, ctypes.c_void_p).value or 0, len(data), pointer, data)

    return convert


def _flat_back(
    headers: array[int],
    entries: tuple[tuple[list[Any], tuple[int, int, Any, bytes], int, Scalar], ...],
    function: str,
) -> None:
    """Write back the ``&mut`` lists of a flat fast call that Rust changed, all or nothing
    (and not at all if one changed size meanwhile: see :func:`pyo2._marshal.apply`)."""
    values = headers.tolist()
    updates = []
    for obj, (ptr0, n0, data, packed), k, elem in entries:
        ptr, n = values[2 * k], values[2 * k + 1]
        if ptr == ptr0 and n == n0:
            if data is None or data.tobytes() == packed:
                continue
            items = data.tolist()
        else:  # Rust moved the view (swapped it with another one)
            items = read_scalars(elem, ptr, n)
        updates.append((obj, n0, list(map(bool, items)) if elem is BOOL else items))
    apply(function, updates, [])


def _finish(
    state: _State,
    status: int,
    slot: tuple[_abi.CSlot, int],
    headers: array[int] | None,
    entries: tuple[Any, ...],
) -> Any:
    """The end of a fast exported call, but for a plain scalar result: result,
    write-back of ``entries`` (none without ``headers``), slot back."""
    sig = state.sig
    assert sig is not None and isinstance(sig.ret, Ret)
    try:
        try:
            result = _abi.outcome(state.name, status, sig.ret, slot[0])
        except RustPanic:
            raise  # nothing is written back after a panic
        except (RustError, ValueError):
            if headers is not None:
                _flat_back(headers, entries, state.name)
            raise
        if headers is not None:
            _flat_back(headers, entries, state.name)
        return result
    finally:
        _FREE_SLOTS.append(slot)


_MISSING = object()


def _arity(state: _State, args: tuple[Any, ...], extra: tuple[Any, ...]) -> None:
    """Raise the TypeError for a call with too many or too few arguments."""
    sig = state.sig
    assert sig is not None
    given = [a for a in args if a is not _MISSING]
    _bind(sig, (*given, *extra) if extra else (), {} if extra else dict(_given_by_name(sig, args)))


def _given_by_name(sig: Signature, args: tuple[Any, ...]) -> list[tuple[str, Any]]:
    return [(n, a) for (n, _), a in zip(sig.params, args) if a is not _MISSING]


def _keywords(
    state: _State, args: tuple[Any, ...], extra: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """The arguments of a call with keywords to a function whose Rust names
    Python can't spell: bound by the Rust names (or their NFKC form, which is
    what Python makes of ``f(ﬁ=1)``), or the TypeError :func:`_bind` raises."""
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
    given = [a for a in args if a is not _MISSING]  # positional-only: the ones given come first
    return _bind(sig, (*given, *extra), spelled)


def _py_name(name: str) -> str:
    """The name of the generated ``def`` (``__name__`` is set to the Rust name after)."""
    return name if _python_name(name) else "rust_function"


def _generated(
    state: _State,
    sig: Signature,
    general: Callable[[_State, tuple[Any, ...]], Any] = _general,
    converters: dict[str, Any] | None = None,
) -> Callable[..., Any]:
    namespace: dict[str, Any] = {
        "_pyo2_c": state.c,
        "_pyo2_state": state,
        "_pyo2_general": general,
        "_pyo2_ArgumentError": ctypes.ArgumentError,
        "_pyo2_pop": _FREE_SLOTS.pop,
        "_pyo2_push": _FREE_SLOTS.append,
        "_pyo2_new_slot": _new_slot,
        "_pyo2_M": _MISSING,
        "_pyo2_type": type,
        "_pyo2_int": int,
        "_pyo2_float": float,
        "_pyo2_IndexError": IndexError,
        "_pyo2_Retry": _Retry,
        "_pyo2_array": array,
        "_pyo2_W": WORD,
        "_pyo2_back": _flat_back,
        "_pyo2_finish": _finish,
        **(_converters(sig) if converters is None else converters),
        "_pyo2_arity": _arity,
        "_pyo2_keywords": _keywords,
    }
    source = _source(sig)
    # Generated from a parsed signature; no name in it comes from Rust unless
    # Python can spell it as it is (see _source). The file name is only shown.
    exec(compile(source, f"<pyo2 {sig}>".replace("\0", ""), "exec"), namespace)
    function: Callable[..., Any] = namespace[_py_name(sig.name)]
    function.__wrapped__ = namespace["_pyo2_template"]  # type: ignore[attr-defined]
    return function


def _bind(sig: Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    names = [name for name, _ in sig.params]
    if len(args) > len(names):
        raise TypeError(
            f"{sig.name}() takes {len(names)} positional argument{'s' * (len(names) != 1)} "
            f"but {len(args)} were given ({sig})"
        )
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError(f"{sig.name}() got an unexpected keyword argument {key!r} ({sig})")
        if key in bound:
            raise TypeError(f"{sig.name}() got multiple values for argument {key!r} ({sig})")
        bound[key] = value
    missing = [name for name in names if name not in bound]
    if missing:
        raise TypeError(f"{sig.name}() missing argument{'s' * (len(missing) > 1)} {missing} ({sig})")
    return tuple(bound[name] for name in names)


def make_function(dll: RustDLL, name: str, address: int, sig: Signature | None) -> Any:
    """The Python function for the Rust function ``name`` at ``address``."""
    state = _State(name, address, sig)
    if sig is None:

        def function(*args: Any, **kwargs: Any) -> None:
            return _inferred(state, args, kwargs)

        doc = f"fn {name}(...): the signature is inferred from the values of each call."
    else:
        function = _generated(state, sig)
        doc = str(sig) + (f"\n\n{sig.doc}" if sig.doc else "")
    function.__name__ = function.__qualname__ = name
    function.__module__ = "pyo2"
    function.__doc__ = doc
    attributes = function.__dict__
    attributes["dll"] = dll
    attributes["name"] = name
    attributes["signature"] = sig
    attributes["doc"] = sig.doc if sig is not None else ""
    return function
