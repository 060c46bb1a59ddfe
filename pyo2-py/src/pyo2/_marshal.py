"""One call's worth of argument conversion and write-back.

A call goes through three steps, so that a bad argument never leaves anything
half done:

A. :meth:`Marshal.param` checks every argument and builds one :class:`_Node`
   per ``PyVec`` header it needs, but one for all the rows of a list of
   scalar lists (:attr:`Kind.ROWS`: no Python work per row but its packing).
   The scalar lists of one argument (a flat list, or all the rows of a list
   of lists) are converted together into one array by :func:`pack`, at C
   speed; a copy of it is kept as the snapshot write-back compares with.
   Buffers are only inspected. Nothing is
   exported, locked or written yet: any error leaves every argument
   untouched. When the fast conversion fails, the argument is marshalled
   again one list at a time, which names the bad item.
B. :meth:`Marshal.layout` puts all headers in one C array and all element
   pointers in another, and exports the zero-copy buffers. It can't fail but
   for ``MemoryError``.
C. After the call, :meth:`Marshal.write_back` reads every header Rust could
   write, and writes back by snapshot comparison: a view whose header and data
   are as before is left alone; a list whose data block Rust wrote into (told
   by one comparison per block) gets the block's items; a view Rust moved
   (swapped with another) is read from where its header points now. The
   flat fast path of generated functions writes back with the same rule
   (:func:`write_back_flat`). Everything is computed before anything is
   assigned, by :func:`apply`, all or nothing.

Imports point down: :mod:`pyo2._runtime` and :mod:`pyo2._codegen` use this
module; it uses :mod:`pyo2._convert`, :mod:`pyo2._signature` and
:mod:`pyo2._types`.
"""

from __future__ import annotations

import codecs
import ctypes
import math
import operator
import struct
import sys
from array import array
from collections import deque
from itertools import accumulate, chain, islice, repeat

from . import _callbacks
from ._convert import Where, lying_floats, read_scalars, scalar, scalar_items, show, text
from ._signature import MAX_DEPTH
from ._types import (
    BOOL,
    F64,
    HEADER_SIZE,
    I64,
    POINTER_SIZE,
    PYSTR,
    SCALARS,
    U8,
    CallbackT,
    OArr,
    ORec,
    OVec,
    Param,
    Rich,
    RType,
    Scalar,
    VecRef,
)

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from typing import Any, Callable, ClassVar, Union

    #: What :func:`pack` keeps of the data to tell what Rust changed (see :func:`_snapshot`).
    Snapshot = Union["array[Any]", bytes, "tuple[array[Any], ...]", "tuple[bytes, ...]"]

__all__ = ["WORD", "Marshal", "apply", "infer", "lend_bytes", "pack", "write_back_flat"]

#: :mod:`array` type code of a ``size_t`` (headers and element pointers).
WORD = next(code for code in "QLI" if array(code).itemsize == POINTER_SIZE)

#: :mod:`struct` code (standard sizes, native byte order) of each scalar but bool.
_PACK: dict[str, str] = {
    "i8": "b",
    "u8": "B",
    "i16": "h",
    "u16": "H",
    "i32": "i",
    "u32": "I",
    "i64": "q",
    "u64": "Q",
    "isize": "q" if POINTER_SIZE == 8 else "i",
    "usize": "Q" if POINTER_SIZE == 8 else "I",
    "f32": "f",
    "f64": "d",
}


# Compiled struct formats by (scalar, count). A Struct's own pack is faster
# than struct.pack(format, *values), which copies the values once more.
_STRUCTS: dict[tuple[str, int], struct.Struct] = {}


#: On PyPy a buffer is lent to Rust as a private copy: its foreign calls
#: release the GIL whatever the prototype says, and an exported bytearray can
#: still be resized by another thread, which would leave Rust a dangling view.
_COPY_BUFFERS = sys.implementation.name != "cpython"


class _Retry(Exception):
    """The fast conversion of an argument failed: marshal it again, slowly."""


def _buffer_scalar(fmt: str, itemsize: int) -> Scalar | None:
    """The scalar type of a buffer's items from its struct format, or None."""
    if fmt[:1] in ("@", "=") or (fmt[:1] == "<" and sys.byteorder == "little"):
        fmt = fmt[1:]
    if len(fmt) != 1:
        return None
    if fmt == "?":
        return BOOL
    if fmt == "c":
        return U8
    if fmt in "fd":
        return SCALARS["f32" if itemsize == 4 else "f64"]
    if fmt in "bhilqn":
        return SCALARS.get(f"i{itemsize * 8}")
    if fmt in "BHILQN":
        return SCALARS.get(f"u{itemsize * 8}")
    return None


class _Buffer:
    """What :func:`_inspect_buffer` learns about an object's buffer."""

    __slots__ = ("elem", "n", "nbytes", "readonly")

    def __init__(self, elem: Scalar, n: int, nbytes: int, readonly: bool) -> None:
        self.elem = elem
        self.n = n
        self.nbytes = nbytes
        self.readonly = readonly


def _inspect_buffer(obj: object, where: Where, path: str) -> _Buffer | None:
    """Inspect ``obj``'s buffer without keeping it exported; None if it has none.

    Raises ``TypeError`` for a buffer that can't be a ``PyVec``.
    """
    try:
        mv = memoryview(obj)  # type: ignore[arg-type]
    except TypeError:
        return None
    except (ValueError, BufferError) as e:  # a buffer that can't be exported (numpy datetime64...)
        error = f"{type(obj).__name__} has a buffer that can't be lent ({e})"
    else:
        error = ""
    if error:
        where.fail(TypeError, path, error)
    with mv:
        elem = _buffer_scalar(mv.format, mv.itemsize)
        if elem is None:
            where.fail(
                TypeError,
                path,
                f"a buffer of format {mv.format!r} has no Rust element type "
                "(i8 to u64, isize, usize, f32, f64, bool)",
            )
        if mv.ndim != 1:
            where.fail(
                TypeError,
                path,
                f"a {mv.ndim}-dimensional buffer of {elem} can't be a PyVec<{elem}>; "
                "pass a 1-dimensional one",
            )
        if not mv.c_contiguous:
            where.fail(
                TypeError,
                path,
                f"a non-contiguous buffer of {elem} can't be a PyVec<{elem}>; pass a contiguous copy",
            )
        return _Buffer(elem, len(mv), mv.nbytes, mv.readonly)


