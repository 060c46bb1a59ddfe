"""The Rust types that cross the boundary, mirrored from ``pyo2-rs``.

The C layout of ``PyVec<T>`` is defined once in the Rust crate
(``#[repr(C)] { ptr: *mut T, len: usize }``) and once here, in
:data:`PYVEC_LAYOUT`; a test on each side pins both.

This module is the bottom of the package: it imports no other pyo2 module.
"""

from __future__ import annotations

import ctypes
import struct
from array import array

__all__ = [
    "OWNED_BUF_LAYOUT",
    "PYVEC_LAYOUT",
    "SCALARS",
    "SELF",
    "SELF_MUT",
    "SELF_REF",
    "STR_ARG",
    "COwnedBuf",
    "CPyVec",
    "CallbackT",
    "Handle",
    "IterT",
    "Owned",
    "Param",
    "RType",
    "Ret",
    "Scalar",
    "Signature",
    "VecRef",
]

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from typing import Any, Literal, Union

    Kind = Literal["int", "float", "bool"]


class CPyVec(ctypes.Structure):
    """``PyVec<T>`` as C sees it: ``{ void *ptr; size_t len; }``."""

    _fields_ = [("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]


#: ``(size, align, offset of ptr, offset of len)`` of ``PyVec<T>``, for any ``T``.
PYVEC_LAYOUT: tuple[int, int, int, int] = (
    ctypes.sizeof(CPyVec),
    ctypes.alignment(CPyVec),
    CPyVec.ptr.offset,
    CPyVec.len.offset,
)


class COwnedBuf(ctypes.Structure):
    """``pyo2::abi::OwnedBuf``: a ``String`` or ``Vec<T>`` Rust hands over.

    ``{ void *ptr; size_t len; size_t cap; void (*drop)(OwnedBuf *); }``;
    ``drop`` frees it with the library's own allocator and resets it.
    """

    _fields_ = [
        ("ptr", ctypes.c_void_p),
        ("len", ctypes.c_size_t),
        ("cap", ctypes.c_size_t),
        ("drop", ctypes.c_void_p),
    ]


#: ``(size, align, offset of len, offset of cap, offset of drop)`` of ``OwnedBuf``.
OWNED_BUF_LAYOUT: tuple[int, int, int, int, int] = (
    ctypes.sizeof(COwnedBuf),
    ctypes.alignment(COwnedBuf),
    COwnedBuf.len.offset,
    COwnedBuf.cap.offset,
    COwnedBuf.drop.offset,
)

#: Bytes in one ``PyVec`` header, and in a pointer (a parameter of type ``&PyVec``).
HEADER_SIZE = PYVEC_LAYOUT[0]
POINTER_SIZE = ctypes.sizeof(ctypes.c_void_p)


class _Frozen:
    """A small immutable value: equality and hash from :meth:`_key`.

    What ``dataclass(frozen=True)`` would give, without importing
    :mod:`dataclasses` (and :mod:`inspect`) when pyo2 is imported.
    """

    __slots__ = ()

    def _key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _set(self, **fields: object) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    #: The fields in constructor order, for ``repr``.
    _fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"


def _array_code(kind: str, size: int) -> str:
    """The :mod:`array` type code with this kind and item size on this platform."""
    candidates = {"i": "bhilq", "u": "BHILQ", "f": "fd"}[kind]
    for code in candidates:
        if array(code).itemsize == size:
            return code
    raise RuntimeError(f"no array type code for {kind}{size * 8}")  # pragma: no cover


class Scalar(_Frozen):
    """A scalar Rust type passed by value or stored in a ``PyVec``."""

    __slots__ = ("code", "ctype", "hi", "kind", "lo", "name", "size")
    _fields = ("name", "kind", "size", "ctype", "code", "lo", "hi")
    name: str
    kind: Kind
    size: int
    ctype: type[ctypes._SimpleCData]  # type: ignore[type-arg]
    #: :mod:`array` type code of the element storage.
    code: str
    #: Inclusive bounds for integers (``0..=1`` for bool), ``None`` for floats.
    lo: int | None
    hi: int | None

    def __init__(  # noqa: PLR0917 (the fields, in order)
        self,
        name: str,
        kind: Kind,
        size: int,
        ctype: type[ctypes._SimpleCData],  # type: ignore[type-arg]
        code: str,
        lo: int | None = None,
        hi: int | None = None,
    ) -> None:
        self._set(name=name, kind=kind, size=size, ctype=ctype, code=code, lo=lo, hi=hi)

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.kind, self.size, self.ctype, self.code, self.lo, self.hi)

    def __str__(self) -> str:
        return self.name

    @property
    def align(self) -> int:
        return ctypes.alignment(self.ctype)

    def describe(self) -> str:
        """``u8`` → ``"u8 (an int in 0..=255)"``: what the type accepts, for messages."""
        if self.kind == "int":
            return f"{self.name} (an int in {self.lo}..={self.hi})"
        if self.kind == "bool":
            return "bool (True or False)"
        return f"{self.name} (a float)"


def _int(name: str, signed: bool, size: int, ctype: type[ctypes._SimpleCData]) -> Scalar:  # type: ignore[type-arg]
    bits = size * 8
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return Scalar(name, "int", size, ctype, _array_code("i" if signed else "u", size), lo, hi)


_PTR = ctypes.sizeof(ctypes.c_size_t)

#: Every scalar type by its Rust name.
SCALARS: dict[str, Scalar] = {
    s.name: s
    for s in [
        _int("i8", True, 1, ctypes.c_int8),
        _int("i16", True, 2, ctypes.c_int16),
        _int("i32", True, 4, ctypes.c_int32),
        _int("i64", True, 8, ctypes.c_int64),
        _int("isize", True, _PTR, ctypes.c_ssize_t),
        _int("u8", False, 1, ctypes.c_uint8),
        _int("u16", False, 2, ctypes.c_uint16),
        _int("u32", False, 4, ctypes.c_uint32),
        _int("u64", False, 8, ctypes.c_uint64),
        _int("usize", False, _PTR, ctypes.c_size_t),
        Scalar("f32", "float", 4, ctypes.c_float, _array_code("f", 4)),
        Scalar("f64", "float", 8, ctypes.c_double, _array_code("f", 8)),
        Scalar("bool", "bool", 1, ctypes.c_bool, "B", 0, 1),
    ]
}

assert struct.calcsize("?") == 1, "Rust's bool is one byte"

I64 = SCALARS["i64"]
F64 = SCALARS["f64"]
U8 = SCALARS["u8"]
BOOL = SCALARS["bool"]


class VecRef(_Frozen):
    """A reference to a ``PyVec<elem>``: ``&PyVec<T>`` or ``&mut PyVec<T>``.

    It is what a parameter of that type receives (a pointer to a header) and
    what an element of that type is (one pointer per element).
    """

    __slots__ = ("elem", "mutable", "slice", "utf8")
    _fields = ("elem", "mutable", "utf8", "slice")
    elem: RType
    mutable: bool
    #: ``&str``: the bytes must be UTF-8 (only a parameter of an exported function).
    utf8: bool
    #: Spelled ``&[T]`` / ``&mut [T]`` in the Rust source; the same C type as
    #: ``PyVec``, so not part of equality.
    slice: bool

    def __init__(self, elem: RType, mutable: bool, utf8: bool = False, slice: bool = False) -> None:
        self._set(elem=elem, mutable=mutable, utf8=utf8, slice=slice)

    def _key(self) -> tuple[Any, ...]:
        return (self.elem, self.mutable, self.utf8)

    def __str__(self) -> str:
        if self.utf8:
            return "&str"
        if self.slice:
            return f"&{'mut ' if self.mutable else ''}[{self.elem}]"
        if self.elem == U8 and not self.mutable:
            return "&PyStr"
        # An element type still unknown (from an empty list, during inference) shows as `_`.
        elem = "_" if self.elem is None else self.elem
        return f"&{'mut ' if self.mutable else ''}PyVec<{elem}>"


if TYPE_CHECKING:
    #: A type a parameter or a ``PyVec`` element can have.
    RType = Union[Scalar, VecRef]
    #: A type a parameter can have (an exported function's may be :class:`Rich`).
    Param = Union[Scalar, VecRef, "Rich", "CallbackT"]
else:  # typing is not imported at run time: the aliases stay importable, as text
    RType = "Scalar | VecRef"
    Param = "Scalar | VecRef | Rich | CallbackT"

PYSTR = VecRef(U8, mutable=False)


class Owned(_Frozen):
    """A ``String`` (``text``) or ``Vec<elem>`` that an exported function returns."""

    __slots__ = ("elem", "text")
    _fields = ("elem", "text")
    elem: Scalar
    text: bool

    def __init__(self, elem: Scalar, text: bool = False) -> None:
        self._set(elem=elem, text=text)

    def _key(self) -> tuple[Any, ...]:
        return (self.elem, self.text)

    def __str__(self) -> str:
        return "String" if self.text else f"Vec<{self.elem}>"


class Ret(_Frozen):
    """What an exported function returns: a value, maybe in ``Option`` and/or ``Result``."""

    __slots__ = ("error", "optional", "value")
    _fields = ("value", "optional", "error")
    #: ``None`` for ``()``.
    value: Scalar | Owned | ORet | IterT | None
    #: ``Option<value>``.
    optional: bool
    #: The error type's name in ``Result<_, E>``, or ``None`` when not a ``Result``.
    error: str | None

    def __init__(
        self, value: Scalar | Owned | ORet | IterT | None, optional: bool = False, error: str | None = None
    ) -> None:
        self._set(value=value, optional=optional, error=error)

    def _key(self) -> tuple[Any, ...]:
        return (self.value, self.optional, self.error)

    def __str__(self) -> str:
        text = "()" if self.value is None else str(self.value)
        if self.optional:
            text = f"Option<{text}>"
        if self.error is not None:
            text = f"Result<{text}, {self.error}>"
        return text


class Signature(_Frozen):
    """A function's C-ABI signature in Rust terms.

    ``str(sig)`` spells it back as Rust: ``fn scale(v: &mut PyVec<f64>, k: f64) -> f64``.
    Signatures are immutable and compare by name, parameters and return type.

    .. versionadded:: 0.2
    """

    __slots__ = ("doc", "name", "params", "ret")
    _fields = ("name", "params", "ret", "doc")
    name: str
    params: tuple[tuple[str, Param], ...]
    #: ``None`` for ``()``; a :class:`Ret` for a function exported with ``#[pyo2::export]``.
    ret: Scalar | Ret | None
    #: The doc comment of an exported function (not part of equality).
    doc: str

    def __init__(
        self, name: str, params: tuple[tuple[str, Param], ...], ret: Scalar | Ret | None = None, doc: str = ""
    ) -> None:
        self._set(name=name, params=params, ret=ret, doc=doc)

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.params, self.ret)

    @property
    def exported(self) -> bool:
        """Whether the function was exported with ``#[pyo2::export]`` (and so uses its ABI)."""
        return isinstance(self.ret, Ret)

    def __str__(self) -> str:
        params = ", ".join(str(t) if isinstance(t, Handle) else f"{n}: {t}" for n, t in self.params)
        ret = "" if self.ret is None or str(self.ret) == "()" else f" -> {self.ret}"
        return f"fn {self.name}({params}){ret}"


