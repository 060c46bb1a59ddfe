"""The C ABI of functions exported with ``#[pyo2::export]`` (``pyo2::abi`` in Rust).

For ``#[pyo2::export] fn f(p1: P1, …) -> R`` the library exports::

    int32_t f(P1_C p1, …, Pyo2Slot *slot);
    const char *__pyo2_sig__f(void);   /* "pyo2 1\\nfn f(p1: P1, …) -> R\\ndoc" */

The status says what the 32-byte slot holds: the value (OK), nothing (NONE),
or a message (ERR, PANIC, BAD_ARG). Strings, vectors and messages are
:class:`~pyo2._types.COwnedBuf`\\ s that Python copies and then frees by
calling their own ``drop``, exactly once. After a PANIC the message may end
with the panic's location, ``"\\0pyo2-location\\0FILE\\0LINE\\0COLUMN"``
(:func:`split_location`; the format is in ``pyo2::abi``'s documentation).

``#[pyo2::export]`` on a function that already is ``#[no_mangle] extern "C"``
adds only the descriptor, whose second line then reads
``#[no_mangle] extern "C" fn f(p1: P1, …) -> R``: the rest of the line, from
``extern``, is a declaration (the grammar of ``dll.declare``), and the
function is called as declared, without a status or a slot. A package that
predates this form refuses it (its parser expects ``fn``) instead of calling
the function with the exported ABI.

:func:`outcome` turns a status into a value or an exception, and
:func:`settle` adds the one post-call rule about write-back. Imports point
down: :mod:`pyo2._runtime` uses this module; it uses :mod:`pyo2._convert`,
:mod:`pyo2._signature`, :mod:`pyo2._types` and :mod:`pyo2._errors`.
"""

from __future__ import annotations

import ctypes

from ._callbacks import take_raised
from ._convert import read_scalars
from ._errors import Pyo2Error, RustError, RustPanic
from ._signature import parse_descriptor, parse_signature
from ._types import SCALARS, U8, COwnedBuf, IterT, ORet, Owned, Param, Ret, Rich, Signature

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["ABI_VERSION", "ABI_VERSIONS", "SIG_PREFIX", "CSlot", "descriptor", "outcome", "settle"]

#: The newest descriptor version this package reads (``pyo2 2`` adds objects,
#: iterators and callbacks; ``pyo2 1`` descriptors are read as before).
ABI_VERSION = 2
#: Every descriptor version this package reads.
ABI_VERSIONS = (1, 2)
#: Prefix of the symbol holding an exported function's descriptor.
SIG_PREFIX = "__pyo2_sig__"
#: Start of the signature line of a plain ``extern "C"`` function's descriptor.
EXTERN_PREFIX = "#[no_mangle] "

OK, NONE, ERR, PANIC, BAD_ARG, CALLBACK_RAISED, BUSY = range(7)


class CSlot(ctypes.Union):
    """``pyo2::abi::Slot``: one call's result, read through the field named
    after its Rust type (``slot.i64``), or ``slot.buf`` for owned memory."""

    _fields_ = [
        *((name, t.ctype) for name, t in SCALARS.items()),
        ("buf", COwnedBuf),
        ("words", ctypes.c_uint64 * 4),
    ]


assert ctypes.sizeof(CSlot) == 32 and ctypes.alignment(CSlot) == 8

_DESCRIBE = ctypes.CFUNCTYPE(ctypes.c_void_p)
_DROP = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
# The drop functions seen so far, by address (one per element type and library).
_DROPS: dict[int, Any] = {}