class Kind:
    """What a :class:`_Node` stands for, and so which of its attributes are set
    (one instance each, compared by identity: an enum without :mod:`enum`,
    which costs a millisecond of import time)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"<Kind.{self.value.upper()}>"

    #: A list of scalars, converted into a :class:`_Block` (``data``), from element ``offset``.
    LIST: ClassVar[Kind]
    #: A list of views: ``children``, whose element pointers start at ``slot``.
    NESTED: ClassVar[Kind]
    #: The rows of a list of scalar lists (:meth:`Marshal._rows`), all in one
    #: node: ``obj`` is the list of rows, ``n`` their number, with consecutive
    #: headers from ``index``; each row's length is in ``lens`` (``total`` in
    #: all), its element pointer in ``ptrs``, and (``&mut``) its items in
    #: ``snaps``. Converted into one :class:`_Block` (``data``), from element ``offset``.
    ROWS: ClassVar[Kind]
    #: A writable buffer (``obj``, ``nbytes`` long) lent in place, zero copy.
    BUFFER: ClassVar[Kind]
    #: A private copy (``data``, a ``bytearray``) that nothing is written back from.
    COPY: ClassVar[Kind]
    #: A private copy (``data``) written back into the buffer ``obj`` after the
    #: call if Rust changed it from ``packed``.
    COPYBACK: ClassVar[Kind]
    #: ``bytes`` (``data``) lent in place, read-only.
    BYTES: ClassVar[Kind]


for _kind in ("list", "nested", "rows", "buffer", "copy", "copyback", "bytes"):
    setattr(Kind, _kind.upper(), Kind(_kind))
_LIST, _NESTED, _ROWS, _BUFFER, _COPY, _COPYBACK, _BYTES = (
    Kind.LIST,
    Kind.NESTED,
    Kind.ROWS,
    Kind.BUFFER,
    Kind.COPY,
    Kind.COPYBACK,
    Kind.BYTES,
)


class _Block:
    """The converted data of one or more scalar lists, back to back."""

    __slots__ = ("base", "data", "elem", "items", "mutable", "nodes", "packed", "unchanged")

    def __init__(self, elem: Scalar, data: array[Any], packed: Snapshot, nodes: list[_Node]) -> None:
        self.elem = elem
        self.data = data
        #: The bytes before the call, to tell whether Rust wrote into ``data``.
        self.packed = packed
        self.base = data.buffer_info()[0]
        self.nodes = nodes
        self.mutable = any(node.t.mutable for node in nodes)
        #: Set by the write-back: Rust didn't write into ``data`` (or may not).
        self.unchanged = True
        #: Set by the write-back: ``data``'s items, once asked for.
        self.items: list[Any] | None = None

    def slice(self, offset: int, n: int) -> list[Any]:
        """The Python items of ``n`` elements from ``offset``, as Rust left them."""
        items = self.items
        if items is None:
            items = self.items = scalar_items(self.elem, self.data)
        return items if offset == 0 and n == len(items) else items[offset : offset + n]


class _Node:
    """One ``PyVec`` header (the rows of a list of lists: one per row, see
    :attr:`Kind.ROWS`): where its elements come from and go back to."""

    __slots__ = (
        "children",
        "data",
        "export",
        "index",
        "kind",
        "lens",
        "n",
        "nbytes",
        "obj",
        "offset",
        "packed",
        "path",
        "ptr",
        "ptrs",
        "slot",
        "snap",
        "snaps",
        "src",
        "t",
        "total",
        "where",
    )

    # Set only for the kinds that use them (see :class:`Kind`); ``ptr`` by the layout.
    children: list[_Node]
    offset: int
    slot: int
    #: The items a &mut list (or list of lists) held when converted.
    snap: tuple[Any, ...]
    lens: list[int]
    total: int
    ptrs: list[int]
    snaps: list[tuple[Any, ...]] | None
    nbytes: int
    ptr: int
    packed: bytes
    export: Any
    where: Where
    path: str

    def __init__(self, obj: Any, t: VecRef, kind: Kind, data: Any, n: int, index: int) -> None:  # noqa: PLR0917
        #: The Python object the header stands for, and that write-back writes.
        self.obj = obj
        #: What its items are read from: ``obj`` itself for an exact ``list``,
        #: a plain copy of a ``list`` subclass (whose own methods may lie).
        self.src = obj
        self.t = t
        #: Only the attributes of its kind are set.
        self.kind = kind
        self.data = data
        self.n = n
        #: Position of its (first) header in the headers array.
        self.index = index


# ---------------------------------------------------------------------------
# Inference: a Rust type from a Python value, per README's table "Passing values".


#: What :func:`_unify` returns for two types no one type fits.
_CLASH: RType | None = VecRef(None, mutable=False)  # type: ignore[arg-type]  # compared by identity


def _unify(a: RType | None, b: RType | None) -> RType | None:
    """The one type both ``a`` and ``b`` fit (None: still unknown), or :data:`_CLASH`."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if isinstance(a, VecRef) and isinstance(b, VecRef) and a.mutable == b.mutable:
        elem = _unify(a.elem, b.elem)
        return _CLASH if elem is _CLASH else VecRef(elem, a.mutable)  # type: ignore[arg-type]
    return _CLASH


def _fill(t: RType | None) -> RType:
    """Replace the unknown element types of empty lists with ``i64``."""
    if t is None:
        return I64
    if isinstance(t, VecRef) and (t.elem is None or isinstance(t.elem, VecRef)):
        return VecRef(_fill(t.elem), t.mutable)
    return t


_SIMPLE: dict[type, RType] = {bool: BOOL, int: I64, float: F64, str: PYSTR, bytes: PYSTR}


def infer(value: Any, where: Where) -> RType:
    """The Rust type inference gives ``value`` (an argument)."""
    return _fill(_infer(value, where, "", set(), 1))


def _infer(value: Any, where: Where, path: str, on_path: set[int], depth: int) -> RType | None:
    cls = type(value)  # never isinstance(): a lying __class__ must not count
    t = _SIMPLE.get(cls)
    if t is not None:
        return t
    if issubclass(cls, list):
        ident = id(value)
        if ident in on_path:
            where.fail(ValueError, path, "the list contains itself")
        if depth > MAX_DEPTH:
            where.fail(ValueError, path, f"lists nested deeper than {MAX_DEPTH} levels")
        # Read the items once, at C level: a subclass' __len__, __iter__ or
        # __getitem__ is never called, and a change made meanwhile (by another
        # thread, or by converting an item) can't make two readings disagree.
        value = list.copy(value)
        if value:
            # Fast paths, at C speed: a list of one scalar type, or a list of
            # lists of one scalar type (rows hold no lists, so no cycles).
            types = list(map(type, value))
            head = types[0]
            if types.count(head) == len(types):
                t = _SIMPLE.get(head)
                if t is not None:
                    return VecRef(t, mutable=True)
                if head is list and depth < MAX_DEPTH:
                    inner = list(map(type, chain.from_iterable(value)))
                    t = _SIMPLE.get(inner[0]) if inner else None
                    if t is not None and inner.count(inner[0]) == len(inner):
                        return VecRef(VecRef(t, mutable=True), mutable=True)
        on_path.add(ident)
        elem: RType | None = None
        first = -1
        for i, item in enumerate(value):
            item_t = _infer(item, where, f"{path}[{i}]", on_path, depth + 1)
            unified = _unify(elem, item_t)
            if unified is _CLASH:
                where.fail(
                    TypeError,
                    "",
                    f"mixed list: item {path}[{first}] is {show(value[first])} ({elem}) but "
                    f"item {path}[{i}] is {show(item)} ({item_t}); "
                    "a PyVec's elements all have one type",
                )
            elem = unified
            if first < 0 and item_t is not None:
                first = i
        on_path.discard(ident)
        return VecRef(elem, mutable=True)  # type: ignore[arg-type]
    if issubclass(cls, bool):
        return BOOL
    if issubclass(cls, int):
        return I64
    if issubclass(cls, float):
        return F64
    if issubclass(cls, (str, bytes)):
        return PYSTR
    buf = _inspect_buffer(value, where, path)
    if buf is not None:
        return VecRef(buf.elem, mutable=not buf.readonly)
    where.fail(
        TypeError,
        path,
        f"can't pass {show(value)}: inference maps int to i64, float to f64, bool to bool, "
        "str and bytes to &PyStr, buffers and lists to &mut PyVec<T> "
        "(declare the function for other types)",
    )


# ---------------------------------------------------------------------------
# Steps A-C.


