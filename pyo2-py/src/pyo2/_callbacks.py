"""Python callables called from Rust: ``&mut dyn FnMut(…)`` and ``pyo2::Callback<dyn Fn(…)>``.

The contract is ``pyo2::abi``'s section "Callbacks". In short:

- A callable crosses as a small C struct, ``{call, ctx}`` (scoped, valid for
  one call) or ``{call, ctx, release}`` (stored: Rust keeps it until it calls
  ``release(ctx)``, exactly once). ``ctx`` is a key into :data:`_TABLE`,
  which holds the loader's one reference to the callable: a scoped entry is
  removed when the call returns, a stored one by ``release``.
- ``call`` is one **trampoline** per callback signature, made once and kept
  for the life of the process (:data:`_TRAMPOLINES`), so Rust may call it
  from any thread at any time; it takes the GIL. With the compiled
  accelerator (not ``PYO2_PURE=1``), a signature of 0 to 2 arguments from
  {i64, u64, usize, isize, i32, u32, f64, bool, &str} returning (), one of
  those integers, f64 or bool has a compiled one (:func:`_compiled`),
  which finds the callable in the same table, checks its result with the
  same converters and hands an exception to :func:`_report`; any other
  signature (or no accelerator) gets a ctypes ``CFUNCTYPE`` of a Python
  function generated for it.
- ``call(ctx, args…, raised)`` returns the converted result itself (ctypes
  converts it to the C return type); an exception raised by the callable
  (or a result that doesn't convert) is kept in a per-thread stash, the
  trampoline writes ``*raised`` and returns a zero value: Rust
  unwinds to the exported call on that thread, which returns
  ``CALLBACK_RAISED``, and :func:`take_raised` hands the loader the very
  exception object to raise. On a thread inside no Python call (a Rust
  thread calling a stored callback) there is no call to raise it from: it
  goes to :func:`sys.unraisablehook`.

Imports point down: :mod:`pyo2._marshal` and :mod:`pyo2._abi` use this
module; it uses :mod:`pyo2._types` only.
"""

from __future__ import annotations

import _thread
import ctypes
import itertools
import operator
import sys
from array import array

from ._types import CallbackT, Scalar

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["argument", "converter", "forget", "forget_fast", "live_callbacks", "take_raised"]

#: ctx → the Python callable (the loader's one reference to it).
_TABLE: dict[int, Callable[..., Any]] = {}
#: Keys: odd ones for callables registered per call, even ones for the
#: scoped structs of the fast path, which keep theirs (few, so small: ctypes
#: hands the trampoline a cached small int for ``ctx``).
_KEYS = itertools.count(1, 2)
_STRUCT_KEYS = itertools.count(2, 2)
#: The trampoline (ctypes function object and its address) of each signature, forever.
_TRAMPOLINES: dict[CallbackT, tuple[Any, int]] = {}
_STASH = _thread._local()  # threading.local, without importing threading
#: :mod:`array` type code of a pointer.
_WORD = next(code for code in "QLI" if array(code).itemsize == ctypes.sizeof(ctypes.c_void_p))


