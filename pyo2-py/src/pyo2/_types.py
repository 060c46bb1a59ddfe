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
from typing import Any, Literal, Union

__all__ = [
    "OWNED_BUF_LAYOUT",
    "PYVEC_LAYOUT",
    "SCALARS",
    "COwnedBuf",
    "CPyVec",
    "Owned",
    "RType",
    "Ret",
    "Scalar",
    "Signature",
    "VecRef",
]

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


#: A type a parameter or a ``PyVec`` element can have.
RType = Union[Scalar, VecRef]

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
    value: Scalar | Owned | None
    #: ``Option<value>``.
    optional: bool
    #: The error type's name in ``Result<_, E>``, or ``None`` when not a ``Result``.
    error: str | None

    def __init__(
        self, value: Scalar | Owned | None, optional: bool = False, error: str | None = None
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
    params: tuple[tuple[str, RType], ...]
    #: ``None`` for ``()``; a :class:`Ret` for a function exported with ``#[pyo2::export]``.
    ret: Scalar | Ret | None
    #: The doc comment of an exported function (not part of equality).
    doc: str

    def __init__(
        self, name: str, params: tuple[tuple[str, RType], ...], ret: Scalar | Ret | None = None, doc: str = ""
    ) -> None:
        self._set(name=name, params=params, ret=ret, doc=doc)

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.params, self.ret)

    @property
    def exported(self) -> bool:
        """Whether the function was exported with ``#[pyo2::export]`` (and so uses its ABI)."""
        return isinstance(self.ret, Ret)

    def __str__(self) -> str:
        params = ", ".join(f"{n}: {t}" for n, t in self.params)
        ret = "" if self.ret is None or str(self.ret) == "()" else f" -> {self.ret}"
        return f"fn {self.name}({params}){ret}"
