"""One call's worth of argument conversion and write-back.

A call goes through three steps, so that a bad argument never leaves anything
half done:

A. :meth:`Marshal.param` checks every argument and builds one :class:`_Node`
   per ``PyVec`` header it needs. Element data is converted at C speed
   (:mod:`array`); buffers are only inspected. Nothing is exported, locked or
   written yet: any error leaves every argument untouched.
B. :meth:`Marshal.layout` puts all headers in one C array and all element
   pointers in another, and exports the zero-copy buffers. It can't fail but
   for ``MemoryError``.
C. After the call, :meth:`Marshal.write_back` reads every header Rust could
   write, computes each list's new contents, and only then assigns them all.
"""

from __future__ import annotations

import codecs
import ctypes
import math
import sys
from array import array
from typing import Any

from ._convert import Where, scalar, show
from ._signature import MAX_DEPTH
from ._types import BOOL, F64, HEADER_SIZE, I64, POINTER_SIZE, PYSTR, SCALARS, U8, RType, Scalar, VecRef

__all__ = ["Marshal", "infer"]


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
    with mv:
        elem = _buffer_scalar(mv.format, mv.itemsize)
        if elem is None:
            where.fail(TypeError, path, f"a buffer of format {mv.format!r} has no Rust element type")
        if mv.ndim != 1:
            where.fail(
                TypeError, path, f"a {mv.ndim}-dimensional buffer can't be a PyVec; pass a 1-dimensional one"
            )
        if not mv.c_contiguous:
            where.fail(TypeError, path, "a non-contiguous buffer can't be a PyVec; pass a contiguous copy")
        return _Buffer(elem, len(mv), mv.nbytes, mv.readonly)


class _Node:
    """One ``PyVec`` header: where its elements come from and go back to."""

    __slots__ = ("children", "data", "index", "kind", "n", "nbytes", "obj", "ptr", "slot", "t")

    def __init__(self, obj: Any, t: VecRef, kind: str, data: Any, n: int) -> None:
        self.obj = obj
        self.t = t
        #: "list" (scalars converted into ``data``, an array), "nested"
        #: (``children``), "buffer" (zero-copy ``obj``), "copy" (a private
        #: ``bytearray`` in ``data``) or "bytes" (``data`` read in place).
        self.kind = kind
        self.data = data
        self.n = n
        self.children: list[_Node] = []
        self.index = 0
        self.ptr = 0
        self.slot = 0
        self.nbytes = 0


# ---------------------------------------------------------------------------
# Inference: a Rust type from a Python value, per DESIGN.md's seed rules.