def descriptor(cdll: ctypes.CDLL, path: str, name: str, described: str | None = None) -> Signature | None:
    """The signature ``name`` exported with ``#[pyo2::export]``, or None if it has none.

    For a plain ``extern "C"`` function marked ``#[pyo2::export]`` it is a
    declared function's signature (its ``ret`` a scalar or None, so
    ``sig.exported`` is false); otherwise the ``ret`` is a :class:`Ret`.
    ``described``: the name the descriptor gives the function, when not
    ``name`` (a method's ``fn encode`` at the symbol ``__pyo2_m__Tokenizer__encode``).
    """
    try:
        pointer = cdll[SIG_PREFIX + name]
    except AttributeError:
        return None
    address = ctypes.cast(pointer, ctypes.c_void_p).value
    assert address is not None
    text_address = _DESCRIBE(address)()
    if not text_address:
        raise Pyo2Error(f"{path!r}: the descriptor of {name!r} is empty")
    text = ctypes.string_at(text_address).decode("utf-8", "replace")
    header, _, rest = text.partition("\n")
    line, _, doc = rest.partition("\n")
    magic, _, version = header.partition(" ")
    if magic != "pyo2" or not version.isdigit():
        raise Pyo2Error(f"{path!r}: {SIG_PREFIX + name} is not a pyo2 descriptor (it starts {header!r})")
    if int(version) not in ABI_VERSIONS:
        raise Pyo2Error(
            f"{path!r}: {name!r} was exported with pyo2 ABI version {version}, but this pyo2 "
            f"package reads versions {', '.join(map(str, ABI_VERSIONS))}; use matching versions of "
            "the crate and the package"
        )
    if line.startswith(EXTERN_PREFIX):
        declaration = line[len(EXTERN_PREFIX) :]
        if not declaration.startswith('extern "C" fn '):
            raise Pyo2Error(f"{path!r}: the descriptor of {name!r} is not a pyo2 descriptor: {line!r}")
        sig = parse_signature(declaration)
    else:
        sig = parse_descriptor(line)
    if sig.name != (name if described is None else described):
        raise Pyo2Error(f"{path!r}: the descriptor of {name!r} describes {sig.name!r}")
    if any(isinstance(t, Rich) for _, t in sig.params) or (
        isinstance(sig.ret, Ret) and isinstance(sig.ret.value, ORet)
    ):
        sig = _resolve(cdll, path, sig)
    return Signature(sig.name, sig.params, sig.ret, doc)


def _resolve(cdll: ctypes.CDLL, path: str, sig: Signature) -> Signature:
    """``sig`` with the records it names read from the library (see :mod:`pyo2._records`)."""
    from ._records import load_record, resolve

    cache = vars(cdll).setdefault("_pyo2_records", {})

    def lookup(name: str) -> Any:
        return load_record(cdll, path, name, cache)

    params: list[tuple[str, Param]] = []
    for pname, t in sig.params:
        if isinstance(t, Rich) and t.mode != "optref":
            rt = resolve(t.t, lookup)
            mode = t.mode
            rec = getattr(rt, "record", None)
            if rec is not None and not rec.plain and mode != "own":
                if mode != "slice":
                    raise Pyo2Error(
                        f"{path!r}: fn {sig.name}: parameter {pname!r} ({t}): an owned record crosses "
                        "by value or as &[R], not by reference"
                    )
                mode = "oslice"
            params.append((pname, Rich(mode, rt, pyvec=t.pyvec)))
            continue
        params.append((pname, t))
    ret = sig.ret
    if isinstance(ret, Ret) and isinstance(ret.value, ORet):
        ret = Ret(ORet(resolve(ret.value.t, lookup)), ret.optional, ret.error)
    return Signature(sig.name, tuple(params), ret, sig.doc)


def _free(buf: COwnedBuf) -> None:
    address = buf.drop
    if address:
        drop = _DROPS.get(address)
        if drop is None:
            drop = _DROPS[address] = _DROP(address)
        drop(ctypes.addressof(buf))


def _take(buf: COwnedBuf, owned: Owned) -> Any:
    """Copy what ``buf`` holds into a Python object, then free it."""
    try:
        n = buf.len
        if owned.text:
            return ctypes.string_at(buf.ptr, n).decode("utf-8") if n else ""
        if owned.elem is U8:  # Vec<u8> is bytes
            return ctypes.string_at(buf.ptr, n) if n else b""
        return read_scalars(owned.elem, buf.ptr, n)
    finally:
        _free(buf)


