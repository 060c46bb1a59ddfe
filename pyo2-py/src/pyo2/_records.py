"""Records and owned values (issue 12): layouts, classes, packing and reading.

The contract is ``pyo2::abi``'s documentation (the tables "Owned values and
their C mirrors", "Parameters", "Returns" and the section "Records"):

- :func:`load_record` reads a library's ``__pyo2_record__NAME`` descriptor
  into a :class:`RecordType` (its layout is the derive's, never re-derived
  from a buffer format; it is only checked to be self-consistent), and
  :func:`record_type` gives the one per layout hash in the process, with its
  one generated class (:func:`make_class`);
- :class:`Packer` lays out ``In`` mirrors of parameters in memory Python
  owns, and :class:`RecordBack` writes what Rust changed in a ``&mut``
  record (or list of them) back into the same Python objects, field by
  field, all or nothing;
- :func:`take` reads an ``OwnedBuf`` of ``Out`` mirrors Rust returned into
  Python objects, then frees it by its one outermost ``drop``.

Imports point down: :mod:`pyo2._runtime`, :mod:`pyo2._abi` and
:mod:`pyo2._dll` use this module; it uses :mod:`pyo2._convert`,
:mod:`pyo2._errors` and :mod:`pyo2._types`.
"""

from __future__ import annotations

import ctypes
import math
import operator
import struct
import sys
from array import array
from collections import deque
from itertools import chain, compress, repeat, starmap
from types import GetSetDescriptorType, MemberDescriptorType

from ._convert import lying_floats, read_scalars, scalar, show, text
from ._errors import Pyo2Error
from ._types import BOOL, U8, COwnedBuf, OArr, OOpt, ORec, OStr, OTup, OType, OVec, Scalar

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from typing import Any, Callable, NoReturn

__all__ = [
    "RECORD_PREFIX",
    "Packer",
    "RecordBack",
    "RecordType",
    "load_record",
    "take",
]

#: Prefix of the symbol holding a record's descriptor.
RECORD_PREFIX = "__pyo2_record__"

_PTR = ctypes.sizeof(ctypes.c_void_p)
#: ``{ptr, len}``: a ``PyVec`` / ``PyStr`` header.
_HEADER = struct.Struct("@PN")
#: ``{ptr, len, cap, drop}``: an ``OwnedBuf``.
_BUF = struct.Struct("@PNNP")
_POINTER = struct.Struct("@P")
assert _HEADER.size == 2 * _PTR and _BUF.size == ctypes.sizeof(COwnedBuf)

#: struct codes (standard sizes, no alignment) of the scalars.
_CODE = {
    "i8": "b",
    "u8": "B",
    "i16": "h",
    "u16": "H",
    "i32": "i",
    "u32": "I",
    "i64": "q",
    "u64": "Q",
    "isize": "q" if _PTR == 8 else "i",
    "usize": "Q" if _PTR == 8 else "I",
    "f32": "f",
    "f64": "d",
    "bool": "?",
}
_SCALAR_STRUCTS = {name: struct.Struct("=" + code) for name, code in _CODE.items()}


# ---------------------------------------------------------------------------
# Layouts.