def _unify(a: RType | None, b: RType | None) -> RType | None:
    """The one type both ``a`` and ``b`` fit, or raise ``LookupError``."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if isinstance(a, VecRef) and isinstance(b, VecRef) and a.mutable == b.mutable:
        elem = _unify(a.elem, b.elem)
        return VecRef(elem, a.mutable)  # type: ignore[arg-type]
    raise LookupError


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
    t = _SIMPLE.get(type(value))
    if t is not None:
        return t
    if isinstance(value, list):
        if id(value) in on_path:
            where.fail(ValueError, path, "the list contains itself")
        if depth > MAX_DEPTH:
            where.fail(ValueError, path, f"lists nested deeper than {MAX_DEPTH} levels")
        types = set(map(type, value))
        if len(types) == 1:
            (only,) = types
            t = _SIMPLE.get(only)
            if t is not None:
                return VecRef(t, mutable=True)
        on_path.add(id(value))
        elem: RType | None = None
        first = -1
        for i, item in enumerate(value):
            item_t = _infer(item, where, f"{path}[{i}]", on_path, depth + 1)
            try:
                elem = _unify(elem, item_t)
            except LookupError:
                where.fail(
                    TypeError,
                    "",
                    f"mixed list: item {path}[{first}] is {show(value[first])} ({elem}) but "
                    f"item {path}[{i}] is {show(item)} ({item_t}); "
                    "a PyVec's elements all have one type",
                )
            if first < 0 and item_t is not None:
                first = i
        on_path.discard(id(value))
        return VecRef(elem, mutable=True)  # type: ignore[arg-type]
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return I64
    if isinstance(value, float):
        return F64
    if isinstance(value, (str, bytes)):
        return PYSTR
    buf = _inspect_buffer(value, where, path)
    if buf is not None:
        return VecRef(buf.elem, mutable=not buf.readonly)
    where.fail(
        TypeError,
        path,
        f"can't pass {show(value)}: pyo2 infers int, float, bool, str, bytes, "
        "buffers and lists of them (declare the function for other types)",
    )


# ---------------------------------------------------------------------------
# Steps A-C.


class Marshal:
    """Converts one call's arguments and writes Rust's changes back."""

    def __init__(self, function: str, trusted: bool) -> None:
        self.function = function
        #: True when the signature is declared: an immutable object given for a
        #: ``&`` parameter is then lent in place. Under inference the real Rust
        #: signature is unknown, so immutable objects are always copied.
        self.trusted = trusted
        self.nodes: list[_Node] = []
        #: id → True (lent as &mut) / False (lent as &), to refuse aliasing.
        self.lent: dict[int, bool] = {}
        self.keep: list[Any] = []
        self.headers: Any = None
        self.pointers: Any = None

    # -- step A ------------------------------------------------------------

    def param(self, t: RType, value: Any, name: str) -> Any:
        """Check one argument; a scalar's C value, or the node of a PyVec.

        ``name`` is the parameter's name (declared) or ``#N`` (inferred).
        """
        if isinstance(t, Scalar):
            try:
                return scalar(t, value)
            except (TypeError, OverflowError) as e:
                self.where(name, t).fail(type(e), "", str(e))
        return self._vec(t, value, self.where(name, t), "", set())

    def where(self, name: str, t: RType) -> Where:
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

    def _add(self, node: _Node) -> _Node:
        node.index = len(self.nodes)
        self.nodes.append(node)
        return node

    def _vec(self, t: VecRef, value: Any, where: Where, path: str, on_path: set[int]) -> _Node:
        elem = t.elem
        if isinstance(value, list):
            if t.utf8:
                where.fail(TypeError, path, f"got {show(value)}, expected a str (or UTF-8 bytes)")
            if id(value) in on_path:
                where.fail(ValueError, path, "the list contains itself")
            self._lend(value, t.mutable, where, path)
            if isinstance(elem, Scalar):
                data = _scalar_array(elem, value, where, path, on_path)
                return self._add(_Node(value, t, "list", data, len(value)))
            node = self._add(_Node(value, t, "nested", None, len(value)))
            on_path.add(id(value))
            node.children = [self._vec(elem, x, where, f"{path}[{i}]", on_path) for i, x in enumerate(value)]
            on_path.discard(id(value))
            return node
        if isinstance(value, (str, bytes)):
            kind_name = "str" if isinstance(value, str) else "bytes"
            if t.mutable or elem != U8:
                hint = "a bytearray or a list" if t.mutable else "&PyStr"
                why = "is immutable" if t.mutable else "holds bytes"
                where.fail(TypeError, path, f"got {show(value)}; a {kind_name} {why}: pass {hint}")
            if isinstance(value, str):
                try:
                    encoded = value.encode("utf-8") if self.trusted else bytearray(value, "utf-8")
                except UnicodeEncodeError as e:
                    raise UnicodeEncodeError(
                        e.encoding,
                        e.object,
                        e.start,
                        e.end,
                        where.message(path, e.reason),
                    ) from None
            else:
                if t.utf8:
                    _check_utf8(value, where, path)
                encoded = value if self.trusted else bytearray(value)
            self._lend(value, False, where, path)
            kind = "bytes" if self.trusted else "copy"
            return self._add(_Node(value, t, kind, encoded, len(encoded)))
        buf = _inspect_buffer(value, where, path)
        if buf is None:
            where.fail(TypeError, path, f"got {show(value)}, expected a list or a buffer for {t}")
        if isinstance(elem, VecRef):
            where.fail(TypeError, path, f"got {show(value)}: a buffer holds scalars, not {elem}")
        if buf.elem != elem:
            where.fail(TypeError, path, f"got a buffer of {buf.elem}, expected a buffer of {elem}")
        if t.utf8:
            with memoryview(value) as mv:
                _check_utf8(mv, where, path)
        if buf.readonly:
            if t.mutable:
                where.fail(
                    TypeError, path, f"got a read-only {type(value).__name__}; {t} needs a writable buffer"
                )
            self._lend(value, False, where, path)
            with memoryview(value) as mv:
                copy = bytearray(mv)
            return self._add(_Node(value, t, "copy", copy, buf.n))
        self._lend(value, t.mutable, where, path)
        node = self._add(_Node(value, t, "buffer", None, buf.n))
        node.nbytes = buf.nbytes
        return node

    # -- step B ------------------------------------------------------------

    def layout(self) -> None:
        """Lay every header and element pointer out in C memory."""
        nodes = self.nodes
        if not nodes:
            return
        headers = (ctypes.c_size_t * (2 * len(nodes)))()
        hbase = ctypes.addressof(headers)
        n_pointers = sum(len(node.children) for node in nodes)
        pointers = (ctypes.c_size_t * n_pointers)()
        pbase = ctypes.addressof(pointers)
        values: list[Any] = []
        slots: list[Any] = []
        keep = self.keep
        for node in nodes:
            kind = node.kind
            if kind == "list":
                ptr = node.data.buffer_info()[0] if node.n else 0
            elif kind == "nested":
                node.slot = len(slots)
                ptr = pbase + node.slot * POINTER_SIZE if node.n else 0
                slots.extend(hbase + child.index * HEADER_SIZE for child in node.children)
            elif kind == "bytes":
                cp = ctypes.c_char_p(node.data)
                keep.append(cp)
                ptr = (ctypes.cast(cp, ctypes.c_void_p).value or 0) if node.n else 0
            else:  # "buffer" or "copy": export the bytearray / buffer in place
                source = node.obj if kind == "buffer" else node.data
                size = node.nbytes if kind == "buffer" else len(source)
                cbuf = (ctypes.c_char * size).from_buffer(source)
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
        headers[:] = values
        if slots:
            pointers[:] = slots
        self.headers = headers
        self.pointers = pointers

    def c_args(self, values: list[Any]) -> list[Any]:
        """The C arguments, once laid out: each node becomes its header's address."""
        if self.headers is None:
            return values
        base = ctypes.addressof(self.headers)
        return [base + v.index * HEADER_SIZE if isinstance(v, _Node) else v for v in values]

    # -- step C ------------------------------------------------------------

    def write_back(self) -> None:
        """Put what Rust wrote back into the Python objects, all or nothing."""
        nodes = self.nodes
        if not nodes:
            return
        values = self.headers[:]
        by_address: dict[int, _Node] | None = None
        updates: list[tuple[Any, Any]] = []
        copies: list[tuple[Any, Any]] = []
        for node in nodes:
            if not node.t.mutable:
                continue
            ptr = values[2 * node.index]
            n = values[2 * node.index + 1]
            same = ptr == node.ptr and n == node.n
            kind = node.kind
            elem = node.t.elem
            if kind == "list":
                assert isinstance(elem, Scalar)
                items = node.data.tolist() if same else _read_scalars(elem, ptr, n)
                updates.append((node.obj, list(map(bool, items)) if elem is BOOL else items))
            elif kind == "nested":
                if by_address is None:
                    base = ctypes.addressof(self.headers)
                    by_address = {base + nd.index * HEADER_SIZE: nd for nd in nodes}
                if same:
                    addresses = self.pointers[node.slot : node.slot + n]
                else:
                    addresses = (ctypes.c_size_t * n).from_address(ptr)[:] if n else []
                assert isinstance(elem, VecRef)
                updates.append((node.obj, [_element(by_address, elem, a) for a in addresses]))
            elif kind == "buffer":
                if isinstance(node.data, tuple):
                    copies.append(node.data)
                if not same:
                    assert isinstance(elem, Scalar)
                    if n != node.n:
                        raise ValueError(
                            f"{self.function}(): Rust resized the view of a {type(node.obj).__name__}; "
                            "a buffer's length can't change"
                        )
                    copies.append((node.obj, ctypes.string_at(ptr, n * elem.size)))
        for target, source in copies:
            if isinstance(target, ctypes.Array):
                ctypes.memmove(target, source, ctypes.sizeof(target))
            else:
                with memoryview(target) as mv, mv.cast("B") as raw:
                    raw[:] = source
        for obj, items in updates:
            obj[:] = items

    def release(self) -> None:
        """Drop every export and C buffer of this call (buffers can resize again)."""
        self.keep.clear()
        for node in self.nodes:
            node.data = None
        self.nodes.clear()
        self.headers = self.pointers = None