# ---------------------------------------------------------------------------
# Owned values and records (issue 12): the types of ``pyo2::abi``'s table
# "Owned values and their C mirrors". Each has an ``In`` mirror (what Python
# lays out for a parameter) and an ``Out`` mirror (what Rust hands over).


class OStr(_Frozen):
    """``String``."""

    __slots__ = ()

    def _key(self) -> tuple[Any, ...]:
        return ()

    def __str__(self) -> str:
        return "String"


class OVec(_Frozen):
    """``Vec<elem>``."""

    __slots__ = ("elem",)
    _fields = ("elem",)
    elem: OType

    def __init__(self, elem: OType) -> None:
        self._set(elem=elem)

    def _key(self) -> tuple[Any, ...]:
        return (self.elem,)

    def __str__(self) -> str:
        return f"Vec<{self.elem}>"


class OOpt(_Frozen):
    """``Option<inner>``."""

    __slots__ = ("inner",)
    _fields = ("inner",)
    inner: OType

    def __init__(self, inner: OType) -> None:
        self._set(inner=inner)

    def _key(self) -> tuple[Any, ...]:
        return (self.inner,)

    def __str__(self) -> str:
        return f"Option<{self.inner}>"


class OArr(_Frozen):
    """``[elem; n]`` (``elem`` a scalar or a plain record)."""

    __slots__ = ("elem", "n")
    _fields = ("elem", "n")
    elem: OType
    n: int

    def __init__(self, elem: OType, n: int) -> None:
        self._set(elem=elem, n=n)

    def _key(self) -> tuple[Any, ...]:
        return (self.elem, self.n)

    def __str__(self) -> str:
        return f"[{self.elem}; {self.n}]"


