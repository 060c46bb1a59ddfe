"""Conversions of single values, both ways, and the wording of argument errors.

- :func:`scalar` checks one Python value against a scalar Rust type;
- :func:`text` is the one conversion of a ``str`` or ``bytes`` to the bytes
  Rust reads for ``&PyStr`` / ``&str`` (every path uses it);
- :func:`read_scalars` and :func:`scalar_items` are the one conversion of
  scalars Rust wrote (or returned) back to Python values.

Every argument error names the function, the parameter and the Rust type it
wanted, then says what is wrong::

    sum_u8(): parameter 'v' (&PyVec<u8>): item [2]: 256 is out of range for u8 (0..=255)

Imports point down: only :mod:`pyo2._types`.
"""

from __future__ import annotations

import codecs
import ctypes
import math
import operator
import struct
from array import array

from ._types import BOOL, Scalar

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = ["Where", "lying_floats", "read_scalars", "scalar", "scalar_items", "show", "text"]


def _to_f32(value: float) -> float:
    """``value`` rounded to the nearest f32 (inf when it is out of range)."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def show(value: object) -> str:
    """A short description of a value for error messages: ``float (2.5)``.

    The value's own ``__repr__`` may raise or lie; then its type and address do.
    """
    try:
        text = repr(value)
        if type(text) is not str:
            raise TypeError
    except Exception:
        text = object.__repr__(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} ({text})"


class Where:
    """The place an argument error happened: function, parameter, Rust type."""

    __slots__ = ("function", "param", "rtype")

    def __init__(self, function: str, param: str, rtype: object) -> None:
        self.function = function
        self.param = param
        self.rtype = rtype

    def __str__(self) -> str:
        return f"{self.function}(): parameter {self.param} ({self.rtype})"

    def message(self, path: str, detail: str) -> str:
        """The full error message for ``detail`` at item ``path`` ("" for the argument itself)."""
        at = f": item {path}" if path else ""
        return f"{self}{at}: {detail}"

    def fail(self, exc: type[Exception], path: str, detail: str) -> NoReturn:
        raise exc(self.message(path, detail))


def scalar(t: Scalar, value: Any) -> int | float | bool:
    """Check ``value`` against scalar type ``t`` and return what crosses the ABI.

    Raises ``TypeError`` (with a detail message, no location) for a value of
    the wrong type and ``OverflowError`` for one out of ``t``'s range.
    """
    kind = t.kind
    cls = type(value)  # never isinstance: a lying __class__ must not count
    if kind == "float":
        if issubclass(cls, float):
            # A float subclass is read by its real value, as ctypes, struct
            # and array read it (its __float__ is not called).
            result = float.__float__(value)
        elif issubclass(cls, int):
            # So is an int subclass (bool too): by its int value, as an exact
            # int is (OverflowError when too large), never by its own __float__.
            result = int.__float__(value)
        elif issubclass(cls, (str, bytes)) or not (hasattr(cls, "__float__") or hasattr(cls, "__index__")):
            raise TypeError(f"got {show(value)}, expected {t.describe()}")
        else:
            result = float(value)
        if t.size == 4 and math.isfinite(result) and math.isinf(_to_f32(result)):
            # ctypes and array('f') would silently round it to inf.
            raise OverflowError(f"{value!r} is out of range for f32")
        return result
    try:
        number = int.__index__(value) if issubclass(cls, int) else operator.index(value)
    except TypeError:
        raise TypeError(f"got {show(value)}, expected {t.describe()}") from None
    if type(number) is not int:
        # An int subclass (returned as is before Python 3.10) could lie in its
        # comparisons: check and pass its plain value.
        number = int.__int__(number)
    assert t.lo is not None and t.hi is not None
    if not t.lo <= number <= t.hi:
        if kind == "bool":
            raise OverflowError(f"{number} is not a bool (True, False, 1 or 0)")
        raise OverflowError(f"{number} is out of range for {t.name} ({t.lo}..={t.hi})")
    return bool(number) if kind == "bool" else number


def lying_floats(items: Any) -> bool:
    """Whether any of ``items`` (a list or tuple) for a float is a subclass of
    ``int`` (not ``bool``): :mod:`struct`, :mod:`array` and ctypes would convert
    it by its own ``__float__``, which :func:`scalar` never calls.

    Costs one pass at C speed when every item is an exact ``float`` (or
    ``int``); runs no Python code of the items' classes.
    """
    types = list(map(type, items))
    n = len(types)
    found = types.count(float)
    if found == n:
        return False
    found += types.count(int)
    if found == n:
        return False
    return any(t is not float and t is not int and t is not bool and issubclass(t, int) for t in types)


def text(value: Any, utf8: bool) -> bytes:
    """The bytes Rust reads for ``value``, a ``str`` (as UTF-8) or ``bytes``.

    A subclass is read through its exact base type (its ``encode``,
    ``__len__`` or ``__bytes__`` could lie), so length and data come from one
    source. ``utf8``: the bytes must be UTF-8 (a ``&str`` parameter).

    Raises ``TypeError`` (no message) for any other value,
    ``UnicodeEncodeError`` for a ``str`` with a lone surrogate and
    ``UnicodeDecodeError`` for ``bytes`` that must be UTF-8 and are not.
    """
    cls = type(value)
    if cls is str:
        encoded: bytes = value.encode()
        return encoded
    if cls is bytes:
        raw: bytes = value
    elif issubclass(cls, str):
        return str.encode(value, "utf-8")
    elif issubclass(cls, bytes):
        raw = bytes.__getitem__(value, slice(None))
    else:
        raise TypeError
    if utf8:
        codecs.utf_8_decode(raw, "strict", True)
    return raw


def scalar_items(t: Scalar, data: array[Any]) -> list[Any]:
    """The Python values of an array of ``t`` (``bool`` elements as ``bool``)."""
    items = data.tolist()
    return list(map(bool, items)) if t is BOOL else items


def read_scalars(t: Scalar, ptr: int, n: int) -> list[Any]:
    """``n`` values of ``t`` at ``ptr`` (memory Rust wrote or pointed a header at)."""
    if not n:
        return []
    return scalar_items(t, array(t.code, ctypes.string_at(ptr, n * t.size)))