class Marshal:
    """Converts one call's arguments and writes Rust's changes back."""

    def __init__(self, function: str, trusted: bool, copy_buffers: bool = False) -> None:
        self.function = function
        #: Lend every buffer as a private copy (a call with a callback, which
        #: can't keep the GIL: Python code may write the buffer while Rust runs).
        self.copy_buffers = copy_buffers or _COPY_BUFFERS
        #: True when the signature is declared: an immutable object given for a
        #: ``&`` parameter is then lent in place. Under inference the real Rust
        #: signature is unknown, so immutable objects are always copied.
        self.trusted = trusted
        self.nodes: list[_Node] = []
        #: Headers so far (a :attr:`Kind.ROWS` node has one per row).
        self.count = 0
        self.blocks: list[_Block] = []
        #: id → True (lent as &mut) / False (lent as &), to refuse aliasing.
        self.lent: dict[int, bool] = {}
        self.keep: list[Any] = []
        self.headers: Any = None
        self.pointers: Any = None
        #: The bytes of ``headers`` and ``pointers`` as laid out, for write-back.
        self.before: Any = None
        #: Scalar lists of the current argument, converted together at its end:
        #: batches of nodes with one element type.
        self.pending: list[tuple[Scalar, list[_Node]]] | None = None
        #: Whether a buffer is lent in place (zero copy): the call then keeps
        #: the GIL, so no Python thread can change it while Rust holds a view.
        self.in_place = False
        #: The write-backs of ``&mut`` records (:class:`pyo2._records.RecordBack`).
        self.backs: list[Any] = []
        #: ``(ctx, stored)`` of each callable passed (see :mod:`pyo2._callbacks`).
        self.callbacks: list[tuple[int, bool]] = []
        #: Structured numpy arrays lent ``&mut`` as private copies (``copy_buffers``):
        #: ``(copy, export of the array, bytes before the call, where)``.
        self.array_backs: list[tuple[Any, Any, bytes, Where]] = []
        #: Structured numpy arrays lent so far: ``(start, end, mutable, where)``.
        self.spans: list[tuple[int, int, bool, Where]] = []

    # -- step A ------------------------------------------------------------

    def param(self, t: Param, value: Any, name: str) -> Any:
        """Check one argument; a scalar's C value, or the node of a PyVec.

        ``name`` is the parameter's name (declared) or ``#N`` (inferred).
        """
        if isinstance(t, Scalar):
            try:
                return scalar(t, value)
            except (TypeError, OverflowError) as e:
                # Its type and message, not the exception: that (its traceback,
                # this frame) would keep the call's arguments in a cycle.
                kind, detail = type(e), str(e)
            # Raised here, not in the except clause: a bad argument's traceback has no chain.
            self.where(name, t).fail(kind, "", detail)
        if isinstance(t, Rich):
            return self.rich(t, value, name)
        if isinstance(t, CallbackT):
            return _callbacks.argument(t, value, self, self.where(name, t))
        where = self.where(name, t)
        mark = (len(self.nodes), len(self.blocks), dict(self.lent), self.count)
        self.pending = []
        try:
            node = self._vec(t, value, where, "", set())
            self._convert(self.pending)
            return node
        except _Retry:
            pass
        finally:
            self.pending = None
        # Marshal this argument again one list at a time: that names the bad
        # item (or, rarely, accepts what the fast path could not).
        del self.nodes[mark[0] :], self.blocks[mark[1] :]
        self.lent = mark[2]
        self.count = mark[3]
        return self._vec(t, value, where, "", set())

    def rich(self, t: Rich, value: Any, name: str) -> Any:
        """An argument of the types of issue 12 (see :mod:`pyo2._records`): its C value."""
        from . import _records

        if t.mode == "optref":
            return 0 if value is None else self.param(t.view, value, name)
        packer = _records.Packer()
        try:
            return self._rich(t, value, name, packer, _records)
        except _records.ArgError as e:
            exc, path, rtype, detail = e.args
        where = self.where(name, t)
        at = "" if path == name else f" {path} ({rtype}):"
        raise exc(f"{where}:{at} {detail}")

    def _rich(self, t: Rich, value: Any, name: str, packer: Any, records: Any) -> int:
        mode = t.mode
        where = self.where(name, t)
        rec = getattr(t.t, "record", None)
        if mode in ("slice", "mslice") and records._ndarray(value):
            return self._structured(t, value, name, where, records)
        if mode in {"own", "oslice"} or (mode == "slice" and rec is not None):
            listed = mode != "own" and issubclass(type(value), list)
            if listed and mode == "slice":
                self._lend(value, False, where, "")  # the same list as a &mut too is refused
            before = list.copy(value) if listed else None
            kept = t.t if mode == "own" else OVec(t.t)
            address: int = packer.top(kept, value, name)
            if before is not None:
                _unchanged(self.function, value, before)
            self.keep.append(packer.keep)
            return address
        if mode == "ref":
            address = packer.top(t.t, value, name)
            self.keep.append(packer.keep)
            return address
        assert rec is not None
        packer.snaps = []
        if mode == "mut":
            self._lend(value, True, where, "")
            buf, address = packer.alloc(rec.size)
            fields = packer.fields(rec, value, name)
            packer.pack_plain(rec, [fields], [value], name, buf, 0)
            items, container = [value], None
        else:
            if not issubclass(type(value), list):
                if records._sequence(value) is not None:
                    where.fail(
                        TypeError,
                        "",
                        f"got {show(value)}, which is immutable; {t} takes a list (or a numpy array)",
                    )
                where.fail(
                    TypeError, "", f"got {show(value)}, expected a list of {rec.name} (or a numpy array)"
                )
            self._lend(value, True, where, "")
            items = list.copy(value)
            item_ids = dict.fromkeys(map(id, items), True)
            if len(item_ids) != len(items):
                where.fail(
                    ValueError,
                    "",
                    f"the same {rec.name} appears twice in the list; Rust forbids aliasing a &mut",
                )
            buf, base = packer.plain_list(rec, items, name)
            _unchanged(self.function, value, items)
            header, address = packer.alloc(HEADER_SIZE)
            struct.pack_into("@PN", header, 0, base if items else 0, len(items))
            container = value
        # Every record lent &mut (nested ones too) once in the call: written
        # back twice, one of Rust's two values would be lost.
        lent = self.lent
        snapped = packer.snaps[1:] if mode == "mut" else packer.snaps
        if packer.uniform is not None:  # the items alone, each once (checked above)
            fresh = item_ids
        else:
            ids = [id(obj) for obj, _, _ in snapped]
            fresh = dict.fromkeys(ids, True)
            if len(fresh) != len(ids):
                fresh = {}
        if fresh and lent.keys().isdisjoint(fresh.keys()):
            lent.update(fresh)
            snapped = []  # every one checked at once
        for obj, _, _ in snapped:
            if id(obj) in lent:
                where.fail(
                    ValueError,
                    "",
                    f"the same {type(obj).__name__} is given twice where one is &mut (nested in another "
                    "record, or in another parameter); Rust forbids aliasing a &mut (pass a copy)",
                )
            lent[id(obj)] = True
        packed = ctypes.string_at(ctypes.addressof(buf), rec.size * len(items))
        self.keep.append(packer.keep)
        self.backs.append(
            records.RecordBack(
                self.function, rec, buf, packed, items, container, packer.snaps, packer.uniform
            )
        )
        return address

    def _structured(self, t: Rich, value: Any, name: str, where: Where, records: Any) -> int:
        """A numpy structured array lent in place, zero copy (its dtype must be the record's)."""
        rec = t.t.record
        if not rec.plain:
            where.fail(TypeError, "", f"{rec.name} is an owned record: pass a list, not a numpy array")
        cls = rec.cls
        expected = cls.dtype
        if value.dtype != expected:
            where.fail(
                TypeError,
                "",
                f"the array's dtype has another layout than {rec.name}: "
                f"got {records._show_dtype(value.dtype)}; "
                f"expected {records._show_dtype(expected)} ({rec.name}.dtype)",
            )
        if value.ndim != 1 or not value.flags.c_contiguous:
            where.fail(TypeError, "", "pass a 1-dimensional C-contiguous array")
        if t.mutable and not value.flags.writeable:
            where.fail(TypeError, "", f"got a read-only array; {t} needs a writable one")
        n = len(value)
        start = value.ctypes.data if n else 0
        if start % rec.align:
            # A Rust slice of misaligned records is undefined behaviour.
            where.fail(
                TypeError,
                "",
                f"the array's data (at {start:#x}) is not aligned for {rec.name} (alignment {rec.align}); "
                "pass an aligned copy (numpy.require(a, requirements='A'))",
            )
        end = start + n * rec.size
        for s, e, mutable, other in self.spans:
            if start < e and s < end and (mutable or t.mutable):
                where.fail(
                    ValueError,
                    "",
                    f"its array shares memory with parameter {other.param} ({other.rtype}), and one of "
                    "them is &mut; Rust forbids aliasing a &mut (pass a copy, or slices that don't overlap)",
                )
        self._lend(value, t.mutable, where, "")
        if n and rec.bools:
            _check_record_bools(rec, value, name, where)
        if n:
            self.spans.append((start, end, t.mutable, where))
        if self.copy_buffers and n:
            # A call with a callback: Rust gets a private copy (numpy aligns
            # it), copied back after the call for &mut (see _write_back_lists).
            private = value.copy()
            packed = private.tobytes()
            self.keep.append(private)
            if t.mutable:
                # The caller's array, exported for the whole call: the copy-back target.
                export = (ctypes.c_char * len(packed)).from_buffer(value)
                self.keep.append(export)
                self.array_backs.append((private, export, packed, where))
            start = private.ctypes.data
        else:
            self.in_place = True
        header = array(WORD, [start, n])
        self.keep += [header, value]
        address: int = header.buffer_info()[0]
        return address

    def where(self, name: str, t: Param) -> Where:
        if self.trusted:
            return Where(self.function, repr(name), t)
        return Where(self.function, name, f"{t}, inferred")

    def _lend(self, obj: Any, mutable: bool, where: Where, path: str) -> None:
        previous = self.lent.get(id(obj))
        if previous is not None and (previous or mutable):
            where.fail(
                ValueError,
                path,
                f"the same {type(obj).__name__} is passed twice and one of them is &mut; "
                "Rust forbids aliasing a &mut (pass a copy)",
            )
        self.lent[id(obj)] = mutable

    def _add(self, obj: Any, t: VecRef, kind: Kind, data: Any, n: int) -> _Node:
        node = _Node(obj, t, kind, data, n, self.count)
        self.count += 1
        self.nodes.append(node)
        return node

    def _vec(self, t: VecRef, value: Any, where: Where, path: str, on_path: set[int]) -> _Node:
        elem = t.elem
        cls = type(value)  # never isinstance(): a lying __class__ must not count
        if not t.mutable and self.trusted and (issubclass(cls, tuple) or cls is range):
            # A read-only view takes a tuple or a range as the list of its items
            # (read through the base type: a subclass' methods could lie).
            value = list(tuple.__getitem__(value, slice(None))) if issubclass(cls, tuple) else list(value)
            cls = list
        elif (
            not t.mutable
            and self.trusted
            and isinstance(elem, VecRef)
            and isinstance(elem.elem, Scalar)
            and not issubclass(cls, (list, str, bytes, tuple))
        ):
            rows = _rows_of(value, where, path)
            if rows is not None:
                value, cls = rows, list
        if issubclass(cls, list):
            if t.utf8:
                where.fail(TypeError, path, f"got {show(value)}, expected a str (or UTF-8 bytes)")
            ident = id(value)
            if ident in on_path:
                where.fail(ValueError, path, "the list contains itself")
            self._lend(value, t.mutable, where, path)
            # A subclass is read as the plain list it is (its __len__,
            # __iter__ or __getitem__ could disagree with its contents).
            items = value if cls is list else list.copy(value)
            # What write-back checks the list still holds (nothing lost meanwhile).
            snap = tuple(items) if t.mutable else ()
            if isinstance(elem, Scalar):
                node = self._add(value, t, _LIST, None, len(items))
                node.src = items
                node.snap = snap
                if self.pending is not None:
                    self.pending.append((elem, [node]))
                else:
                    # One C-level copy: its length is the header's, whatever
                    # converting an item does to the list meanwhile.
                    on_path.add(ident)
                    data = _scalar_array(elem, list.copy(items), where, path, on_path)
                    on_path.discard(ident)
                    node.n = len(data)
                    node.offset = 0
                    node.data = block = _Block(elem, data, data.tobytes(), [node])
                    node.ptr = block.base if node.n else 0
                    self.blocks.append(block)
                return node
            node = self._add(value, t, _NESTED, None, len(items))
            node.src = items
            node.snap = snap
            if self.pending is not None and isinstance(elem.elem, Scalar) and self._rows(node, elem):
                return node
            on_path.add(ident)
            rows = list.copy(items)  # converting a row can't change what the header counts
            node.children = [self._vec(elem, x, where, f"{path}[{i}]", on_path) for i, x in enumerate(rows)]
            node.n = len(node.children)
            on_path.discard(ident)
            return node
        if issubclass(cls, (str, bytes)):
            kind_name = "str" if issubclass(cls, str) else "bytes"
            if t.mutable or elem != U8:
                hint = "a bytearray or a list" if t.mutable else "&PyStr"
                why = "is immutable" if t.mutable else "holds bytes"
                where.fail(TypeError, path, f"got {show(value)}; a {kind_name} {why}: pass {hint}")
            try:
                raw = text(value, False)
            except UnicodeEncodeError as e:
                bad: UnicodeEncodeError | None = e
            else:
                bad = None
            if bad is not None:
                raise UnicodeEncodeError(
                    bad.encoding, bad.object, bad.start, bad.end, where.message(path, bad.reason)
                )
            if t.utf8 and kind_name == "bytes":
                _check_utf8(raw, where, path)
            self._lend(value, False, where, path)
            if self.trusted:
                return self._add(value, t, _BYTES, raw, len(raw))
            copy = bytearray(raw)
            return self._add(value, t, _COPY, copy, len(copy))
        buf = _inspect_buffer(value, where, path)
        if buf is None:
            if t.mutable and (issubclass(cls, tuple) or cls is range):
                where.fail(
                    TypeError,
                    path,
                    f"got {show(value)}, expected a list or a buffer for {t} (a tuple is immutable)",
                )
            where.fail(TypeError, path, f"got {show(value)}, expected a list or a buffer for {t}")
        if isinstance(elem, VecRef):
            where.fail(TypeError, path, f"got {show(value)}: a buffer holds scalars, not {elem}")
        # isize and usize take the buffers of the same-sized i64 / u64: one C type.
        got = buf.elem
        if got != elem and (got.kind, got.size, got.lo) != (elem.kind, elem.size, elem.lo):
            where.fail(TypeError, path, f"got a buffer of {buf.elem}, expected a buffer of {elem}")
        if buf.readonly and t.mutable:
            where.fail(TypeError, path, f"got a read-only {cls.__name__}; {t} needs a writable buffer")
        self._lend(value, t.mutable, where, path)
        copy_buffers = self.copy_buffers
        if buf.readonly or elem is BOOL or t.utf8 or copy_buffers:
            # Copied: a read-only buffer may still be changed by its owner,
            # a bool must stay 0 or 1 (a &str UTF-8) for all of the call, and
            # a call with a callback doesn't keep the GIL, so Rust gets a
            # private copy, checked once.
            with memoryview(value) as mv:
                copy = bytearray(mv)
            size = elem.size
            if len(copy) % size:
                where.fail(TypeError, path, f"a buffer of {len(copy)} bytes can't hold whole {elem} items")
            if elem is BOOL:
                _check_bools(copy, where, path)
            if t.utf8:
                _check_utf8(copy, where, path)
            if buf.readonly or (not t.mutable and not _COPY_BUFFERS):
                return self._add(value, t, _COPY, copy, len(copy) // size)
            node = self._add(value, t, _COPYBACK, copy, len(copy) // size)
            node.packed = bytes(copy)
            node.nbytes = len(copy)
        else:
            node = self._add(value, t, _BUFFER, None, buf.n)
            node.nbytes = buf.nbytes
        node.where = where
        node.path = path
        return node

    def _rows(self, node: _Node, row_t: VecRef) -> bool:
        """A list of scalar lists, checked at C speed; False to do it row by row.

        Every row must be an exact ``list``, appear once, and not be lent
        already; the rows' scalars are converted with the pending lists.
        """
        rows = list.copy(node.src)
        if list(map(type, rows)).count(list) != len(rows):
            return False
        ids = list(map(id, rows))
        unique = set(ids)
        if len(unique) != len(ids) or id(node.obj) in unique or not unique.isdisjoint(self.lent):
            return False
        self.lent.update(dict.fromkeys(ids, row_t.mutable))
        # One node for all the rows, each row's items read once, at C speed:
        # what is packed and, for &mut, what write-back checks each row still holds.
        snaps = list(map(tuple, rows)) if row_t.mutable else None
        group = _Node(rows, row_t, _ROWS, None, len(rows), self.count)
        group.snaps = snaps
        group.src = rows if snaps is None else snaps
        group.lens = lens = list(map(len, group.src))
        group.total = sum(lens)
        self.count += len(rows)
        self.nodes.append(group)
        node.children = [group]
        node.n = len(rows)
        assert self.pending is not None and isinstance(row_t.elem, Scalar)
        self.pending.append((row_t.elem, [group]))
        return True

    def _convert(self, pending: list[tuple[Scalar, list[_Node]]]) -> None:
        """Convert the scalar lists of one argument, one block per element type."""
        groups: dict[int, tuple[Scalar, list[_Node]]] = {}
        for elem, nodes in pending:  # a few batches: a flat list, or all the rows of one list
            group = groups.get(id(elem))
            if group is None:
                groups[id(elem)] = (elem, list(nodes))
            else:
                group[1].extend(nodes)
        for elem, nodes in groups.values():
            # The headers' lengths were counted before: packing exactly
            # that many items (or raising _Retry) keeps data and headers one.
            if len(nodes) == 1 and nodes[0].kind is _LIST:
                values: Any = nodes[0].src
                total = nodes[0].n
            else:
                values = _Rows()
                total = 0
                for node in nodes:
                    if node.kind is _ROWS:
                        values += node.src
                        total += node.total
                    else:
                        values.append(node.src)
                        total += node.n
            data, packed = pack(elem, values, total, any(node.t.mutable for node in nodes))
            block = _Block(elem, data, packed, nodes)
            base = block.base
            size = elem.size
            offset = 0
            for node in nodes:
                node.data = block
                node.offset = offset
                if node.kind is _ROWS:
                    node.ptrs = _row_pointers(base, offset, size, node.lens)
                    offset += node.total
                else:
                    node.ptr = base + offset * size if node.n else 0
                    offset += node.n
            self.blocks.append(block)

    # -- step B ------------------------------------------------------------

    def layout(self) -> None:
        """Lay every header and element pointer out in C memory."""
        nodes = self.nodes
        if not nodes:
            return
        headers = array(WORD, bytes(2 * self.count * POINTER_SIZE))
        hbase = headers.buffer_info()[0]
        values: list[int] = []
        slots: list[int] = []
        keep = self.keep
        ranges: list[tuple[int, int, _Node]] = []
        for node in nodes:
            kind = node.kind
            if kind is _LIST or kind is _NESTED:
                now = list.__len__(node.obj)
                if now != node.n:
                    raise _resized(self.function, node.n, now)
            if kind is _LIST:
                values += (node.ptr, node.n)  # set by the conversion
                continue
            if kind is _ROWS:  # every row's header: (pointer, length), set by the conversion
                lens = node.lens
                nows = list(map(len, node.obj))  # exact lists
                if nows != lens:
                    raise next(_resized(self.function, n, now) for n, now in zip(lens, nows) if n != now)
                pairs = [0] * (2 * node.n)
                pairs[::2] = node.ptrs
                pairs[1::2] = lens
                values += pairs
                continue
            if kind is _NESTED:
                node.slot = len(slots)
                children = node.children
                if children and children[0].kind is _ROWS:  # its rows: consecutive headers
                    start = hbase + children[0].index * HEADER_SIZE
                    slots.extend(range(start, start + node.n * HEADER_SIZE, HEADER_SIZE))
                elif children and children[-1].index - children[0].index == len(children) - 1:
                    start = hbase + children[0].index * HEADER_SIZE  # rows: consecutive headers
                    slots.extend(range(start, start + len(children) * HEADER_SIZE, HEADER_SIZE))
                else:
                    slots.extend([hbase + child.index * HEADER_SIZE for child in children])
                ptr = 0  # set below, once the pointers array exists
            elif kind is _BYTES:
                ptr, lent = lend_bytes(node.data)
                keep.append(lent)
            else:  # BUFFER, COPY or COPYBACK: export the buffer / bytearray in place
                if kind is not _COPY:
                    # The caller's buffer, exported for the whole call (so it
                    # can't be resized): lent to Rust, or the copy-back target.
                    try:
                        export = (ctypes.c_char * node.nbytes).from_buffer(node.obj)
                    except (ValueError, TypeError, BufferError) as e:
                        error = f"the buffer changed while the arguments were converted ({e})"
                    else:
                        error = ""
                    if error:
                        node.where.fail(RuntimeError, node.path, error)
                    keep.append(export)
                    node.export = export
                    if node.nbytes:
                        start = ctypes.addressof(export)
                        ranges.append((start, start + node.nbytes, node))
                if kind is _BUFFER:
                    cbuf = node.export
                    self.in_place = True
                else:
                    cbuf = (ctypes.c_char * len(node.data)).from_buffer(node.data)
                    keep.append(cbuf)
                ptr = ctypes.addressof(cbuf) if node.n else 0
                elem = node.t.elem
                assert isinstance(elem, Scalar)
                if ptr % elem.align:
                    # Misaligned for T: lend an aligned copy, copied back after the call.
                    aligned = (elem.ctype * node.n).from_buffer_copy(cbuf)
                    keep.append(aligned)
                    node.data = (cbuf, aligned)
                    ptr = ctypes.addressof(aligned)
            node.ptr = ptr
            values += (ptr, node.n)
        if len(ranges) > 1:
            _refuse_overlaps(ranges)
        if slots:
            pointers = array(WORD, slots)
            pbase = pointers.buffer_info()[0]
            for node in nodes:
                if node.kind is _NESTED and node.n:
                    node.ptr = values[2 * node.index] = pbase + node.slot * POINTER_SIZE
            self.pointers = pointers
        headers[:] = array(WORD, values)
        self.headers = headers
        self.before = (headers.tobytes(), None if self.pointers is None else array(WORD, self.pointers))

    def c_args(self, values: list[Any]) -> list[Any]:
        """The C arguments, once laid out: each node becomes its header's address."""
        if self.headers is None:
            return values
        base = self.headers.buffer_info()[0]
        return [base + v.index * HEADER_SIZE if isinstance(v, _Node) else v for v in values]

    # -- step C ------------------------------------------------------------

    def write_back(self) -> None:
        """Put what Rust wrote back into the Python objects, by snapshot comparison, all or nothing."""
        if self.backs:
            from ._records import apply_records

            assignments = [a for back in self.backs for a in back.prepare()]
            # The records are set once every list has passed its check, and
            # before any list is written: a setter that raises (a frozen
            # dataclass) leaves every argument as it was.
            self._write_back_lists(lambda: apply_records(self.function, assignments))
        else:
            self._write_back_lists()

    def _write_back_lists(self, records: Callable[[], None] | None = None) -> None:
        """Write the lists and buffers back; ``records`` (the records'
        write-back) runs after their checks, before their writes."""
        copies: list[tuple[Any, Any]] = []
        for private, export, packed, where in self.array_backs:
            data = private.tobytes()
            if data != packed:
                if export.raw != packed:
                    where.fail(
                        RuntimeError,
                        "",
                        "the array was changed (by a callback or another thread) while Rust worked on "
                        "a copy of it; nothing was written back",
                    )
                copies.append((export, data))
        if not self.nodes:
            if copies:
                apply(self.function, [], copies, records)
            elif records is not None:
                records()
            return
        headers_before, pointers_before = self.before
        values = self.headers.tolist()
        moved = self.headers.tobytes() != headers_before or (
            self.pointers is not None and self.pointers != pointers_before
        )
        for block in self.blocks:
            block.unchanged = not block.mutable or _same(block.data, block.packed)
        by_address: dict[int, Any] | None = None
        updates: list[tuple[Any, Any, Any]] = []
        for node in self.nodes:
            kind = node.kind
            if kind is _BUFFER and isinstance(node.data, tuple):
                copies.append(node.data)  # a misaligned buffer's aligned copy goes back, as if lent
            if not node.t.mutable:
                continue
            if kind is _ROWS:
                if moved or not node.data.unchanged:  # else no row was moved or written
                    updates += _rows_back(node, values if moved else None)
                continue
            i = node.index
            ptr, n = (values[2 * i], values[2 * i + 1]) if moved else (node.ptr, node.n)
            same = ptr == node.ptr and n == node.n
            if kind is _LIST:
                block = node.data
                elem = block.elem
                if same:
                    if block.unchanged:
                        continue
                    items = block.slice(node.offset, node.n)
                else:  # Rust moved the view (swapped it with another one)
                    items = read_scalars(elem, ptr, n)
                updates.append((node.obj, node.snap, items))
            elif kind is _NESTED:
                if same and not (moved and self._slots_moved(node, pointers_before)):
                    continue  # the same children: each is written back on its own
                if by_address is None:
                    by_address = self._objects()
                if same:
                    addresses = self.pointers[node.slot : node.slot + n].tolist()
                else:
                    addresses = (ctypes.c_size_t * n).from_address(ptr)[:] if n else []
                elem_t = node.t.elem
                assert isinstance(elem_t, VecRef)
                updates.append((node.obj, node.snap, [_element(by_address, elem_t, a) for a in addresses]))
            elif kind is _COPYBACK or kind is _BUFFER:
                if same:
                    if kind is _COPYBACK and node.data != node.packed:
                        copies.append(self._copy_back(node, bytes(node.data)))
                    continue
                elem = node.t.elem
                assert isinstance(elem, Scalar)
                if n != node.n:
                    raise ValueError(
                        f"{self.function}(): Rust resized the view of a {type(node.obj).__name__}; "
                        "a buffer's length can't change"
                    )
                data = ctypes.string_at(ptr, n * elem.size)
                if elem is BOOL and data.translate(None, b"\x00\x01"):
                    raise ValueError(f"{self.function}(): Rust pointed a bool view at bytes not 0 or 1")
                copies.append(self._copy_back(node, data) if kind is _COPYBACK else (node.obj, data))
        apply(self.function, updates, copies, records)

    def _objects(self) -> dict[int, Any]:
        """The object each header of this call stands for, by the header's address."""
        base = self.headers.buffer_info()[0]
        objects: dict[int, Any] = {}
        for node in self.nodes:
            address = base + node.index * HEADER_SIZE
            if node.kind is _ROWS:
                objects.update(zip(range(address, address + node.n * HEADER_SIZE, HEADER_SIZE), node.obj))
            else:
                objects[address] = node.obj
        return objects

    def _slots_moved(self, node: _Node, before: array[int] | None) -> bool:
        """Whether Rust changed any element pointer of the nested view ``node``."""
        assert before is not None
        end = node.slot + node.n
        return bool(self.pointers[node.slot : end] != before[node.slot : end])

    def _copy_back(self, node: _Node, data: bytes) -> tuple[Any, bytes]:
        """The copy-back of a buffer Rust got a copy of; raise if it changed meanwhile."""
        if node.export.raw != node.packed:
            node.where.fail(
                RuntimeError,
                node.path,
                "the buffer was changed (by a callback or another thread) while Rust worked on a copy of it; "
                "nothing was written back",
            )
        return (node.export, data)

    def release(self) -> None:
        """Drop every export and C buffer of this call (buffers can resize again)."""
        if self.callbacks:
            _callbacks.forget(self.callbacks, sent=True)
        self.keep.clear()
        self.backs.clear()
        self.array_backs.clear()
        for node in self.nodes:
            node.data = None
        self.nodes.clear()
        self.count = 0
        self.blocks.clear()
        self.headers = self.pointers = self.before = None


def _rows_back(node: _Node, values: list[int] | None) -> list[tuple[Any, Any, Any]]:
    """The write-back of the rows of a :attr:`Kind.ROWS` node, by the rule of
    a list's (:meth:`Marshal.write_back`): ``values`` are the headers as Rust
    left them, None if it moved none."""
    block = node.data
    assert node.snaps is not None  # &mut
    updates = []
    offset = node.offset
    i = 2 * node.index
    for row, snap, ptr0, n0 in zip(node.obj, node.snaps, node.ptrs, node.lens):
        ptr, n = (values[i], values[i + 1]) if values is not None else (ptr0, n0)
        if ptr != ptr0 or n != n0:  # Rust moved the view (swapped it with another one)
            updates.append((row, snap, read_scalars(block.elem, ptr, n)))
        elif not block.unchanged:
            updates.append((row, snap, block.slice(offset, n0)))
        offset += n0
        i += 2
    return updates


def _resized(function: str, n: int, now: int) -> RuntimeError:
    """The error of a list that held ``n`` items when converted and ``now`` at the layout."""
    return RuntimeError(
        f"{function}(): a list argument changed size while it was converted "
        f"(from {n} to {now} items: converting an item changed it, or another thread did)"
    )


def _row_pointers(base: int, offset: int, size: int, lens: list[int]) -> list[int]:
    """The element pointer of each row of ``lens`` items packed one after the
    other from element ``offset`` of a block at ``base`` (0 for an empty row)."""
    ptrs = list(accumulate(map(operator.mul, lens, repeat(size)), initial=base + offset * size))
    ptrs.pop()  # the end of the last row
    if 0 in lens:
        ptrs = [ptr if n else 0 for ptr, n in zip(ptrs, lens)]
    return ptrs


def _rows_of(value: Any, where: Where, path: str) -> list[memoryview] | None:
    """The rows of a 2-dimensional C-contiguous buffer, as 1-dimensional views
    of it (zero copy), for a ``&[&[T]]``; None for an object without a buffer."""
    try:
        mv = memoryview(value)
    except (TypeError, ValueError, BufferError):
        return None
    if mv.ndim != 2:
        mv.release()
        return None
    elem = _buffer_scalar(mv.format, mv.itemsize)
    if elem is None or not mv.c_contiguous:
        mv.release()
        where.fail(TypeError, path, "a 2-dimensional buffer must be C-contiguous, of a Rust scalar type")
    n, width = mv.shape or (0, 0)
    row = width * mv.itemsize
    code: Any = elem.code if elem is not BOOL else "?"
    flat = mv.cast("B")
    return [flat[i * row : (i + 1) * row].cast(code) for i in range(n)]


def _refuse_overlaps(ranges: list[tuple[int, int, _Node]]) -> None:
    """Raise ``ValueError`` if two lent buffers share memory and one is ``&mut``.

    Judged by address ranges, not identity: two memoryviews of one bytearray,
    or overlapping numpy views, are different objects over the same bytes.
    """
    ranges.sort(key=lambda r: r[0])
    for i, (_, end, a) in enumerate(ranges):
        for start, _, b in ranges[i + 1 :]:
            if start >= end:
                break
            if a.t.mutable or b.t.mutable:
                first, second = (a, b) if a.index < b.index else (b, a)
                other = second.where.param + (f" item {second.path}" if second.path else "")
                first.where.fail(
                    ValueError,
                    first.path,
                    f"its buffer shares memory with parameter {other} ({second.t}), and one of them is "
                    "&mut; Rust forbids aliasing a &mut (pass a copy, or slices that don't overlap)",
                )


def apply(
    function: str,
    updates: list[tuple[Any, Any, Any]],
    copies: list[tuple[Any, Any]],
    before: Callable[[], None] | None = None,
) -> None:
    """Write everything computed: list contents and buffer copies; all or nothing.

    ``before`` runs once every check passed, before any write (the records'
    write-back, which undoes itself if it raises).

    ``updates`` are ``(list, items it held when converted, new items)``. Each
    list must still hold those items: if another thread (or a side effect of
    converting) changed it, writing would lose that change, so nothing is
    written and ``RuntimeError`` is raised. Then every write happens in one C
    call: lists through the ``list`` type itself (a subclass' ``__setitem__``
    is not called), with their old items kept alive until the end (so no
    finalizer, nor the ``KeyboardInterrupt`` one may raise, runs half way).
    """
    for obj, snap, _ in updates:
        now = list.__len__(obj)
        if now != len(snap):
            raise RuntimeError(
                f"{function}(): a list passed for a &mut parameter changed size during the call "
                f"(from {len(snap)} to {now} items); nothing was written back"
            )
        if not list.__eq__(obj, snap if type(snap) is list else list(snap)):
            raise RuntimeError(
                f"{function}(): a list passed for a &mut parameter was changed during the call "
                "(by another thread, or while its items were converted); nothing was written back"
            )
    if before is not None:
        before()
    objs = [obj for obj, _, _ in updates]
    olds = list(map(list.copy, objs))  # noqa: F841 - keeps the old items alive until every write is done
    arrays = [(t, s, ctypes.sizeof(t)) for t, s in copies if isinstance(t, ctypes.Array)]
    views = [memoryview(t) for t, _ in copies if not isinstance(t, ctypes.Array)]
    raws = [view.cast("B") for view in views]
    sources = [s for t, s in copies if not isinstance(t, ctypes.Array)]
    whole = slice(None)
    setitem: Any = operator.setitem
    try:
        deque(
            chain(
                map(list.__setitem__, objs, repeat(whole), [items for _, _, items in updates]),
                map(ctypes.memmove, *zip(*arrays)) if arrays else (),
                map(setitem, raws, repeat(whole), sources),
            ),
            maxlen=0,
        )
    finally:
        for view in raws + views:
            view.release()


def write_back_flat(
    function: str,
    headers: array[int],
    entries: tuple[tuple[list[Any], tuple[Any, ...], int, Scalar], ...],
) -> None:
    """The write-back of a flat fast call (see :mod:`pyo2._codegen`): the rule
    of :meth:`Marshal.write_back`, for ``&mut`` lists of scalars only.

    Each entry is ``(list, (ptr, n, data, packed, items), k, elem)``: the
    list, what its conversion gave (an array ``data`` of ``n`` items at
    ``ptr``, its bytes ``packed`` before the call, ``data`` None when empty;
    the ``items`` it held), its header's position among ``headers`` and its
    element type.
    """
    values = headers.tolist()
    updates = []
    for obj, (ptr0, n0, data, packed, snap), k, elem in entries:
        ptr, n = values[2 * k], values[2 * k + 1]
        if ptr == ptr0 and n == n0:
            if data is None or _same(data, packed):
                continue
            items = scalar_items(elem, data)
        else:  # Rust moved the view (swapped it with another one)
            items = read_scalars(elem, ptr, n)
        updates.append((obj, snap, items))
    apply(function, updates, [])


def lend_bytes(data: bytes) -> tuple[int, Any]:
    """The address of ``data``'s bytes, lent read-only, and what keeps them alive meanwhile."""
    if not data:
        return 0, None
    pointer = ctypes.c_char_p(data)
    # The pointer it holds (what ctypes.cast reads, a foreign call: 3x slower).
    return _VOID_AT(_ADDRESS_OF(pointer)).value or 0, pointer


_VOID_AT = ctypes.c_void_p.from_address
_ADDRESS_OF = ctypes.addressof


def _bools(items: list[Any]) -> bool:
    """Whether every item is a bool, or an int 0 or 1 (what a ``bool`` element takes)."""
    return set(map(type, items)) <= {bool, int} and set(items) <= {0, 1}


#: Items packed per :meth:`struct.Struct.pack_into` call: a large list is
#: converted in chunks (a 32 KiB argument tuple each) straight into its array,
#: not through one tuple and one ``bytes`` as long as the list.
_CHUNK = 4096


def _packer(elem: Scalar, n: int) -> struct.Struct:
    key = (elem.name, n)
    packer = _STRUCTS.get(key)
    if packer is None:
        if len(_STRUCTS) >= 256:
            _STRUCTS.clear()
        packer = _STRUCTS[key] = struct.Struct(f"={n}{_PACK[elem.name]}")
    return packer


def pack(elem: Scalar, values: Any, total: int, snapshot: bool = True) -> tuple[array[Any], Snapshot]:
    """``total`` scalars as an array of ``elem`` and, with ``snapshot``, a copy
    of it or its bytes (``b""`` without; see :func:`_snapshot`), at C speed.

    Raises :class:`_Retry` when they don't all convert, or ``values`` doesn't
    hold exactly ``total`` (the slow path then names the bad one).
    """
    try:
        if type(values) is list and total <= _CHUNK and elem.kind == "int":  # a short list of ints
            if len(values) != total:
                raise _Retry
            # Each item's operator.index(), range-checked, as struct takes it;
            # IndexError if converting an item shrank the list.
            data = array(elem.code, values)
            return data, data.tobytes() if snapshot else b""
        rows = values if type(values) is _Rows else None
        if rows is not None and (elem is BOOL or elem.kind == "float"):
            values, rows = list(chain.from_iterable(rows)), None  # read once, checked below
        if elem is BOOL:
            items = list(values)  # one C-level copy, checked and converted
            if len(items) != total or not _bools(items):
                raise _Retry
            data = array("B", items)
            return data, _snapshot(data, False) if snapshot else b""
        if elem.kind == "float":
            if type(values) is not list and type(values) is not tuple:
                values = list(values)  # a chain of rows: read once
            if lying_floats(values):  # struct would call an int subclass' __float__
                raise _Retry
        data = array(elem.code, bytes(elem.size)) * total if total else array(elem.code)
        rest = total % _CHUNK
        if rows is not None:  # one pack_into per row (a chunk of a long one), straight from the row
            size = elem.size
            offset = 0
            last = -1
            pack_row: Any = None
            for row in rows:
                n = len(row)
                if n > _CHUNK:
                    _pack_list(data, offset, elem, row, n)
                elif n:
                    if n != last:
                        pack_row, last = _packer(elem, n).pack_into, n
                    pack_row(data, offset, *row)  # struct.error past the end of data
                offset += n * size
            if offset != total * size:
                raise _Retry
        elif type(values) is list or type(values) is tuple:
            if len(values) != total:
                raise _Retry
            if total <= _CHUNK:
                _packer(elem, total).pack_into(data, 0, *values)
            else:
                size = elem.size
                pack_into = _packer(elem, _CHUNK).pack_into
                end = total - rest
                for i in range(0, end, _CHUNK):
                    pack_into(data, i * size, *values[i : i + _CHUNK])
                if rest:
                    _packer(elem, rest).pack_into(data, end * size, *values[end:])
        else:
            items = iter(values)
            size = elem.size
            pack_into = _packer(elem, _CHUNK).pack_into
            end = total - rest
            for i in range(0, end, _CHUNK):
                pack_into(data, i * size, *islice(items, _CHUNK))
            if rest:
                _packer(elem, rest).pack_into(data, end * size, *islice(items, rest))
            if next(items, _END) is not _END:
                raise _Retry
    except (struct.error, TypeError, OverflowError, ValueError, IndexError):
        raise _Retry from None
    return data, _snapshot(data, elem.kind == "float") if snapshot else b""


class _Rows(list):  # type: ignore[type-arg]
    """The lists :func:`pack` packs one after the other (the rows of a list of lists)."""

    __slots__ = ()


def _pack_list(data: array[Any], offset: int, elem: Scalar, values: Any, n: int) -> None:
    """Pack the ``n`` items of a long list into ``data`` from byte ``offset``, a chunk at a time."""
    size = elem.size
    pack_into = _packer(elem, _CHUNK).pack_into
    rest = n % _CHUNK
    end = n - rest
    for i in range(0, end, _CHUNK):
        pack_into(data, offset + i * size, *values[i : i + _CHUNK])
    if rest:
        _packer(elem, rest).pack_into(data, offset + end * size, *values[end:n])


def _snapshot(data: array[Any], floats: bool) -> Snapshot:
    """The snapshot :func:`_same` compares ``data`` with after the call: a copy
    of an integer array, which compares at C speed; a float array's bytes
    (where -0.0 == 0.0 and nan != nan would mislead). Past :data:`_CHUNK`
    items, a tuple of such copies of :data:`_CHUNK` items each: with a second
    copy as large as the data the allocator gives memory back to the system
    after each call and takes it again, page by page, on the next one (8 ns
    per element of system time in the 1000x100 nested sum, &mut).
    """
    n = len(data)
    if n <= _CHUNK:
        return data.tobytes() if floats else data[:]
    pieces = map(data.__getitem__, map(slice, range(0, n, _CHUNK), range(_CHUNK, n + _CHUNK, _CHUNK)))
    return tuple(map(array.tobytes, pieces)) if floats else tuple(pieces)


def _same(data: array[Any], packed: Snapshot) -> bool:
    """Whether ``data`` still holds the bytes of its snapshot ``packed`` (see :func:`_snapshot`)."""
    if type(packed) is array:
        return data == packed
    if type(packed) is bytes:
        return data.tobytes() == packed
    for i, piece in enumerate(packed):
        now = data[i * _CHUNK : (i + 1) * _CHUNK]
        if (now if type(piece) is array else now.tobytes()) != piece:
            return False
    return True


_END = object()


def _check_bools(data: bytearray, where: Where, path: str) -> None:
    """Raise ``ValueError`` (naming the item) unless every byte is 0 or 1."""
    if data.translate(None, b"\x00\x01"):
        i = next(i for i, byte in enumerate(data) if byte > 1)
        where.fail(ValueError, f"{path}[{i}]", f"{data[i]} is not a bool (a bool buffer holds only 0 and 1)")


def _unchanged(function: str, value: list[Any], items: list[Any]) -> None:
    """Raise ``RuntimeError`` unless the list ``value`` still holds ``items``
    (converting its records ran their getters, or another thread ran)."""
    if list.__len__(value) != len(items) or not all(map(operator.is_, list.copy(value), items)):
        raise RuntimeError(
            f"{function}(): a list of records changed while it was converted (by a record's getter, "
            "or another thread); Rust was not called"
        )


def _bool_leaves(t: Any, off: int, path: str, out: list[tuple[int, str]]) -> None:
    """The offsets and paths of the ``bool`` leaves of a plain record field (type ``t``)."""
    if t is BOOL:
        out.append((off, path))
    elif isinstance(t, OArr):
        from ._records import out_layout

        size = out_layout(t.elem)[0]
        for i in range(t.n):
            _bool_leaves(t.elem, off + i * size, f"{path}[{i}]", out)
    elif isinstance(t, ORec):
        for f in t.record.fields:
            _bool_leaves(f.t, off + f.off, f"{path}.{f.name}", out)


def _check_record_bools(rec: Any, value: Any, name: str, where: Where) -> None:
    """Raise ``ValueError`` (naming the record and field) unless every ``bool``
    of the structured array ``value`` is 0 or 1 (Rust's other values are UB)."""
    leaves: list[tuple[int, str]] = []
    for f in rec.fields:
        _bool_leaves(f.t, f.off, f".{f.name}", leaves)
    data = memoryview(value.view("u1").reshape(-1))
    for off, path in leaves:
        column = bytes(data[off :: rec.size])
        if column.translate(None, b"\x00\x01"):
            i = next(i for i, byte in enumerate(column) if byte > 1)
            where.fail(ValueError, "", f"{name}[{i}]{path} (bool): {column[i]} is not a bool (0 or 1)")


def _check_utf8(data: Any, where: Where, path: str) -> None:
    """Raise ``UnicodeDecodeError`` (naming the parameter) unless ``data`` is UTF-8."""
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError as e:
        raise UnicodeDecodeError(
            e.encoding, e.object, e.start, e.end, where.message(path, e.reason)
        ) from None


def _element(by_address: dict[int, Any], t: VecRef, address: int, depth: int = 1) -> Any:
    """The Python object for an element pointer Rust left in a nested PyVec."""
    obj = by_address.get(address, _END)
    if obj is not _END:
        return obj
    # Not a header this call made (only unsafe Rust gets here): decode a fresh value.
    if depth > MAX_DEPTH:
        raise ValueError(f"Rust returned PyVec pointers nested deeper than {MAX_DEPTH} levels")
    ptr, n = (ctypes.c_size_t * 2).from_address(address)[:]
    elem = t.elem
    if isinstance(elem, Scalar):
        if elem == U8 and not t.mutable:
            return ctypes.string_at(ptr, n) if n else b""
        return read_scalars(elem, ptr, n)
    addresses = (ctypes.c_size_t * n).from_address(ptr)[:] if n else []
    return [_element(by_address, elem, a, depth + 1) for a in addresses]


def _scalar_array(t: Scalar, items: list[Any], where: Where, path: str, on_path: set[int]) -> array[Any]:
    """``items`` as an :class:`array.array` of ``t``, checked, at C speed."""
    try:
        if t is BOOL:
            if not _bools(items):
                raise TypeError
            return array("B", items)
        if t.kind == "float" and lying_floats(items):  # array would call an int subclass' __float__
            raise TypeError
        converted = array(t.code, items)
        if t.kind == "float" and t.size == 4 and not all(map(math.isfinite, converted)):
            raise OverflowError
        return converted
    except (TypeError, OverflowError, ValueError):
        pass
    # Slow path, to name the first bad item (or convert int subclasses by their value).
    values = []
    for i, item in enumerate(items):
        if id(item) in on_path:
            where.fail(ValueError, f"{path}[{i}]", "the list contains itself")
        try:
            values.append(scalar(t, item))
        except (TypeError, OverflowError) as e:
            kind, detail = type(e), str(e)  # not e: its traceback would hold this frame in a cycle
        else:
            continue
        where.fail(kind, f"{path}[{i}]", detail)  # outside the except clause: no chain
    # All items pass one by one: the array can only have failed on NaN/inf, which are fine.
    return array(t.code, values)