def _check_utf8(data: Any, where: Where, path: str) -> None:
    """Raise ``UnicodeDecodeError`` (naming the parameter) unless ``data`` is UTF-8."""
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError as e:
        raise UnicodeDecodeError(
            e.encoding, e.object, e.start, e.end, where.message(path, e.reason)
        ) from None


def _read_scalars(t: Scalar, ptr: int, n: int) -> list[Any]:
    """``n`` values of ``t`` at ``ptr`` (memory Rust pointed a header at)."""
    if not n:
        return []
    return array(t.code, ctypes.string_at(ptr, n * t.size)).tolist()


def _element(by_address: dict[int, _Node], t: VecRef, address: int, depth: int = 1) -> Any:
    """The Python object for an element pointer Rust left in a nested PyVec."""
    node = by_address.get(address)
    if node is not None:
        return node.obj
    # Not a header this call made (only unsafe Rust gets here): decode a fresh value.
    if depth > MAX_DEPTH:
        raise ValueError(f"Rust returned PyVec pointers nested deeper than {MAX_DEPTH} levels")
    ptr, n = (ctypes.c_size_t * 2).from_address(address)[:]
    elem = t.elem
    if isinstance(elem, Scalar):
        if elem == U8 and not t.mutable:
            return ctypes.string_at(ptr, n) if n else b""
        items = _read_scalars(elem, ptr, n)
        return list(map(bool, items)) if elem is BOOL else items
    addresses = (ctypes.c_size_t * n).from_address(ptr)[:] if n else []
    return [_element(by_address, elem, a, depth + 1) for a in addresses]


def _scalar_array(t: Scalar, items: list[Any], where: Where, path: str, on_path: set[int]) -> array[Any]:
    """``items`` as an :class:`array.array` of ``t``, checked, at C speed."""
    try:
        if t is BOOL:
            if not set(map(type, items)) <= {bool, int} or not set(items) <= {0, 1}:
                raise TypeError
            return array("B", items)
        converted = array(t.code, items)
        if t.kind == "float" and t.size == 4 and not all(map(math.isfinite, converted)):
            raise OverflowError
        return converted
    except (TypeError, OverflowError, ValueError):
        pass
    # Slow path, only to name the first bad item.
    for i, item in enumerate(items):
        if item is items or id(item) in on_path:
            where.fail(ValueError, f"{path}[{i}]", "the list contains itself")
        try:
            scalar(t, item)
        except (TypeError, OverflowError) as e:
            where.fail(type(e), f"{path}[{i}]", str(e))
    # All items pass one by one: the array can only have failed on NaN/inf, which are fine.
    return array(t.code, items)