def _message(err: COwnedBuf) -> str:
    text = _take(err, Owned(U8, text=True))
    assert isinstance(text, str)
    return text


#: What separates a panic's message from its location (see :func:`split_location`).
LOCATION_MARKER = "\0pyo2-location\0"


def split_location(text: str) -> tuple[str, tuple[str, int, int] | None]:
    """A PANIC message split into the panic's message and its ``(file, line, column)``.

    The location follows the last ``"\\0pyo2-location\\0"``, as
    ``FILE\\0LINE\\0COLUMN`` (a file name has no NUL, so the message may hold
    anything, that marker included). A message without one, as from a library
    built with an older pyo2, has no location: ``(text, None)``.
    """
    message, marker, at = text.rpartition(LOCATION_MARKER)
    if marker:
        parts = at.split("\0")
        if len(parts) == 3 and all(p.isascii() and p.isdecimal() for p in parts[1:]):
            return message, (parts[0], int(parts[1]), int(parts[2]))
    return text, None


def outcome(function: str, status: int, ret: Ret, slot: CSlot) -> Any:
    """The Python value of a call that ended with ``status``, or raise its error.

    Frees every buffer Rust handed over, whatever happens.
    """
    if status == OK:
        value = ret.value
        if value is None:
            return None
        if isinstance(value, Owned):
            return _take(slot.buf, value)
        if isinstance(value, ORet):
            from ._records import take

            return take(slot.buf, value.t)
        if isinstance(value, IterT):
            from ._objects import iterator

            return iterator(function, value, slot)
        return getattr(slot, value.name)
    if status == NONE:
        return None
    if status not in (
        ERR,
        PANIC,
        BAD_ARG,
        CALLBACK_RAISED,
        BUSY,
    ):  # pragma: no cover - only a library built for another ABI gets here
        raise Pyo2Error(f"{function}(): unknown status {status} from Rust")
    message = _message(slot.buf)
    if status == ERR:
        raise RustError(message, function)
    if status == PANIC:
        message, at = split_location(message)
        raise RustPanic(message, function, *(at or ()))
    if status == CALLBACK_RAISED:
        exc = take_raised()
        if exc is not None:
            raise exc  # the callable's own exception, its traceback included
        raise Pyo2Error(
            f"{function}(): {message} (on a thread the loader doesn't know as a Python thread; "
            "it was reported to sys.unraisablehook)"
        )
    if status == BUSY:
        raise RuntimeError(f"{function}(): {message}")
    raise _bad_argument(function, message)


def _bad_argument(function: str, message: str) -> Exception:
    """``BAD_ARG``: ``ValueError``, but ``TypeError`` for a handle that is not
    one of this library's objects of the class (forged, another library's,
    another class's; ``ValueError`` for a closed one: see ``pyo2::abi``, "Handles")."""
    _, _, detail = message.partition(": ")
    if message.startswith("parameter `") and (
        "is not a handle of this library" in detail or detail.startswith("the handle is a `")
    ):
        return TypeError(f"{function}(): {message}")
    return ValueError(f"{function}(): {message}")


def settle(function: str, status: int, ret: Ret, slot: CSlot, write_back: Callable[[], None] | None) -> Any:
    """:func:`outcome`, with the one post-call rule about ``write_back`` (what
    Rust wrote into the arguments, put back into the Python objects).

    After a panic nothing is written back: the lists stay as they were rather
    than half updated. Otherwise the function returned normally, ``Err(e)``
    included, so its writes stand: they are written back, then the value is
    returned or :class:`pyo2.RustError` raised. The slot's buffers are freed
    first, whatever happens.
    """
    try:
        result = outcome(function, status, ret, slot)
    except BaseException:
        # Err(e) is a normal return. (A bad argument was refused before the
        # function ran, so there is nothing of it to write back.) After a
        # panic, a callback's exception (Rust unwound) or BUSY (the function
        # didn't run), nothing is.
        if write_back is not None and status in (ERR, BAD_ARG):
            write_back()
        raise
    if write_back is not None:
        write_back()
    return result