class _View(ctypes.Structure):
    """``Pyo2StrView``: ``{const uint8_t *ptr; size_t len;}``."""

    _fields_ = [("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Scoped(ctypes.Structure):
    """``Pyo2FnMut``."""

    _fields_ = [("call", ctypes.c_void_p), ("ctx", ctypes.c_void_p)]


class _Stored(ctypes.Structure):
    """``Pyo2Callback``."""

    _fields_ = [("call", ctypes.c_void_p), ("ctx", ctypes.c_void_p), ("release", ctypes.c_void_p)]


def _release(ctx: int | None) -> None:
    callable_ = _TABLE.pop(ctx or 0, None)
    del callable_  # the callable's last reference may go here, on any thread


_RELEASE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(_release)
#: The ``release`` of the structs made from now on: ctypes' (:func:`_release`), or the
#: accelerator's once it gave a trampoline (the same, without a Python frame).
_RELEASE_ADDRESS = [ctypes.cast(_RELEASE, ctypes.c_void_p).value or 0]


def live_callbacks() -> int:
    """How many callables Rust may still call (scoped ones in flight, stored ones not released)."""
    return len(_TABLE)


def take_raised() -> BaseException | None:
    """The exception a callable raised on this thread since the last call, or None (clearing it)."""
    exc: BaseException | None = getattr(_STASH, "exc", None)
    if exc is not None:
        _STASH.exc = None
    return exc


def _in_python_call() -> bool:
    """Whether this thread is a Python thread (so it reached Rust through a call
    of the loader, which will raise the stashed exception), not a thread Rust
    started (a ``_DummyThread`` to :mod:`threading`, or none)."""
    import threading

    active = getattr(threading, "_active", None)
    # (A threading module without its registry: ask it, which may register a dummy.)
    thread = active.get(threading.get_ident()) if isinstance(active, dict) else threading.current_thread()
    dummy = getattr(threading, "_DummyThread", ())
    return thread is not None and not isinstance(thread, dummy)


class _HookArgs:
    """What :func:`sys.unraisablehook` reads (its own type can't be made from Python)."""

    def __init__(self, exc: BaseException, err_msg: str, obj: object) -> None:
        self.exc_type = type(exc)
        self.exc_value = exc
        self.exc_traceback = exc.__traceback__
        self.err_msg = err_msg
        self.object = obj


def _unraisable(exc: BaseException, callable_: object) -> None:
    """Report an exception that no call can raise, as Python reports one in ``__del__``."""
    message = "Exception ignored in a pyo2 callback called from a Rust thread"
    hook = sys.unraisablehook
    try:
        if hook is not sys.__unraisablehook__:
            hook(_HookArgs(exc, message, callable_))  # type: ignore[arg-type]
            return
    except BaseException:
        pass
    import traceback

    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        sys.stderr.write(f"{message}: {callable_!r}\n{text}")
    except BaseException:
        pass


_FLAG = ctypes.c_int32.from_address


def _report(exc: BaseException, ctx: int) -> None:
    """Stash ``exc`` for the call to raise, or report it on a thread inside no call."""
    if _in_python_call():
        if getattr(_STASH, "exc", None) is None:  # the first one is what the call raises
            _STASH.exc = exc
    else:
        _unraisable(exc, _TABLE.get(ctx))


def _raised(exc: BaseException, ctx: int, raised: int) -> None:
    """The ctypes trampoline's failure path: stash ``exc`` (or report it), set ``*raised``.
    (The compiled trampolines call :func:`_report` and set ``*raised`` themselves.)"""
    try:
        _report(exc, ctx)
    finally:
        _FLAG(raised).value = 1  # Rust unwinds, whatever happened here


def _converter(t: Scalar) -> Callable[[Any], Any]:
    """Checks a callable's result for a ``t`` return (``TypeError`` / ``OverflowError``)."""
    if t.kind == "bool":

        def to_bool(value: Any) -> int:
            if value is True or value is False:
                return int(value)
            number = operator.index(value)
            if number not in (0, 1):
                raise ValueError(f"a callback returning bool returned {value!r}")
            return number

        return to_bool
    if t.kind == "float":
        return float
    lo, hi = t.lo, t.hi

    def to_int(value: Any) -> int:
        if isinstance(value, bool):
            raise TypeError(f"a callback returning {t} returned a bool")
        number = operator.index(value)
        if not lo <= number <= hi:  # type: ignore[operator]
            raise OverflowError(f"a callback returning {t} returned {number}, out of {t.describe()}")
        return number

    return to_int


#: ``(c_char * n).from_address`` for short lengths ``n`` (ctypes caches each
#: array type forever anyway): reading ``.raw`` of one is faster than
#: :func:`ctypes.string_at`, a foreign call.
_CHARS: dict[int, Callable[[int], Any]] = {}
_VIEW = _View.from_address


def _text(address: int) -> str:
    """The ``str`` of a ``Pyo2StrView`` at ``address``."""
    view = _VIEW(address)
    n = view.len
    chars = _CHARS.get(n)
    if chars is None:
        if not n:
            return ""
        if n > 256:
            return ctypes.string_at(view.ptr, n).decode()
        chars = _CHARS[n] = (ctypes.c_char * n).from_address
    return chars(view.ptr).raw.decode()  # type: ignore[no-any-return]


#: The largest int CPython compares in its fast path (one 30-bit digit).
_COMPACT = 2**30 - 1


def _key(sig: CallbackT) -> str:
    """The accelerator's name of a signature: ``"i64,&str->bool"``, ``"->()"``."""
    args = ",".join(a.name if isinstance(a, Scalar) else "&str" for a in sig.args)
    return f"{args}->{'()' if sig.ret is None else sig.ret.name}"


def _compiled(accel: Any, sig: CallbackT) -> tuple[Any, int] | None:
    """The accelerator's compiled trampoline for ``sig`` (:data:`_TRAMPOLINES`' entry), or
    None: an accelerator without them, or a signature it doesn't offer (the ctypes one then).

    It calls the callable of ``ctx`` in :data:`_TABLE` and checks the result as the ctypes
    trampoline does (the same converters, :func:`_converter`), and hands an exception to
    :func:`_report`. Its ``release`` forgets ``ctx`` as :func:`_release` does: structs made
    with either release are interchangeable.
    """
    lookup = getattr(accel, "trampoline", None)
    if lookup is None:
        return None
    if not _INSTALLED:
        from ._types import SCALARS

        converters = {name: _converter(t) for name, t in SCALARS.items()}
        accel.install_callbacks(_TABLE, _report, converters)
        _INSTALLED.append(True)
    found: tuple[int, int] | None = lookup(_key(sig))
    if found is None:
        return None
    call, release = found
    _RELEASE_ADDRESS[0] = release  # no Python frame (ctypes') to release a stored callable
    return (None, call)


#: Not empty once the accelerator has :data:`_TABLE` and the hooks (:func:`_compiled`).
_INSTALLED: list[bool] = []


def _trampoline(sig: CallbackT) -> tuple[Any, int]:
    """The C function ``R call(void *ctx, A1 a1, …, int32_t *raised)`` for ``sig``.

    Its Python body is generated for the signature (one parameter per
    argument, no tuple slicing) and returns the result for ctypes to
    convert at C speed: an exact ``int`` in range, a ``float`` or a
    ``bool`` is returned as is, anything else goes through the checking
    converter first (ctypes would wrap an out-of-range ``int`` silently,
    and could only print a failed conversion). ``raised`` is written on
    failure only, so the hot path writes nothing through a pointer.
    """
    found = _TRAMPOLINES.get(sig)
    if found is not None:
        return found
    # Rust may now call Python from its own threads: the compiled
    # accelerator must release the GIL in every call, or a scalar call that
    # waits for such a thread would deadlock (see pyo2._accelerate).
    accel = sys.modules.get("pyo2._accel")
    if accel is not None:
        accel.release_gil_always()
        compiled = _compiled(accel, sig)
        if compiled is not None:
            found = _TRAMPOLINES[sig] = compiled
            return found
    ret = sig.ret
    restype: Any = None if ret is None else (ctypes.c_bool if ret.kind == "bool" else ret.ctype)
    texts = {i for i, a in enumerate(sig.args) if not isinstance(a, Scalar)}
    argtypes = [ctypes.c_void_p if i in texts else a.ctype for i, a in enumerate(sig.args)]  # type: ignore[union-attr]
    names = [f"a{i}" for i in range(len(sig.args))]
    values = [f"_text({a})" if i in texts else a for i, a in enumerate(names)]
    called = f"table[ctx]({', '.join(values)})"
    lines = [f"def call(ctx, {''.join(a + ', ' for a in names)}raised):", "    try:"]
    if ret is None:
        lines.append(f"        {called}")
    else:
        lines.append(f"        result = {called}")
        if ret.kind == "int":
            # Literal bounds of at most 30 bits: the interpreter compares two
            # one-digit ints in its specialised fast path (wider bounds cost a
            # generic comparison each); a wider value in range takes `convert`.
            low, high = max(ret.lo, -_COMPACT), min(ret.hi, _COMPACT)  # type: ignore[type-var]
            lines.append(f"        if type(result) is int and {low} <= result <= {high}:")
        elif ret.kind == "float":
            lines.append("        if type(result) is float:")
        else:  # bool: ctypes' c_bool takes exactly True and False as they are
            lines.append("        if result is True or result is False:")
        lines += ["            return result", "        return convert(result)"]
    lines += [
        "    except BaseException as exc:  # every exception goes to the caller",
        "        raised_(exc, ctx, raised)",
    ]
    if ret is not None:
        lines.append("    return zero")
    namespace: dict[str, Any] = {
        "table": _TABLE,
        "_text": _text,
        "raised_": _raised,
        "convert": None if ret is None else _converter(ret),
        "zero": None if ret is None else 0.0 if ret.kind == "float" else 0,
    }
    exec(compile("\n".join(lines), f"<pyo2 callback trampoline {sig}>", "exec"), namespace)
    function = ctypes.CFUNCTYPE(restype, ctypes.c_void_p, *argtypes, ctypes.c_void_p)(namespace["call"])
    address = ctypes.cast(function, ctypes.c_void_p).value
    assert address is not None
    found = _TRAMPOLINES[sig] = (function, address)
    return found


def argument(t: CallbackT, value: Any, marshal: Any, where: Any) -> int:
    """The C argument for a callback parameter: the address of its struct, kept
    alive by ``marshal`` (a :class:`pyo2._marshal.Marshal`), which also forgets
    a scoped callable when the call returns (a stored one, once Rust releases it)."""
    if not callable(value):
        where.fail(TypeError, "", f"got {type(value).__name__!r} object, expected a callable ({t})")
    _, address = _trampoline(t)
    ctx = next(_KEYS)
    _TABLE[ctx] = value
    c: ctypes.Structure = _Stored(address, ctx, _RELEASE_ADDRESS[0]) if t.stored else _Scoped(address, ctx)
    marshal.keep.append(c)
    marshal.callbacks.append((ctx, t.stored))
    return ctypes.addressof(c)


#: What :func:`converter`'s function gives for one callable: ``(address of
#: its struct, ctx, the struct's memory, stored, the free list it goes back
#: to)``.
Entry = tuple[int, int, "array[int]", bool, "list[Any]"]


def converter(t: CallbackT, retry: type[Exception]) -> Callable[[Any], Entry]:
    """For the generated fast path (:mod:`pyo2._codegen`): converts a callable
    to an :data:`Entry`, or raises ``retry`` for anything else (the general
    path explains); :func:`forget_fast` takes it back when the call returns.

    Structs are reused (Rust reads them during the call only, and copies a
    stored callback's fields): each signature keeps a free list of them. A
    scoped struct keeps its ``ctx`` too (valid during one call, so a key
    can't be called once the call returned), so a call writes only the
    table's entry; a stored callable gets a fresh ``ctx``, which lives
    until Rust releases it.
    """
    _, address = _trampoline(t)
    table = _TABLE
    keys = _KEYS
    if t.stored:
        release = _RELEASE_ADDRESS[0]
        structs: list[tuple[int, array[int]]] = []

        def convert_stored(value: Any) -> Entry:
            if not callable(value):
                raise retry
            ctx = next(keys)
            try:
                at, memory = structs.pop()
            except IndexError:
                memory = array(_WORD, (address, 0, release))
                at = memory.buffer_info()[0]
            memory[1] = ctx
            table[ctx] = value
            return (at, ctx, memory, True, structs)

        return convert_stored
    free: list[Entry] = []

    def convert(value: Any) -> Entry:
        if not callable(value):
            raise retry
        try:
            entry = free.pop()
        except IndexError:
            ctx = next(_STRUCT_KEYS)
            memory = array(_WORD, (address, ctx))
            entry = (memory.buffer_info()[0], ctx, memory, False, free)
        table[entry[1]] = value
        return entry

    return convert


def forget_fast(callbacks: tuple[Entry, ...], sent: bool) -> None:
    """:func:`forget` for the callbacks of the generated fast path (:func:`converter`),
    whose structs go back to their free lists (each entry exactly once)."""
    for entry in callbacks:
        at, ctx, memory, stored, free = entry
        if stored:
            if not sent:
                _TABLE.pop(ctx, None)
            free.append((at, memory))
        else:
            _TABLE.pop(ctx, None)
            free.append(entry)


def forget(callbacks: list[tuple[int, bool]], sent: bool) -> None:
    """Drop the table's entries of one call's callables: the scoped ones when
    the call returned (``sent``), all of them when Rust never received them."""
    for ctx, stored in callbacks:
        if not (stored and sent):
            _TABLE.pop(ctx, None)
    callbacks.clear()