def _c_struct(parts: list[tuple[int, int]]) -> tuple[list[int], int, int]:
    """C's layout of fields of ``(size, align)``: their offsets, the size and the alignment."""
    offsets = []
    end = 0
    align = 1
    for size, a in parts:
        end = -(-end // a) * a
        offsets.append(end)
        end += size
        align = max(align, a)
    return offsets, -(-end // align) * align, align


def in_layout(t: OType) -> tuple[int, int]:
    """``(size, align)`` of ``In(t)``."""
    if isinstance(t, Scalar):
        return t.size, t.align
    if isinstance(t, (OStr, OVec)):
        return _HEADER.size, _PTR
    if isinstance(t, OOpt):
        return _PTR, _PTR
    if isinstance(t, OArr):
        size, align = in_layout(t.elem)
        return size * t.n, align
    if isinstance(t, OTup):
        _, size, align = _c_struct([in_layout(i) for i in t.items])
        return size, align
    rec = t.record
    return rec.in_size, rec.in_align


def out_layout(t: OType) -> tuple[int, int]:
    """``(size, align)`` of ``Out(t)``."""
    if isinstance(t, Scalar):
        return t.size, t.align
    if isinstance(t, (OStr, OVec, OOpt)):
        return _BUF.size, _PTR
    if isinstance(t, OArr):
        size, align = out_layout(t.elem)
        return size * t.n, align
    if isinstance(t, OTup):
        _, size, align = _c_struct([out_layout(i) for i in t.items])
        return size, align
    rec = t.record
    return rec.size, rec.align


def _plain(t: OType) -> bool:
    """A ``PlainField``: a scalar, an array of them, a plain record."""
    if isinstance(t, Scalar):
        return True
    if isinstance(t, OArr):
        return _plain(t.elem)
    return isinstance(t, ORec) and t.record is not None and t.record.plain


# ---------------------------------------------------------------------------
# Record types: one per layout hash in the process, each with one class.


def fnv1a(data: bytes) -> int:
    """FNV-1a, 64 bits (the record descriptors' hash)."""
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class Field:
    """One field of a record: name, type, offsets in the ``Out`` and ``In`` mirrors."""

    __slots__ = ("inoff", "name", "off", "t")

    def __init__(self, name: str, t: OType, off: int, inoff: int) -> None:
        self.name = name
        self.t = t
        self.off = off
        self.inoff = inoff


class RecordType:
    """A record's layout, as its descriptor says, and its Python class."""

    def __init__(
        self, name: str, plain: bool, sizes: tuple[int, int, int, int], hash_: str, doc: str
    ) -> None:
        self.name = name
        self.plain = plain
        self.size, self.align, self.in_size, self.in_align = sizes
        self.hash = hash_
        self.doc = doc
        self.fields: list[Field] = []
        #: The descriptor's lines 2 to the last field (what the hash covers,
        #: with the hash), and those of every record it names: for pickling.
        self.text = ""
        self.cls: Any = None
        #: What a return builds: ``cls``, or a class bound by ``types.bind``.
        self.factory: Any = None
        self.names: tuple[str, ...] = ()
        #: ``operator.attrgetter`` of every field (the generated class' slots).
        self.getter: Any = None
        # Plain records: one struct.Struct of the leaves, in offset order.
        self.struct: struct.Struct | None = None
        self.leaves: list[Scalar] = []
        self.bools: list[int] = []
        #: Whether a leaf is a float: an int subclass there must not pack by
        #: its own ``__float__`` (see :func:`pyo2._convert.lying_floats`).
        self.floats = False
        self.flat = False  # every field a scalar: a leaf per field
        #: A flat record of one struct code and no padding: that code (lists
        #: of it pack as one run of ``code``), else "".
        self.run = ""
        self._dtype: Any = None

    def layout_text(self) -> str:
        """The layout, one field a line (for mismatch messages)."""
        rows = [f"{f.name}: {f.t} @{f.off}" + ("" if self.plain else f" in@{f.inoff}") for f in self.fields]
        return f"{self.name} (size {self.size}, align {self.align}): " + ", ".join(rows)

    def __repr__(self) -> str:
        return f"<record {self.name} {self.hash}>"


#: Every record type in the process, by its layout hash.
_REGISTRY: dict[str, RecordType] = {}


def _fail(path: str, name: str, why: str) -> NoReturn:
    raise Pyo2Error(f"{path!r}: the record descriptor of {name!r} is not valid: {why}")


def _parse_size(word: str, key: str, path: str, name: str) -> int:
    k, _, v = word.partition("=")
    if k != key or not v.isdigit() or len(v) > 12:
        _fail(path, name, f"expected {key}=N, found {word!r}")
    return int(v)


def _field_name(text: str) -> bool:
    return text.isidentifier() and not text.startswith("__") and not text.startswith("_pyo2")


def load_record(cdll: Any, path: str, name: str, cache: dict[str, RecordType]) -> RecordType:
    """The record ``name`` of the library ``cdll`` (loaded from ``path``),
    read from its ``__pyo2_record__NAME`` once per library (``cache``)."""
    rec = cache.get(name)
    if rec is not None:
        return rec
    from ._signature import _Parser  # the owned-type grammar of function descriptors

    if not name.isidentifier() or len(name) > 200:
        raise Pyo2Error(f"{path!r}: {name!r} is not a record name")
    try:
        pointer = cdll[RECORD_PREFIX + name]
    except AttributeError:
        raise AttributeError(
            f"{path!r} exports no record {name!r} (no symbol {RECORD_PREFIX}{name}: "
            "is the struct #[derive(pyo2::Record)] and linked into this library?)"
        ) from None
    address = ctypes.cast(pointer, ctypes.c_void_p).value
    text_address = ctypes.CFUNCTYPE(ctypes.c_void_p)(address or 0)()
    if not text_address:
        _fail(path, name, "it is empty")
    raw = ctypes.string_at(text_address).decode("utf-8", "replace")
    lines = raw.split("\n")
    if len(lines) < 2 or lines[0] != "pyo2-record 1":
        if lines[0].startswith("pyo2-record "):
            raise Pyo2Error(
                f"{path!r}: the record {name!r} was described with pyo2 ABI {lines[0][12:]!r}, "
                "but this pyo2 package reads version 1; use matching versions of the crate and the package"
            )
        _fail(path, name, f"it starts {lines[0]!r}")
    head = lines[1].split(" ")
    if len(head) not in (6, 8) or head[0] != "struct" or head[1] != name or head[2] not in ("plain", "owned"):
        _fail(path, name, f"line 2 is {lines[1]!r}")
    plain = head[2] == "plain"
    if len(head) != (6 if plain else 8):
        _fail(path, name, f"line 2 is {lines[1]!r}")
    size = _parse_size(head[3], "size", path, name)
    align = _parse_size(head[4], "align", path, name)
    in_size, in_align = (size, align)
    if not plain:
        in_size = _parse_size(head[5], "in_size", path, name)
        in_align = _parse_size(head[6], "in_align", path, name)
    hash_word = head[-1]
    if not hash_word.startswith("hash=") or len(hash_word) != 21:
        _fail(path, name, f"expected hash=H, found {hash_word!r}")
    hash_ = hash_word[5:]
    end = lines.index("", 2) if "" in lines[2:] else len(lines)
    field_lines = lines[2:end]
    doc = "\n".join(lines[end + 1 :])
    covered = " ".join(head[:-1]) + "".join("\n" + line for line in field_lines)
    if f"{fnv1a(covered.encode()):016x}" != hash_:
        _fail(path, name, "its hash does not match its text")
    rec = RecordType(name, plain, (size, align, in_size, in_align), hash_, doc)
    cache[name] = rec  # before the fields: a field may name the record itself
    try:
        for line in field_lines:
            fname, colon, rest = line.partition(": ")
            if not colon or not _field_name(fname):
                _fail(path, name, f"bad field line {line!r}")
            spelled, _, offsets = (
                rest.rpartition(" @") if plain else rest.rpartition(" in@")[0].rpartition(" @")
            )
            inoff_text = "" if plain else rest.rpartition(" in@")[2]
            if not offsets.isdigit() or not (plain or inoff_text.isdigit()):
                _fail(path, name, f"bad field line {line!r}")
            parser = _Parser(spelled, exported=True)
            try:
                t = parser.otype(1)
            except Exception as e:
                _fail(path, name, f"field {fname!r}: {e}")
            if parser.tok.kind != "end":
                _fail(path, name, f"field {fname!r}: bad type {spelled!r}")
            t = resolve(t, lambda n: load_record(cdll, path, n, cache))
            off = int(offsets)
            rec.fields.append(Field(fname, t, off, off if plain else int(inoff_text)))
        _check(rec, path)
    except BaseException:
        del cache[name]
        raise
    registered = record_type(rec)
    cache[name] = registered
    return registered


def _check(rec: RecordType, path: str) -> None:
    """Refuse a layout that isn't self-consistent (so no read leaves its memory)."""
    names = [f.name for f in rec.fields]
    if len(set(names)) != len(names):
        _fail(path, rec.name, "two fields have one name")
    for size, align, key in ((rec.size, rec.align, ""), (rec.in_size, rec.in_align, "in_")):
        if align < 1 or align & (align - 1) or size % align or size > 1 << 30:
            _fail(path, rec.name, f"{key}size {size} / {key}align {align}")
    for mirror in ("out", "in"):
        spans = []
        for f in rec.fields:
            if rec.plain and not _plain(f.t):
                _fail(path, rec.name, f"plain record with field {f.name!r} of type {f.t}")
            if f.t == ORec(rec.name) and isinstance(f.t, ORec) and f.t.record is rec:
                _fail(path, rec.name, "a record holds itself")
            fsize, falign = out_layout(f.t) if mirror == "out" else in_layout(f.t)
            off = f.off if mirror == "out" else f.inoff
            limit = rec.size if mirror == "out" else rec.in_size
            if off % falign or off + fsize > limit:
                _fail(path, rec.name, f"field {f.name!r} at {off} ({fsize} bytes) doesn't fit")
            spans.append((off, off + fsize))
        spans.sort()
        if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
            _fail(path, rec.name, "fields overlap")


def record_type(rec: RecordType) -> RecordType:
    """The process' record type with ``rec``'s layout (``rec`` itself the first time)."""
    known = _REGISTRY.get(rec.hash)
    if known is not None:
        if [(f.name, str(f.t), f.off, f.inoff) for f in known.fields] != [
            (f.name, str(f.t), f.off, f.inoff) for f in rec.fields
        ] or (known.name, known.size, known.in_size) != (rec.name, rec.size, rec.in_size):
            raise Pyo2Error(
                f"two record layouts share the hash {rec.hash}: {known.layout_text()} and {rec.layout_text()}"
            )
        return known
    _prepare(rec)
    _REGISTRY[rec.hash] = rec
    return rec


def _leaves(t: OType, off: int, out: list[tuple[int, Scalar]]) -> None:
    if isinstance(t, Scalar):
        out.append((off, t))
    elif isinstance(t, OArr):
        size = out_layout(t.elem)[0]
        for i in range(t.n):
            _leaves(t.elem, off + i * size, out)
    else:
        assert isinstance(t, ORec)
        for f in t.record.fields:
            _leaves(f.t, off + f.off, out)


def _prepare(rec: RecordType) -> None:
    rec.names = tuple(f.name for f in rec.fields)
    rec.getter = operator.attrgetter(*rec.names) if rec.names else (lambda obj: ())
    texts = [f"{f.name}: {f.t} @{f.off}" + ("" if rec.plain else f" in@{f.inoff}") for f in rec.fields]
    kind = "plain" if rec.plain else "owned"
    sizes = f"size={rec.size} align={rec.align}"
    if not rec.plain:
        sizes += f" in_size={rec.in_size} in_align={rec.in_align}"
    rec.text = "\n".join([f"struct {rec.name} {kind} {sizes} hash={rec.hash}", *texts])
    if rec.plain:
        leaves: list[tuple[int, Scalar]] = []
        for f in rec.fields:
            _leaves(f.t, f.off, leaves)
        leaves.sort(key=lambda x: x[0])
        fmt = "="
        at = 0
        for off, t in leaves:
            fmt += "x" * (off - at) + _CODE[t.name]
            at = off + t.size
        fmt += "x" * (rec.size - at)
        rec.struct = struct.Struct(fmt)
        rec.leaves = [t for _, t in leaves]
        rec.bools = [i for i, t in enumerate(rec.leaves) if t is BOOL]
        rec.floats = any(t.kind == "float" for t in rec.leaves)
        rec.flat = all(isinstance(f.t, Scalar) for f in rec.fields) and [f.off for f in rec.fields] == [
            off for off, _ in leaves
        ]
        codes = {_CODE[t.name] for t in rec.leaves}
        padded = rec.struct.size != struct.calcsize(fmt.replace("x", ""))
        if rec.flat and len(codes) == 1 and not padded:
            rec.run = codes.pop()
    rec.cls = rec.factory = make_class(rec)


# ---------------------------------------------------------------------------
# The generated classes.


class RecordMeta(type):
    """The metaclass of record classes: ``Point.dtype``, ``Point.layout``."""

    _pyo2_record: RecordType

    @property
    def dtype(cls) -> Any:
        """The numpy dtype of the record's layout (aligned, as C lays it out)."""
        rec = cls._pyo2_record
        if rec._dtype is None:
            rec._dtype = _dtype(rec)
        return rec._dtype

    @property
    def layout(cls) -> str:
        """The record's fields, types and offsets, as its descriptor gives them."""
        return cls._pyo2_record.layout_text()


class Record(metaclass=RecordMeta):
    """The base of the classes of ``dll.types``: slots, construction by
    position or keyword, ``==``, ``repr``, ``match``, pickling."""

    __slots__ = ()
    _pyo2_record: RecordType

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self._pyo2_record.names
        if len(args) > len(names):
            raise TypeError(
                f"{type(self).__name__}() takes {len(names)} arguments but {len(args)} were given"
            )
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{type(self).__name__}() got multiple values for argument {key!r}")
            values[key] = value
        missing = [n for n in names if n not in values]
        if missing:
            raise TypeError(f"{type(self).__name__}() missing field(s): {', '.join(map(repr, missing))}")
        setter = object.__setattr__
        for key in names:
            setter(self, key, values[key])

    def __repr__(self) -> str:
        cls = type(self)
        parts = []
        for name in cls._pyo2_record.names:
            try:
                value = repr(getattr(self, name))
            except AttributeError:
                value = "<unset>"
            parts.append(f"{name}={value}")
        return f"{cls.__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        getter = operator.attrgetter(*self._pyo2_record.names) if self._pyo2_record.names else None
        return getter is None or bool(getter(self) == getter(other))

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __reduce__(self) -> tuple[Any, ...]:
        rec = self._pyo2_record
        return (_rebuild, (_texts(rec), rec.hash, tuple(getattr(self, n) for n in rec.names)))


def make_class(rec: RecordType) -> type:
    """The class of ``rec`` (no generated code: names only become slots)."""
    names = tuple(f.name for f in rec.fields)
    fields = ", ".join(f"{f.name}: {f.t}" for f in rec.fields)
    doc = rec.doc or f"The Rust record {rec.name}."
    namespace = {
        "__slots__": names,
        "__match_args__": names,
        "__doc__": f"{rec.name}({fields})\n\n{doc}",
        "__module__": "pyo2.types",
        "__qualname__": rec.name,
        "_pyo2_record": rec,
    }
    return RecordMeta(rec.name, (Record,), namespace)


def _texts(rec: RecordType) -> tuple[str, ...]:
    """The descriptor texts of ``rec`` and of every record it names (for pickling)."""
    seen: dict[str, str] = {}

    def walk(r: RecordType) -> None:
        if r.hash in seen:
            return
        seen[r.hash] = r.text
        for f in r.fields:
            for sub in _records_in(f.t):
                walk(sub)

    walk(rec)
    return tuple(seen.values())


def _records_in(t: OType) -> list[RecordType]:
    if isinstance(t, ORec):
        return [t.record]
    if isinstance(t, (OVec, OOpt, OArr)):
        return _records_in(t.elem if not isinstance(t, OOpt) else t.inner)
    if isinstance(t, OTup):
        return [r for item in t.items for r in _records_in(item)]
    return []


class _TextLibrary:
    """Descriptors given as text (unpickling), read as a library's."""

    def __init__(self, texts: tuple[str, ...]) -> None:
        self.by_name: dict[str, Any] = {}
        for t in texts:
            name = t.split(" ", 2)[1]
            data = ctypes.create_string_buffer(f"pyo2-record 1\n{t}".encode())
            callback = ctypes.CFUNCTYPE(ctypes.c_void_p)(lambda d=data: ctypes.addressof(d))
            self.by_name[RECORD_PREFIX + name] = (callback, data)

    def __getitem__(self, name: str) -> Any:
        try:
            return self.by_name[name][0]
        except KeyError:
            raise AttributeError(name) from None


def _rebuild(texts: tuple[str, ...], hash_: str, values: tuple[Any, ...]) -> Any:
    """Unpickle a record: its class (made again from its layout if this
    process has not seen it), then the instance."""
    rec = _REGISTRY.get(hash_)
    if rec is None:
        library = _TextLibrary(texts)
        name = next(t.split(" ", 2)[1] for t in texts if t.rsplit("hash=", 1)[-1].split("\n")[0] == hash_)
        rec = load_record(library, "<pickle>", name, {})
    return rec.cls(*values)


def bind(rec: RecordType, cls: Any) -> None:
    """Make returns of ``rec`` build ``cls(**fields)`` (None: the generated class again)."""
    if cls is None:
        rec.factory = rec.cls
        return
    if not callable(cls):
        raise TypeError(f"bind({rec.name!r}, ...) takes a class, got {show(cls)}")
    rec.factory = cls


# ---------------------------------------------------------------------------
# numpy (imported only when the user passes a numpy object, or asks for a dtype).


def _np_format(t: OType) -> Any:
    if isinstance(t, Scalar):
        return "?" if t is BOOL else f"{'f' if t.kind == 'float' else ('i' if t.lo else 'u')}{t.size}"
    if isinstance(t, OArr):
        return (_np_format(t.elem), (t.n,))
    assert isinstance(t, ORec)
    return _dtype(t.record)


def _dtype(rec: RecordType) -> Any:
    import numpy as np

    if not rec.plain:
        raise TypeError(f"{rec.name} is an owned record (it has owned fields): it has no numpy dtype")
    return np.dtype(
        {
            "names": [f.name for f in rec.fields],
            "formats": [_np_format(f.t) for f in rec.fields],
            "offsets": [f.off for f in rec.fields],
            "itemsize": rec.size,
        },
        align=True,
    )


def _ndarray(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _show_dtype(dtype: Any) -> str:
    try:
        fields = dtype.fields
        if not fields:
            return f"{dtype} (itemsize {dtype.itemsize})"
        rows = [f"{n}: {f[0]} @{f[1]}" for n, f in sorted(fields.items(), key=lambda kv: kv[1][1])]
        return f"itemsize {dtype.itemsize}: " + ", ".join(rows)
    except Exception:  # pragma: no cover - a dtype that can't describe itself
        return repr(dtype)


# ---------------------------------------------------------------------------
# Resolution: records named in a signature, read from the library.


def resolve(t: Any, lookup: Callable[[str], RecordType]) -> Any:
    """``t`` with every :class:`ORec` carrying its :class:`RecordType`."""
    if isinstance(t, ORec):
        return t if t.record is not None else ORec(t.name, lookup(t.name))
    if isinstance(t, OVec):
        return OVec(resolve(t.elem, lookup))
    if isinstance(t, OOpt):
        return OOpt(resolve(t.inner, lookup))
    if isinstance(t, OArr):
        return OArr(resolve(t.elem, lookup), t.n)
    if isinstance(t, OTup):
        return OTup(tuple(resolve(i, lookup) for i in t.items))
    return t


def has_records(t: Any) -> bool:
    if isinstance(t, ORec):
        return True
    if isinstance(t, (OVec, OArr)):
        return has_records(t.elem)
    if isinstance(t, OOpt):
        return has_records(t.inner)
    if isinstance(t, OTup):
        return any(map(has_records, t.items))
    return False


# ---------------------------------------------------------------------------
# Reading Python values: duck-typed records and sequences, through base types.

_MISSING = object()


def _sequence(value: Any) -> list[Any] | None:
    """The items of a list, tuple or range, read through the base type (None otherwise)."""
    cls = type(value)
    if cls is list or cls is tuple:
        return list(value)
    if issubclass(cls, list):
        return list.copy(value)
    if issubclass(cls, tuple):
        return list(tuple.__getitem__(value, slice(None)))
    if cls is range:
        return list(value)
    return None


class _Reader:
    """How one record's fields are read from a Python object, and written back."""

    @staticmethod
    def kind(rec: RecordType, obj: Any) -> str:
        cls = type(obj)
        if issubclass(cls, Record) and cls._pyo2_record is rec and cls is rec.cls:
            return "slots"
        if issubclass(cls, dict):
            return "dict"
        if issubclass(cls, tuple):
            return "tuple"
        if issubclass(cls, (list, str, bytes, bytearray, int, float, complex, type(None))):
            return "refuse"
        return "attr"


def read_fields(rec: RecordType, obj: Any) -> tuple[str, list[Any]]:
    """``(kind, values)``: the fields of ``obj`` in order, each read once
    (``_MISSING`` for a missing one). ``kind`` is how they were read."""
    kind = _Reader.kind(rec, obj)
    names = rec.names
    if kind == "slots":
        try:
            got = rec.getter(obj)  # every slot at C speed
        except AttributeError:  # one is unset (made with object.__new__): mark it missing
            values = [getattr(obj, n, _MISSING) for n in names]
        else:
            values = list(got) if len(names) != 1 else [got]
    elif kind == "dict":
        get = dict.get
        values = [get(obj, n, _MISSING) for n in names]
    elif kind == "tuple":
        items = list(tuple.__getitem__(obj, slice(None)))
        values = items[: len(names)] + [_MISSING] * (len(names) - len(items))
        if len(items) > len(names):
            values = [_MISSING] * len(names)
            kind = "long tuple"
    elif kind == "refuse":
        values = []
    else:
        values = []
        for n in names:
            try:
                values.append(getattr(obj, n))
            except AttributeError:
                values.append(_MISSING)
    return kind, values


# ---------------------------------------------------------------------------
# Packing In mirrors.


class ArgError(Exception):
    """A bad value at a path inside an argument: ``(exc type, path, rust type, detail)``."""


def _bad(exc: type[Exception], path: str, t: object, detail: str) -> NoReturn:
    raise ArgError(exc, path, t, detail)


def check_scalar(t: Scalar, value: Any, path: str) -> Any:
    if value is _MISSING:
        _bad(TypeError, path, t, "missing")
    try:
        return scalar(t, value)
    except (TypeError, OverflowError) as e:
        kind, detail = type(e), str(e)  # not e: its traceback would hold this frame in a cycle
    _bad(kind, path, t, detail)


# -- Lists of plain records at C speed --------------------------------------

#: A class' own attributes and MRO, read past any metaclass.
_TYPE_DICT = type.__dict__["__dict__"].__get__
_TYPE_MRO = type.__dict__["__mro__"].__get__
_TYPE_FLAGS = type.__dict__["__flags__"].__get__
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement
_OBJECT_GETATTRIBUTE = object.__dict__["__getattribute__"]
_OBJECT_SETATTR = object.__dict__["__setattr__"]
#: Class attributes a field may shadow (a dataclass' defaults): values, not descriptors.
_CLASS_VALUES = (int, float, bool, str, bytes, type(None))


#: :func:`_plain_class`'s answers, by ``id`` of the class (no metaclass'
#: ``__hash__`` runs): ``(cls, names, mro, gets, watched, prints, answer)``:
#: ``gets`` reads the namespace of each class of the MRO but ``object`` (a
#: live view), ``prints`` what each held under the ``watched`` names (the
#: fields and the attribute-access names) when the answer was found.
#: Bounded, as classes come and go.
_PLAIN: dict[int, tuple[Any, ...]] = {}
_PLAIN_MAX = 64
_ACCESS = ("__dict__", "__getattribute__", "__setattr__", "__getattr__")


def _plain_class(cls: type, names: tuple[str, ...]) -> bool:
    """:func:`_plain_class_now`, remembered per class while its MRO and what
    its classes hold under the names it reads stay the same (compared by
    identity, at C speed: a class changed since, say a field made a
    property, is judged again)."""
    hit = _PLAIN.get(id(cls))
    if hit is not None and hit[0] is cls and hit[1] == names and _TYPE_MRO(cls) is hit[2]:
        watched = hit[4]
        is_ = operator.is_
        for get, held in zip(hit[3], hit[5]):
            if not all(map(is_, map(get, watched), held)):
                break
        else:
            found: bool = hit[6]
            return found
    answer = _plain_class_now(cls, names)
    try:
        mro = _TYPE_MRO(cls)
        gets = [_TYPE_DICT(b).get for b in mro if b is not object]
    except (TypeError, AttributeError):  # pragma: no cover - not a class
        return answer
    watched = (*names, *_ACCESS)
    if len(_PLAIN) >= _PLAIN_MAX:
        _PLAIN.clear()
    _PLAIN[id(cls)] = (cls, names, mro, gets, watched, [tuple(map(get, watched)) for get in gets], answer)
    return answer


def _plain_class_now(cls: type, names: tuple[str, ...]) -> bool:
    """Whether reading and setting ``names`` on an instance of ``cls`` runs no Python code and
    can't fail once read.

    ``cls`` and its bases are classes made by class statements (no built-in
    or C type but ``object``); attribute access is ``object``'s own (no
    ``__getattribute__``, ``__getattr__`` or ``__setattr__``); each name is a
    slot of the class, or, with instances having a ``__dict__``, absent from
    the class or a plain value there (a dataclass default). What the class
    says is read past its metaclass. (Instances have a ``__dict__`` when a
    class of the MRO has its ``__dict__`` descriptor, as CPython and PyPy
    both make it.)
    """
    try:
        mro = _TYPE_MRO(cls)
        if any(b is not object and not _TYPE_FLAGS(b) & _HEAPTYPE for b in mro):
            return False
        dicts = [_TYPE_DICT(b) for b in mro]
    except (TypeError, AttributeError):  # pragma: no cover - not a class
        return False

    def lookup(name: str) -> Any:
        for d in dicts:
            if name in d:
                return d[name]
        return _MISSING

    def ours(descriptor: Any) -> bool:
        """A descriptor made for a class of the MRO (not one copied from another class)."""
        return any(b is descriptor.__objclass__ for b in mro)

    instance_dict = lookup("__dict__")
    has_dict = type(instance_dict) is GetSetDescriptorType and ours(instance_dict)

    if (
        lookup("__getattribute__") is not _OBJECT_GETATTRIBUTE
        or lookup("__setattr__") is not _OBJECT_SETATTR
        or lookup("__getattr__") is not _MISSING
    ):
        return False
    for name in names:
        attr = lookup(name)
        if type(attr) is MemberDescriptorType and ours(attr):
            continue
        if not has_dict or (attr is not _MISSING and type(attr) not in _CLASS_VALUES):
            return False
    return True


def _uniform_getter(rec: RecordType, cls: type) -> tuple[str, Callable[[Any], Any]] | None:
    """How to read every field of a ``cls`` for ``rec`` at C speed, ``(kind, getter)``
    (as :func:`read_fields` would name the kind), or None if it may run Python code."""
    if cls is dict:
        return "dict", operator.itemgetter(*rec.names)
    if issubclass(cls, Record) and cls is not rec.cls:
        return None  # another record class: the item-by-item path judges it
    if issubclass(cls, (dict, tuple, list, str, bytes, bytearray, int, float, complex, type(None))):
        return None
    if not _plain_class(cls, rec.names):
        return None
    return ("slots" if cls is rec.cls else "attr"), rec.getter


def _uniform_rows(
    rec: RecordType, items: list[Any], mutable: bool
) -> tuple[str, list[tuple[Any, ...]]] | None:
    """``(kind, rows)``: the field values of every item of a list of one flat
    plain record, read at C speed; None when the list takes the item-by-item
    path (items of several types, of a class whose attributes may run
    Python code, a missing field, a tuple for ``&mut``...)."""
    if not rec.flat or not rec.names or not items:
        return None
    types = set(map(type, items))
    if len(types) != 1:
        return None
    (cls,) = types
    width = len(rec.names)
    if cls is tuple:
        if mutable or list(map(len, items)).count(width) != len(items):
            return None
        return "tuple", items
    how = _uniform_getter(rec, cls)
    if how is None:
        return None
    kind, getter = how
    try:
        got = list(map(getter, items))
    except Exception:  # a missing field (or a slot of another class): named item by item
        return None
    return kind, (got if width > 1 else list(zip(got)))


#: On PyPy buffers are lent as private copies (see ``pyo2._marshal``): no
#: array is lent in place by :func:`fast_slice` there.
_IN_PLACE = sys.implementation.name == "cpython"
#: The :mod:`array` code of a ``size_t`` (a ``PyVec`` header's two words).
_WORD = "L" if array("L").itemsize == ctypes.sizeof(ctypes.c_size_t) else "Q"


def fast_slice(
    rec: RecordType, mutable: bool, function: str, retry: type[Exception]
) -> Callable[[Any], tuple[Any, ...]]:
    """The converter of a generated fast path for a ``&[P]`` / ``&mut [P]``
    (``mutable``) of the plain record ``rec``, the function's only parameter
    that is not a scalar (see :func:`pyo2._codegen._record_fast_path`).

    It takes what the general path takes the same way with nothing to
    explain, and gives ``(address of the header, keep the GIL, what to keep
    alive, RecordBack or None)``:

    - an exact ``list`` of one type of records that :func:`_uniform_rows`
      reads at C speed and :func:`_pack_rows` packs (for ``&mut``: each
      object once), copied; a ``&mut`` one is written back by the general
      path's :class:`RecordBack`;
    - an exact ``numpy.ndarray`` of the record's dtype, 1-D, C-contiguous,
      aligned, writable for ``&mut`` and of a record without ``bool``
      fields, lent in place (the call keeps the GIL).

    Anything else (an empty list too) raises ``retry``: the general path
    handles it, and names what is wrong.
    """
    is_ = operator.is_

    def convert(value: Any) -> tuple[Any, ...]:
        cls = type(value)
        if cls is list:
            items = list.copy(value)
            n = len(items)
            fast = _uniform_rows(rec, items, mutable) if n else None
            if fast is None or (mutable and len(dict.fromkeys(map(id, items))) != n):
                raise retry
            try:
                data = _pack_rows(rec, fast[1])
            except (struct.error, TypeError, OverflowError, ValueError):
                raise retry from None
            if list.__len__(value) != n or not all(map(is_, list.copy(value), items)):
                raise retry  # changed meanwhile (another thread): the general path explains
            buf = (ctypes.c_char * len(data)).from_buffer_copy(data)
            header = array(_WORD, (ctypes.addressof(buf), n))
            back = RecordBack(function, rec, buf, data, items, value, [], fast) if mutable else None
            return (header.buffer_info()[0], False, (header, buf), back)
        numpy = sys.modules.get("numpy")
        dtype = rec._dtype
        if (
            numpy is None
            or cls is not numpy.ndarray
            or dtype is None
            or rec.bools
            or not _IN_PLACE
            or value.dtype != dtype
            or value.ndim != 1
        ):
            raise retry
        flags = value.flags
        n = len(value)
        if not n or not flags.c_contiguous or (mutable and not flags.writeable):
            raise retry
        start = value.ctypes.data
        if start % rec.align:
            raise retry
        header = array(_WORD, (start, n))
        return (header.buffer_info()[0], True, (header, value), None)

    return convert


def _pack_rows(rec: RecordType, rows: list[tuple[Any, ...]]) -> bytes:
    """The rows of a flat plain record packed (``struct.error`` and the like if one doesn't pack).

    ``bool`` fields take only ``True`` and ``False`` here (``struct`` would take
    any object); an ``int`` 0 or 1 is for the item-by-item path.
    """
    assert rec.struct is not None
    for k in rec.bools:
        if set(map(type, map(operator.itemgetter(k), rows))) != {bool}:
            raise struct.error("not a bool")
    if rec.floats:
        values = list(chain.from_iterable(rows))
        if lying_floats(values):  # an int subclass (anywhere): checked field by field
            raise struct.error("an int subclass")
        if rec.run:  # one run of one code: one struct.pack of every value
            return struct.pack(f"={len(values)}{rec.run}", *values)
    elif rec.run:
        return struct.pack(f"={len(rows) * len(rec.leaves)}{rec.run}", *chain.from_iterable(rows))
    return b"".join(starmap(rec.struct.pack, rows))


class Packer:
    """Lays out ``In`` mirrors in memory Python owns, kept alive by ``keep``.

    ``mutable``: the records packed are lent ``&mut`` (their snapshots are kept
    for the write-back, and tuples, which can't be written, are refused).
    """

    def __init__(self) -> None:
        self.keep: list[Any] = []
        #: For ``&mut``: per record object, ``(obj, kind, raw values)``.
        self.snaps: list[tuple[Any, str, list[Any]]] | None = None
        #: For a ``&mut`` list packed by :meth:`plain_list`'s fast path: how
        #: every item was read and the rows read (``snaps`` is then empty).
        self.uniform: tuple[str, list[tuple[Any, ...]]] | None = None

    def alloc(self, size: int) -> tuple[Any, int]:
        buf = (ctypes.c_char * max(size, 1))()
        self.keep.append(buf)
        return buf, ctypes.addressof(buf)

    def top(self, t: OType, value: Any, path: str) -> int:
        """The address of ``In(t)`` for ``value`` (``Option<T>``: of ``In(T)``, 0 for None)."""
        if isinstance(t, OOpt):
            if value is None:
                return 0
            t = t.inner
        size, _ = in_layout(t)
        buf, address = self.alloc(size)
        self.write(t, value, buf, 0, path)
        return address

    def write(self, t: OType, value: Any, buf: Any, off: int, path: str) -> None:
        if value is _MISSING:
            _bad(TypeError, path, t, "missing")
        if isinstance(t, Scalar):
            _SCALAR_STRUCTS[t.name].pack_into(buf, off, check_scalar(t, value, path))
        elif isinstance(t, OStr):
            if type(value) is not str and not issubclass(type(value), (str, bytes)):
                _bad(TypeError, path, t, f"got {show(value)}, expected a str")
            try:
                raw = text(value, True)
            except UnicodeError as e:
                _bad(ValueError, path, t, f"not valid UTF-8 text ({e})")
            _HEADER.pack_into(buf, off, self.lend(raw), len(raw))
        elif isinstance(t, OVec):
            address, n = self.vec(t.elem, value, path)
            _HEADER.pack_into(buf, off, address, n)
        elif isinstance(t, OOpt):
            address = 0
            if value is not None:
                size, _ = in_layout(t.inner)
                inner, address = self.alloc(size)
                self.write(t.inner, value, inner, 0, path)
            _POINTER.pack_into(buf, off, address)
        elif isinstance(t, OArr):
            items = _sequence(value)
            if items is None:
                _bad(TypeError, path, t, f"got {show(value)}, expected a list or tuple of {t.n}")
            if len(items) != t.n:
                _bad(ValueError, path, t, f"got {len(items)} items, expected {t.n}")
            size = in_layout(t.elem)[0]
            for i, item in enumerate(items):
                self.write(t.elem, item, buf, off + i * size, f"{path}[{i}]")
        elif isinstance(t, OTup):
            items = _sequence(value)
            if items is None or type(value) is range:
                _bad(TypeError, path, t, f"got {show(value)}, expected a tuple")
            if len(items) != len(t.items):
                _bad(ValueError, path, t, f"got {len(items)} items, expected {len(t.items)}")
            offsets, _, _ = _c_struct([in_layout(i) for i in t.items])
            for i, (item_t, item, item_off) in enumerate(zip(t.items, items, offsets)):
                self.write(item_t, item, buf, off + item_off, f"{path}[{i}]")
        else:
            rec = t.record
            fields = self.fields(rec, value, path)
            if rec.plain:
                self.pack_plain(rec, [fields], [value], path, buf, off)
            else:
                for f, v in zip(rec.fields, fields):
                    self.write(f.t, v, buf, off + f.inoff, f"{path}.{f.name}")

    def lend(self, raw: bytes) -> int:
        if not raw:
            return 0
        pointer = ctypes.c_char_p(raw)
        self.keep.append(pointer)
        return ctypes.cast(pointer, ctypes.c_void_p).value or 0

    def fields(self, rec: RecordType, value: Any, path: str) -> list[Any]:
        other = getattr(type(value), "_pyo2_record", None) if isinstance(type(value), RecordMeta) else None
        if other is not None and other is not rec and other.name == rec.name:
            _bad(TypeError, path, rec.name, f"this is another {rec.name}: {_difference(other, rec)}")
        kind, values = read_fields(rec, value)
        if kind == "refuse":
            _bad(
                TypeError,
                path,
                rec.name,
                f"got {show(value)}, expected a {rec.name} (or an object, dict or tuple with its fields)",
            )
        if kind == "long tuple":
            _bad(
                TypeError,
                path,
                rec.name,
                f"got a tuple of {len(value)} items, {rec.name} has {len(rec.names)} fields",
            )
        if self.snaps is not None:
            if kind == "tuple":
                _bad(TypeError, path, rec.name, "a tuple is immutable: pass an object or dict for &mut")
            self.snaps.append((value, kind, values))
        for f, v in zip(rec.fields, values):
            if v is _MISSING:
                _bad(TypeError, f"{path}.{f.name}", f.t, f"missing field {f.name!r}")
        return values

    def vec(self, elem: OType, value: Any, path: str) -> tuple[int, int]:
        """Lay out ``len(value)`` ``In(elem)``s; their address and count."""
        if isinstance(elem, Scalar):
            items = _sequence(value)
            if items is None:
                if elem is U8 and isinstance(value, (bytes, bytearray)):
                    raw = bytes(value)
                    return self.lend(raw), len(raw)
                try:
                    with memoryview(value) as mv:
                        items = mv.tolist() if mv.ndim == 1 else None
                except (TypeError, ValueError, NotImplementedError):
                    items = None
                if items is None:
                    _bad(TypeError, path, OVec(elem), f"got {show(value)}, expected a list of {elem}")
            buf, address = self.alloc(len(items) * elem.size)
            try:
                if elem is BOOL and not (set(map(type, items)) <= {bool, int} and set(items) <= {0, 1}):
                    raise struct.error
                if elem.kind == "float" and lying_floats(items):
                    raise struct.error  # an int subclass: converted item by item
                struct.pack_into(f"={len(items)}{_CODE[elem.name]}", buf, 0, *items)
            except (struct.error, TypeError, OverflowError, ValueError):
                checked = [check_scalar(elem, item, f"{path}[{i}]") for i, item in enumerate(items)]
                struct.pack_into(f"={len(items)}{_CODE[elem.name]}", buf, 0, *checked)
            return (address if items else 0), len(items)
        items = _sequence(value)
        if items is None:
            _bad(TypeError, path, OVec(elem), f"got {show(value)}, expected a list")
        size = in_layout(elem)[0]
        if isinstance(elem, ORec) and elem.record.plain:
            buf, address = self.plain_list(elem.record, items, path)
            return (address if items else 0), len(items)
        buf, address = self.alloc(len(items) * size)
        for i, item in enumerate(items):
            self.write(elem, item, buf, i * size, f"{path}[{i}]")
        return (address if items else 0), len(items)

    def plain_list(self, rec: RecordType, items: list[Any], path: str) -> tuple[Any, int]:
        """Lay out the plain records ``items`` (a list's items): the buffer and its address.

        Items of one exact type whose fields can be read with no Python code
        running (see :func:`_uniform_rows`) are read by one ``attrgetter`` (or
        ``itemgetter``) each and packed by one ``struct.Struct``, at C speed.
        Anything else, or anything that doesn't pack, is read and checked item
        by item, which names the bad one.
        """
        mutable = self.snaps is not None
        fast = _uniform_rows(rec, items, mutable)
        if fast is not None:
            kind, rows = fast
            try:
                data = _pack_rows(rec, rows)
            except (struct.error, TypeError, OverflowError, ValueError):
                pass
            else:
                buf = (ctypes.c_char * len(data)).from_buffer_copy(data)
                self.keep.append(buf)
                if mutable:
                    self.uniform = (kind, rows)
                return buf, ctypes.addressof(buf)
        values = [self.fields(rec, item, f"{path}[{i}]") for i, item in enumerate(items)]
        buf, address = self.alloc(len(items) * rec.size)
        self.pack_plain(rec, values, items, path, buf, 0, indexed=True)
        return buf, address

    def pack_plain(  # noqa: PLR0917
        self,
        rec: RecordType,
        rows: list[list[Any]],
        objs: list[Any],
        path: str,
        buf: Any,
        off: int,
        indexed: bool = False,
    ) -> list[tuple[Any, ...]]:
        """Pack plain records (their field values ``rows``) with one ``struct.Struct``, at C speed."""
        assert rec.struct is not None
        if rec.flat:
            leaves: list[tuple[Any, ...]] = [tuple(r) for r in rows]
        else:
            leaves = [
                tuple(self.flatten(rec, r, f"{path}[{i}]" if indexed else path)) for i, r in enumerate(rows)
            ]
        size = rec.size
        try:
            if rec.bools:
                for row in leaves:
                    for k in rec.bools:
                        v = row[k]
                        if type(v) is not bool and not (type(v) is int and v in (0, 1)):
                            raise struct.error
            if rec.floats and lying_floats(list(chain.from_iterable(leaves))):
                raise struct.error  # an int subclass: checked (and converted) field by field
            buf[off : off + size * len(leaves)] = b"".join(starmap(rec.struct.pack, leaves))
        except (struct.error, TypeError, OverflowError, ValueError):
            # Name the bad field: check each one (raises); then pack what passed.
            checked: list[tuple[Any, ...]] = []
            for i, values in enumerate(rows):
                checked.append(
                    tuple(self.flatten(rec, values, f"{path}[{i}]" if indexed else path, check=True))
                )
            leaves = checked
            buf[off : off + size * len(leaves)] = b"".join(starmap(rec.struct.pack, leaves))
        return leaves

    def flatten(self, rec: RecordType, values: list[Any], path: str, check: bool = False) -> list[Any]:
        """The leaves of one plain record in offset order (checked when ``check``)."""
        out: list[tuple[int, Any]] = []
        self._flat(rec, values, path, 0, out, check)
        out.sort(key=lambda x: x[0])
        return [v for _, v in out]

    def _flat(  # noqa: PLR0917
        self,
        rec: RecordType,
        values: list[Any],
        path: str,
        base: int,
        out: list[tuple[int, Any]],
        check: bool,
    ) -> None:
        for f, v in zip(rec.fields, values):
            self._flat_value(f.t, v, f"{path}.{f.name}", base + f.off, out, check)

    def _flat_value(  # noqa: PLR0917
        self, t: OType, v: Any, path: str, off: int, out: list[tuple[int, Any]], check: bool
    ) -> None:
        if v is _MISSING:
            _bad(TypeError, path, t, "missing")
        if isinstance(t, Scalar):
            out.append((off, check_scalar(t, v, path) if check else v))
        elif isinstance(t, OArr):
            items = _sequence(v)
            if items is None:
                _bad(TypeError, path, t, f"got {show(v)}, expected a list or tuple of {t.n}")
            if len(items) != t.n:
                _bad(ValueError, path, t, f"got {len(items)} items, expected {t.n}")
            size = out_layout(t.elem)[0]
            for i, item in enumerate(items):
                self._flat_value(t.elem, item, f"{path}[{i}]", off + i * size, out, check)
        else:
            assert isinstance(t, ORec)
            self._flat(t.record, self.fields(t.record, v, path), path, off, out, check)


def _difference(got: RecordType, expected: RecordType) -> str:
    """How two layouts under one name differ: the first field that does, and both layouts."""
    mine = {f.name: f for f in expected.fields}
    theirs = {f.name: f for f in got.fields}
    why = f"its size is {got.size}, here {expected.size}"
    for f in got.fields:
        e = mine.get(f.name)
        if e is None:
            why = f"its field {f.name!r} ({f.t} @{f.off}) is not in this one"
            break
        if (str(e.t), e.off, e.inoff) != (str(f.t), f.off, f.inoff):
            why = f"its field {f.name!r} is {f.t} @{f.off}, here {e.t} @{e.off}"
            break
    else:
        missing = [f.name for f in expected.fields if f.name not in theirs]
        if missing:
            why = f"it has no field {missing[0]!r}"
    return f"{why} (got {got.layout_text()}; expected {expected.layout_text()})"


# ---------------------------------------------------------------------------
# Write-back of &mut records.


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    cls = type(a)
    return cls is type(b) and cls in (int, float, bool, str) and bool(a == b)


class RecordBack:
    """What a ``&mut`` record, or list of records, needs after the call.

    ``snaps``: per record object converted (nested ones too, in conversion
    order), ``(obj, kind, raw field values)``; or, for a list packed at C
    speed (:meth:`Packer.plain_list`), ``uniform``: how every item was read
    and its row of field values (``snaps`` is then empty). ``buf``: the
    packed records, ``packed`` their bytes before the call; ``items``: the
    top-level objects (a list's items), ``container``: the list (or None).
    """

    def __init__(  # noqa: PLR0917
        self,
        function: str,
        rec: RecordType,
        buf: Any,
        packed: bytes,
        items: list[Any],
        container: Any,
        snaps: list[tuple[Any, str, list[Any]]],
        uniform: tuple[str, list[tuple[Any, ...]]] | None = None,
    ) -> None:
        self.function = function
        self.rec = rec
        self.buf = buf
        self.packed = packed
        self.items = items
        self.container = container
        self.snaps = snaps
        self.uniform = uniform

    def write(self) -> None:
        """The write-back of this list alone (a fast call's: see :func:`fast_slice`)."""
        apply_records(self.function, self.prepare())

    def prepare(self) -> list[tuple[Any, str, str, Any]]:
        """The assignments to make (``(obj, kind, field, value)``, or a
        column for :func:`apply_records`); raise ``RuntimeError`` if an
        object changed during the call."""
        data = ctypes.string_at(ctypes.addressof(self.buf), len(self.packed)) if self.packed else b""
        if data == self.packed:
            return []
        rec = self.rec
        size = rec.size
        if self.container is not None:
            now = self.container
            if list.__len__(now) != len(self.items) or not all(map(operator.is_, list.copy(now), self.items)):
                raise RuntimeError(
                    f"{self.function}(): a list of {rec.name} passed for a &mut parameter was changed "
                    "during the call; nothing was written back"
                )
        out: list[tuple[Any, str, str, Any]] = []
        if rec.flat:
            self._flat(data, out)
            return out
        by_id = {id(obj): (obj, kind, values) for obj, kind, values in self.snaps}
        for i, obj in enumerate(self.items):
            chunk = data[i * size : (i + 1) * size]
            if chunk == self.packed[i * size : (i + 1) * size]:
                continue
            self._diff(rec, obj, chunk, self.packed[i * size : (i + 1) * size], 0, out, by_id)
        return out

    def _flat(self, data: bytes, out: list[tuple[Any, str, str, Any]]) -> None:
        """:meth:`prepare` for records of scalars only, at C speed: each field
        read as a column of every record (before and after the call),
        compared whole, and the changed values set in columns."""
        rec = self.rec
        items = self.items
        news = _unpack_columns(rec, data)
        olds = _unpack_columns(rec, self.packed)
        masks = [list(map(operator.ne, new, old)) for new, old in zip(news, olds)]
        for k, f in enumerate(rec.fields):
            # A NaN that stays NaN (its bits may differ) is not a change. (The
            # sum of a column is NaN if one is, or if it holds both infinities.)
            if f.t.kind == "float" and math.isnan(sum(news[k])):  # type: ignore[union-attr]
                masks[k] = [
                    m and not (math.isnan(a) and math.isnan(b)) for m, a, b in zip(masks[k], news[k], olds[k])
                ]
        rows = masks[0]
        for mask in masks[1:]:
            rows = list(map(operator.or_, rows, mask))
        every = all(rows)
        if not every and not any(rows):
            return
        objs = items if every else list(compress(items, rows))
        if self.uniform is not None:  # a flat record's rows are its items', in order
            kinds = [self.uniform[0]]
            snaps = self.uniform[1] if every else list(compress(self.uniform[1], rows))
        else:
            triples = list(compress(self.snaps, rows))
            kinds = [k for _, k, _ in triples]
            snaps = [tuple(v) for _, _, v in triples]
        if self._untouched(objs, kinds, snaps):
            setter = dict.__setitem__ if kinds[0] == "dict" else object.__setattr__
            for name, mask, new in zip(rec.names, masks, news):
                if all(mask):
                    out.append((setter, _COLUMN, name, (items, new)))
                elif any(mask):
                    out.append(
                        (setter, _COLUMN, name, (list(compress(items, mask)), list(compress(new, mask))))
                    )
            return
        # Objects of several kinds, values equal but not identical, a class
        # that may run code: checked, then set, one by one.
        if len(kinds) == 1:
            kinds *= len(objs)
        for obj, kind, snap in zip(objs, kinds, snaps):
            kind_now, now = read_fields(rec, obj)
            if kind_now != kind or not (all(map(operator.is_, snap, now)) or all(map(_same, snap, now))):
                self._changed(rec)
        for i, obj, kind in zip(compress(range(len(items)), rows), objs, kinds):
            for name, mask, new in zip(rec.names, masks, news):
                if mask[i]:
                    out.append((obj, kind, name, new[i]))

    def _untouched(self, objs: list[Any], kinds: list[str], snaps: list[tuple[Any, ...]]) -> bool:
        """Whether ``objs`` are all of one type whose fields are set without
        running Python code and without failing (:func:`_uniform_getter`),
        each still holding the very values it was packed from. ``kinds``: how
        each was read (one for all if it has one item)."""
        types = set(map(type, objs))
        if len(types) != 1 or len(set(kinds)) != 1:
            return False
        (cls,) = types
        how = _uniform_getter(self.rec, cls)
        if how is None or how[0] != kinds[0]:
            return False
        field = operator.itemgetter if how[0] == "dict" else operator.attrgetter
        try:  # field by field: no tuple made per object
            return all(
                all(map(operator.is_, map(field(name), objs), map(operator.itemgetter(k), snaps)))
                for k, name in enumerate(self.rec.names)
            )
        except Exception:  # a field deleted meanwhile: judged one by one
            return False

    def _changed(self, rec: RecordType) -> NoReturn:
        raise RuntimeError(
            f"{self.function}(): a {rec.name} passed for a &mut parameter was changed during the call "
            "(by another thread, or by its own attribute getters); nothing was written back"
        )

    def _diff(  # noqa: PLR0917
        self,
        rec: RecordType,
        obj: Any,
        data: bytes,
        before: bytes,
        base: int,
        out: list[tuple[Any, str, str, Any]],
        by_id: dict[int, tuple[Any, str, list[Any]]],
    ) -> None:
        _, kind, old = by_id[id(obj)]
        kind_now, now = read_fields(rec, obj)
        if kind_now != kind or not all(map(_same, old, now)):
            self._changed(rec)
        for f, value in zip(rec.fields, old):
            t = f.t
            off = base + f.off
            if isinstance(t, ORec):
                self._diff(t.record, value, data, before, off, out, by_id)
                continue
            # Compared as packed bytes: no value's own __eq__ (which may raise
            # or lie) runs, and a field Rust didn't change keeps its object.
            end = off + out_layout(t)[0]
            if data[off:end] != before[off:end]:
                out.append((obj, kind, f.name, _read_plain(t, data, off)))


#: The kind of a column assignment (see :meth:`RecordBack._flat`).
_COLUMN = "column"


def _unpack_columns(rec: RecordType, data: bytes) -> list[list[Any]]:
    """The fields of the flat plain records packed in ``data``, one list per field.

    Each field is read as a strided ``memoryview`` of its native type when its
    size divides the record's and its offset (every ``struct`` code here has
    the same native and standard size on the platforms Rust and CPython
    share); by ``struct.iter_unpack`` otherwise.
    """
    view = memoryview(data)
    columns = []
    for f in rec.fields:
        t = f.t
        assert isinstance(t, Scalar)
        code = _CODE[t.name]
        size = struct.calcsize(code)
        if size != t.size or rec.size % size or f.off % size:
            break
        columns.append(view.cast(code)[f.off // size :: rec.size // size].tolist())  # type: ignore[call-overload]
    else:
        return columns
    assert rec.struct is not None
    rows = list(rec.struct.iter_unpack(data))
    return [list(map(operator.itemgetter(k), rows)) for k in range(len(rec.fields))]


def apply_records(function: str, assignments: list[tuple[Any, str, str, Any]]) -> None:
    """Make the assignments, all or nothing (undone if one of them raises).

    Columns (from :meth:`RecordBack._flat`) are set last, by ``object.__setattr__`` or
    ``dict.__setitem__`` in one C loop each: on objects whose class runs no
    Python code to set a field (slots or an instance ``__dict__``), which
    can't fail, so nothing after them needs undoing. The snapshots keep the
    old values alive until the end, so no finalizer runs meanwhile.
    """
    done: list[tuple[Any, str, str, Any]] = []
    columns = [a for a in assignments if a[1] is _COLUMN]
    try:
        for obj, kind, name, value in assignments:
            if kind is _COLUMN:
                continue
            if kind == "dict":
                old = dict.get(obj, name, _MISSING)
                dict.__setitem__(obj, name, value)
            elif kind == "slots":
                old = getattr(obj, name, _MISSING)
                object.__setattr__(obj, name, value)
            else:
                old = getattr(obj, name, _MISSING)
                setattr(obj, name, value)
            done.append((obj, kind, name, old))
    except BaseException as e:  # a KeyboardInterrupt or SystemExit too: undone, then raised as is
        for was, how, field, old in reversed(done):  # (obj and name stay the failing ones)
            try:
                if how == "dict":
                    dict.__setitem__(was, field, old)
                elif how == "slots":
                    object.__setattr__(was, field, old)
                else:
                    setattr(was, field, old)
            except Exception:  # pragma: no cover - a setter that fails to undo
                pass
        if not isinstance(e, Exception):
            raise
        raise TypeError(
            f"{function}(): Rust's changes can't be written back: setting {name!r} "
            f"on a {type(obj).__name__} raised {type(e).__name__}: {e}; nothing was written back"
        ) from None
    for setter, _, name, (objs, values) in columns:
        deque(map(setter, objs, repeat(name), values), maxlen=0)


# ---------------------------------------------------------------------------
# Reading Out mirrors.


def _read_plain(t: OType, data: bytes, off: int) -> Any:
    if isinstance(t, Scalar):
        value = _SCALAR_STRUCTS[t.name].unpack_from(data, off)[0]
        return value
    if isinstance(t, OArr):
        size = out_layout(t.elem)[0]
        return [_read_plain(t.elem, data, off + i * size) for i in range(t.n)]
    assert isinstance(t, ORec)
    return _read_record(t.record, data, off)


def _read_record(rec: RecordType, data: bytes, off: int) -> Any:
    values = {f.name: read(f.t, data, off + f.off) for f in rec.fields}
    factory = rec.factory
    if factory is rec.cls:
        obj = object.__new__(factory)
        for k, v in values.items():
            object.__setattr__(obj, k, v)
        return obj
    return factory(**values)


def read(t: OType, data: bytes, off: int) -> Any:
    """The Python value of the ``Out(t)`` at ``data[off:]``."""
    if isinstance(t, Scalar):
        return _SCALAR_STRUCTS[t.name].unpack_from(data, off)[0]
    if isinstance(t, (OStr, OVec, OOpt)):
        ptr, n, _, _ = _BUF.unpack_from(data, off)
        if isinstance(t, OStr):
            return ctypes.string_at(ptr, n).decode("utf-8") if n else ""
        if isinstance(t, OOpt):
            if not n:
                return None
            size = out_layout(t.inner)[0]
            return read(t.inner, ctypes.string_at(ptr, size), 0)
        return read_vec(t.elem, ptr, n)
    if isinstance(t, OArr):
        size = out_layout(t.elem)[0]
        return [read(t.elem, data, off + i * size) for i in range(t.n)]
    if isinstance(t, OTup):
        offsets, _, _ = _c_struct([out_layout(i) for i in t.items])
        return tuple(read(item, data, off + o) for item, o in zip(t.items, offsets))
    return _read_record(t.record, data, off)


def read_vec(elem: OType, ptr: int, n: int) -> Any:
    """``n`` ``Out(elem)``s at ``ptr``: a list (``bytes`` for ``u8``)."""
    if isinstance(elem, Scalar):
        if elem is U8:
            return ctypes.string_at(ptr, n) if n else b""
        return read_scalars(elem, ptr, n)
    if not n:
        return []
    size = out_layout(elem)[0]
    data = ctypes.string_at(ptr, n * size)
    if isinstance(elem, ORec) and elem.record.flat and elem.record.factory is elem.record.cls:
        rec = elem.record
        assert rec.struct is not None
        cls = rec.cls
        names = rec.names
        new = object.__new__
        setter = object.__setattr__
        out = []
        for values in rec.struct.iter_unpack(data):
            obj = new(cls)
            for k, v in zip(names, values):
                setter(obj, k, v)
            out.append(obj)
        return out
    return [read(elem, data, i * size) for i in range(n)]


def take(buf: COwnedBuf, t: OType) -> Any:
    """Read what the returned ``OwnedBuf`` holds (one ``Out(t)``, or a
    ``Vec``'s elements), then free it by its outermost ``drop``, once."""
    from ._abi import _free

    try:
        ptr, n = buf.ptr or 0, buf.len
        if isinstance(t, OVec):
            return read_vec(t.elem, ptr, n)
        if not n:
            raise Pyo2Error(f"Rust returned an empty buffer for a {t}")
        size = out_layout(t)[0]
        return read(t, ctypes.string_at(ptr, size), 0)
    finally:
        _free(buf)


# ---------------------------------------------------------------------------
# dll.types


class Types:
    """A library's record types and classes: ``dll.types.Point`` (or ``dll.types["Point"]``),
    ``dll.types.Tokenizer`` (a ``#[pyo2::class]``, see :mod:`pyo2._objects`).

    Every attribute is a record's class or a class; ``bind``, ``classes`` and
    ``names`` are methods (``dll.types["bind"]`` reaches a record named ``bind``).
    """

    def __init__(self, cdll: Any, path: str, file: str, dll: Any = None) -> None:
        object.__setattr__(self, "_pyo2_lib", (cdll, path, file))
        object.__setattr__(self, "_pyo2_dll", dll)

    def _class(self, name: str) -> Any:
        """The class ``name`` (``#[pyo2::class]``), or None if the library has none of that name."""
        if not isinstance(name, str) or self._pyo2_dll is None:
            return None
        from ._objects import load_class

        cdll, path, _ = self._pyo2_lib
        return load_class(self._pyo2_dll, cdll, path, name)

    def _record(self, name: str) -> RecordType:
        cdll, path, _ = self._pyo2_lib
        if not isinstance(name, str):
            raise TypeError(f"a record name is a str, got {type(name).__name__}")
        if not name.isidentifier():
            raise AttributeError(f"{path!r} exports no record {name!r}")
        cache = vars(cdll).setdefault("_pyo2_records", {})
        return load_record(cdll, path, name, cache)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        cls = self._class(name)
        if cls is not None:
            return cls
        return self._record(name).cls

    def __getitem__(self, name: str) -> Any:
        cls = self._class(name)
        if cls is not None:
            return cls
        return self._record(name).cls

    def classes(self) -> list[str]:
        """The names of the library's classes (``#[pyo2::class]``, from its symbol table)."""
        from ._objects import class_names
        from ._symbols import exported_functions

        return class_names(exported_functions(self._pyo2_lib[2]))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("dll.types is read-only; use dll.types.bind(name, cls)")

    def names(self) -> list[str]:
        """The names of the library's records (from its symbol table)."""
        from ._symbols import exported_functions

        _, _, file = self._pyo2_lib
        return sorted(
            n[len(RECORD_PREFIX) :] for n in exported_functions(file) if n.startswith(RECORD_PREFIX)
        )

    def record(self, name: str) -> RecordType:
        """The layout of the record ``name`` (fields, offsets, sizes)."""
        return self._record(name)

    def bind(self, name: str, cls: Any) -> None:
        """Make every return of the record ``name`` build ``cls(**fields)``
        (a dataclass, a pydantic or msgspec model...); ``None`` undoes it.

        Binding is per layout, so for every library in the process that
        exports the same Rust type.
        """
        bind(self._record(name), cls)

    def __dir__(self) -> list[str]:
        return sorted({*self.names(), *self.classes(), "bind", "classes", "names", "record"})

    def __repr__(self) -> str:
        return f"<record types of {self._pyo2_lib[1]!r}>"