class OTup(_Frozen):
    """``(A, B, …)``."""

    __slots__ = ("items",)
    _fields = ("items",)
    items: tuple[OType, ...]

    def __init__(self, items: tuple[OType, ...]) -> None:
        self._set(items=items)

    def _key(self) -> tuple[Any, ...]:
        return (self.items,)

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.items)) + ")"


class ORec(_Frozen):
    """A record, by name; ``record`` is its layout once the library's
    ``__pyo2_record__NAME`` was read (a ``pyo2._records.RecordType``)."""

    __slots__ = ("name", "record")
    _fields = ("name",)
    name: str
    record: Any

    def __init__(self, name: str, record: Any = None) -> None:
        self._set(name=name, record=record)

    def _key(self) -> tuple[Any, ...]:
        return (self.name, None if self.record is None else self.record.hash)

    def __str__(self) -> str:
        return self.name


if TYPE_CHECKING:
    #: A type an owned value can have.
    OType = Union[Scalar, OStr, OVec, OOpt, OArr, OTup, ORec]
else:
    OType = "Scalar | OStr | OVec | OOpt | OArr | OTup | ORec"


class Rich(_Frozen):
    """A parameter of an exported function of the types of issue 12.

    ``mode``: ``"own"`` (``T`` by value: a pointer to its ``In`` mirror),
    ``"ref"`` / ``"mut"`` (``&P`` / ``&mut P``, a plain record lent in
    place), ``"slice"`` / ``"mslice"`` (``&[P]`` / ``&mut [P]``, a
    ``PyVec`` of plain records; ``pyvec`` when spelled ``&PyVec<P>``),
    ``"oslice"`` (``&[R]``, a ``PyVec`` of owned records' ``In`` mirrors),
    ``"optref"`` (``Option<&str>`` / ``Option<&[T]>``: ``view`` or null).
    """

    __slots__ = ("mode", "pyvec", "t", "view")
    _fields = ("mode", "t", "view")
    mode: str
    t: Any
    view: Any
    pyvec: bool

    def __init__(self, mode: str, t: Any = None, view: Any = None, pyvec: bool = False) -> None:
        self._set(mode=mode, t=t, view=view, pyvec=pyvec)

    def _key(self) -> tuple[Any, ...]:
        return (self.mode, self.t, self.view)

    @property
    def mutable(self) -> bool:
        return self.mode in ("mut", "mslice")

    def __str__(self) -> str:
        mode, t = self.mode, self.t
        if mode == "own":
            return str(t)
        if mode == "optref":
            return f"Option<{self.view}>"
        if mode in ("ref", "mut"):
            return f"&{'mut ' if mode == 'mut' else ''}{t}"
        m = "mut " if mode == "mslice" else ""
        return f"&{m}PyVec<{t}>" if self.pyvec else f"&{m}[{t}]"


class ORet(_Frozen):
    """A return of the types of issue 12 (an ``OwnedBuf`` holding ``Out(T)``s)."""

    __slots__ = ("t",)
    _fields = ("t",)
    t: OType

    def __init__(self, t: OType) -> None:
        self._set(t=t)

    def _key(self) -> tuple[Any, ...]:
        return (self.t,)

    def __str__(self) -> str:
        return str(self.t)


# ---------------------------------------------------------------------------
# Objects, iterators and callbacks (issue 13, descriptor version 2; see
# ``pyo2::abi``'s sections "Objects", "Iterators" and "Callbacks").


class Handle(Scalar):
    """An object's ``u64`` handle: the ``&self`` / ``&mut self`` parameter of
    a method, or the ``Self`` a constructor returns. It crosses as the
    ``u64`` it is (the slot's ``u64`` field), and is spelled as in Rust."""

    __slots__ = ("shown",)
    shown: str

    def __init__(self, shown: str) -> None:
        u = SCALARS["u64"]
        super().__init__(u.name, u.kind, u.size, u.ctype, u.code, u.lo, u.hi)
        self._set(shown=shown)

    def _key(self) -> tuple[Any, ...]:
        return (*super()._key(), self.shown)

    def __str__(self) -> str:
        return self.shown

    @property
    def mutable(self) -> bool:
        return self.shown == "&mut self"


#: ``&self``, ``&mut self`` (a method's first parameter) and ``Self`` (a constructor's return).
SELF_REF = Handle("&self")
SELF_MUT = Handle("&mut self")
SELF = Handle("Self")
#: A callback's ``&str`` argument.
STR_ARG = VecRef(U8, mutable=False, utf8=True)


class CallbackT(_Frozen):
    """A callback parameter: ``&mut dyn FnMut(A, …) -> R`` (scoped, valid for
    one call) or ``Callback<dyn Fn(A, …) -> R>`` (``stored``: Rust keeps it
    until it calls ``release``). Arguments are scalars, ``bool`` and ``&str``
    (:data:`STR_ARG`); the return a scalar, ``bool`` or ``()`` (None)."""

    __slots__ = ("args", "ret", "stored")
    _fields = ("stored", "args", "ret")
    stored: bool
    args: tuple[Scalar | VecRef, ...]
    ret: Scalar | None

    def __init__(self, stored: bool, args: tuple[Scalar | VecRef, ...], ret: Scalar | None) -> None:
        self._set(stored=stored, args=args, ret=ret)

    def _key(self) -> tuple[Any, ...]:
        return (self.stored, self.args, self.ret)

    def __str__(self) -> str:
        args = ", ".join(map(str, self.args))
        ret = "" if self.ret is None else f" -> {self.ret}"
        return f"Callback<dyn Fn({args}){ret}>" if self.stored else f"&mut dyn FnMut({args}){ret}"


class IterT(_Frozen):
    """``Iter<item>``: a return Python sees as an iterator of ``item``\\ s."""

    __slots__ = ("item",)
    _fields = ("item",)
    item: Scalar | Owned | ORet

    def __init__(self, item: Scalar | Owned | ORet) -> None:
        self._set(item=item)

    def _key(self) -> tuple[Any, ...]:
        return (self.item,)

    def __str__(self) -> str:
        return f"Iter<{self.item}>"
