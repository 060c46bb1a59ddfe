"""Rust objects (``#[pyo2::class]``) and iterators (``pyo2::Iter<T>``) as Python objects.

The contract is ``pyo2::abi``'s sections "Objects" and "Iterators":

- :func:`load_class` reads a library's ``__pyo2_class__NAME`` descriptor and
  makes the class ``dll.types.NAME``: the constructor (``#[new]``), methods,
  getters (read-only properties) and static methods are the functions of
  :mod:`pyo2._function` for each method's own descriptor (``&self`` /
  ``&mut self`` is the object's ``u64`` handle), wrapped to pass the handle.
- An object holds its handle, never a pointer; Rust checks every handle, and
  the class checks first that ``self`` is one of its own instances (a class
  is per library, so another library's object or another class's is a
  ``TypeError`` before Rust is called). After ``close()`` the handle is
  gone: a method raises ``ValueError``.
- Every live object and iterator is in :data:`_LIVE` until it is closed:
  ``close()`` / ``with``, its ``__del__`` when collected, or :func:`_close_all`
  at exit take it out (atomically, under the GIL) and call Rust's close,
  so each is closed exactly once. Rust defers the drop itself while a call
  on the object runs on another thread.

Imports point down: :mod:`pyo2._abi` (iterators) and :mod:`pyo2._records`
(``dll.types``) use this module, lazily; it uses :mod:`pyo2._function`,
:mod:`pyo2._abi`, :mod:`pyo2._errors` and :mod:`pyo2._types`.
"""

from __future__ import annotations

import atexit
import ctypes
import itertools

from . import _abi
from ._errors import Pyo2Error
from ._runtime import FREE_SLOTS, new_slot
from ._types import IterT, Ret, Scalar

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = [
    "CLASS_PREFIX",
    "CLOSE_PREFIX",
    "METHOD_PREFIX",
    "RustIterator",
    "RustObject",
    "iterator",
    "load_class",
]

#: Prefixes of the symbols of classes (descriptor, methods, close): never library functions.
CLASS_PREFIX = "__pyo2_class__"
METHOD_PREFIX = "__pyo2_m__"
CLOSE_PREFIX = "__pyo2_close__"

#: ``int32_t f(uint64_t handle, Pyo2Slot *slot)``: an object's close, an iterator's next and close.
# (The handle, a uint64_t, passed as a pointer-sized c_void_p: the same
# register, and ctypes converts an int to it faster; see pyo2._runtime.)
_HANDLE_FN = ctypes.CFUNCTYPE(
    ctypes.c_int32,
    ctypes.c_void_p if ctypes.sizeof(ctypes.c_void_p) == 8 else ctypes.c_uint64,
    ctypes.c_void_p,
)
_HANDLE_FNS: dict[int, Any] = {}

#: key → (close function, handle, label) of every object and iterator not closed yet.
_LIVE: dict[int, tuple[Any, int, str]] = {}
_KEYS = itertools.count(1)
_NO_RESULT = Ret(None)
_POP, _PUSH, _NEW_SLOT = FREE_SLOTS.pop, FREE_SLOTS.append, new_slot


def _handle_fn(address: int) -> Any:
    function = _HANDLE_FNS.get(address)
    if function is None:
        function = _HANDLE_FNS[address] = _HANDLE_FN(address)
    return function


def _close(key: int | None) -> None:
    """Close the object or iterator registered under ``key``, if nobody did yet."""
    live = _LIVE
    if not live or key is None:  # nothing to close (late at shutdown: nothing left)
        return
    entry = live.pop(key, None)
    if entry is not None:
        close, handle, label = entry
        slot = _abi.CSlot()
        status = close(handle, ctypes.addressof(slot))
        _abi.outcome(label, status, _NO_RESULT, slot)


@atexit.register
def _close_all() -> None:
    """At exit, close every object and iterator still alive, so each Rust value is dropped once."""
    while _LIVE:
        try:
            key = next(iter(_LIVE))
            _close(key)
        except (StopIteration, RuntimeError):  # another thread changed _LIVE
            continue
        except Exception as e:
            import sys

            print(f"pyo2: closing an object at exit: {type(e).__name__}: {e}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Objects.


class RustObject:
    """The base of every class made from a ``#[pyo2::class]`` (``dll.types.NAME``).

    An instance owns one Rust value, dropped exactly once: by :meth:`close`
    (or leaving a ``with`` block), when the instance is collected, or at
    interpreter exit. Use after ``close()`` raises ``ValueError``.
    """

    __slots__ = ("__weakref__", "_pyo2_h", "_pyo2_k")
    _pyo2_h: int | None
    _pyo2_k: int | None
    #: Set on each class: its name and its library's close function.
    _pyo2_name: str = ""
    _pyo2_close_fn: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{type(self).__name__} has no #[new] constructor: it can't be created from Python")

    def _pyo2_adopt(self, handle: int) -> None:
        if getattr(self, "_pyo2_k", None) is not None:
            _close(self._pyo2_k)
            raise TypeError(f"{type(self).__name__}.__init__() called twice; the first value was dropped")
        key = next(_KEYS)
        _LIVE[key] = (self._pyo2_close_fn, handle, f"{self._pyo2_name}.close")
        self._pyo2_h = handle
        self._pyo2_k = key

    def close(self) -> None:
        """Drop the Rust value now (at once, or when a call running on it returns).

        A second close does nothing."""
        self._pyo2_h = None
        _close(getattr(self, "_pyo2_k", None))

    def __enter__(self) -> Any:
        if getattr(self, "_pyo2_h", None) is None:
            raise ValueError(f"{self._pyo2_name}: the object was closed")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        _close(getattr(self, "_pyo2_k", None))

    def __repr__(self) -> str:
        handle = getattr(self, "_pyo2_h", None)
        state = "closed" if handle is None else f"handle={handle:#x}"
        return f"<{type(self).__qualname__} ({state})>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"a {self._pyo2_name} owns a Rust value: it can't be copied or pickled")


def _handle(cls: type, self: Any, what: str) -> int:
    """``self``'s handle, if ``self`` is an open instance of ``cls`` (of this library)."""
    if not issubclass(type(self), cls):
        raise TypeError(
            f"{what}: self must be a {cls.__qualname__} of {cls.__module__}, got {type(self).__qualname__}"
        )
    handle: int | None = self._pyo2_h
    if handle is None:
        raise ValueError(f"{what}: the object was closed")
    return handle


def _method(dll: Any, cls: Any, name: str, fn: Any, address: int, *, symbol: str) -> Callable[..., Any]:
    what = f"{cls.__name__}.{name}()"
    from ._accelerate import accelerate
    from ._codegen import _usable, generate
    from ._runtime import State

    sig = fn.signature
    names = [n for n, _ in sig.params]
    if _usable(names):
        # The Rust function's own generated function (its fast paths), with
        # `self` turned into the handle first: one Python call per method call.
        label = f"{cls.__name__}.{name}"
        state = State(label, address, sig)
        helpers = {"_pyo2_cls": cls, "_pyo2_handle": _handle, "_pyo2_what": what}
        generated: Callable[..., Any] = generate(state, sig, method=helpers)
        generated.__module__ = fn.__module__
        # The compiled accelerator, when built and the library has the
        # method's uniform entry: it passes the handle of an open instance of
        # exactly `cls` itself, and hands anything else to `generated`.
        fast = accelerate(dll, sig, generated, names, address=address, method=(cls, symbol, label))
        return generated if fast is None else fast

    def method(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        if type(self) is not cls:
            return fn(_handle(cls, self, what), *args, **kwargs)
        handle = self._pyo2_h
        if handle is None:
            raise ValueError(f"{what}: the object was closed")
        return fn(handle, *args, **kwargs)

    return method


def _getter(dll: Any, cls: type, name: str, fn: Any, address: int, *, symbol: str) -> property:
    what = f"{cls.__name__}.{name}"

    def get(self: Any) -> Any:
        return fn(_handle(cls, self, what))

    get.__name__ = name
    get.__qualname__ = what
    get.__module__ = fn.__module__
    get.__doc__ = fn.__doc__
    get.__dict__["rust_function"] = fn  # as methods have it (stubgen reads the signature)
    sig = getattr(fn, "signature", None)
    if sig is not None:  # the compiled accelerator, as for methods (see _method)
        from ._accelerate import accelerate

        fast = accelerate(dll, sig, get, None, address=address, method=(cls, symbol, what))
        if fast is not None:
            return property(fast)
    return property(get)


def _constructor(fn: Any) -> Callable[..., None]:
    def __init__(self: Any, /, *args: Any, **kwargs: Any) -> None:
        self._pyo2_adopt(fn(*args, **kwargs))

    return __init__


def _as_method(function: Any, fn: Any, name: str, qualname: str, constructor: bool = False) -> None:
    """Give ``function`` the name, doc and signature of the Rust method ``fn``."""
    import inspect

    function.__name__ = name
    function.__qualname__ = qualname
    function.__doc__ = fn.__doc__
    sig = fn.__signature__
    params = list(sig.parameters.values())
    if not constructor and params and params[0].name == "self":
        params = params[1:]
    me = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    ret = None if constructor else sig.return_annotation
    function.__signature__ = sig.replace(parameters=[me, *params], return_annotation=ret)
    function.__dict__["rust_function"] = fn


def _describe(cdll: Any, path: str, name: str) -> str | None:
    try:
        pointer = cdll[CLASS_PREFIX + name]
    except AttributeError:
        return None
    address = ctypes.cast(pointer, ctypes.c_void_p).value
    text_address = ctypes.CFUNCTYPE(ctypes.c_void_p)(address or 0)()
    if not text_address:
        raise Pyo2Error(f"{path!r}: the class descriptor of {name!r} is empty")
    return ctypes.string_at(text_address).decode("utf-8", "replace")


def load_class(dll: Any, cdll: Any, path: str, name: str) -> type | None:
    """The class ``name`` of the library (``dll``, a :class:`pyo2.RustDLL`, loaded as
    ``cdll`` from ``path``), made once per library; None if it exports no such class."""
    cache: dict[str, type] = vars(cdll).setdefault("_pyo2_classes", {})
    known = cache.get(name)
    if known is not None:
        return known
    if not name.isidentifier() or len(name) > 200:
        return None
    text = _describe(cdll, path, name)
    if text is None:
        return None
    from ._function import make_function

    head, _, doc = text.partition("\n\n")
    lines = head.split("\n")
    if len(lines) < 2 or lines[0] != "pyo2-class 2" or lines[1] != f"class {name}":
        raise Pyo2Error(
            f"{path!r}: {CLASS_PREFIX}{name} is not a class descriptor this pyo2 package reads "
            f"(it starts {lines[0]!r}); use matching versions of the crate and the package"
        )
    namespace: dict[str, Any] = {"__slots__": (), "__doc__": doc or None, "_pyo2_name": name}
    cls: Any = type(name, (RustObject,), namespace)
    cls.__module__ = make_function.__module__  # replaced below by the library's module name
    close_symbol = None
    for line in lines[2:]:
        parts = line.split(" ")
        if parts[0] == "close" and len(parts) == 2:
            close_symbol = parts[1]
            continue
        if len(parts) != 3 or parts[0] not in ("new", "method", "getter", "static"):
            raise Pyo2Error(
                f"{path!r}: the class descriptor of {name!r} has a line pyo2 can't read: {line!r}"
            )
        kind, pyname, symbol = parts
        if not pyname.isidentifier() or not symbol.isidentifier():
            raise Pyo2Error(f"{path!r}: the class descriptor of {name!r} names {pyname!r} / {symbol!r}")
        address = ctypes.cast(cdll[symbol], ctypes.c_void_p).value
        assert address is not None
        sig = _abi.descriptor(cdll, path, symbol, described=pyname)
        if sig is None:
            raise Pyo2Error(f"{path!r}: {name}.{pyname} ({symbol}) has no descriptor")
        fn = make_function(dll, f"{name}.{pyname}", address, sig)  # messages name the class
        fn.__name__ = pyname
        fn.__qualname__ = f"{name}.{pyname}"
        if kind in ("new", "static"):  # the compiled accelerator, through the symbol's entry
            from ._accelerate import accelerate

            names = [n for n, _ in sig.params]
            unique = names if len(set(names)) == len(names) else None
            label = f"{name}.{pyname}"
            fast = accelerate(dll, sig, fn, unique, address=address, method=(None, symbol, label))
            fn = fn if fast is None else fast
        cls.__module__ = fn.__module__
        qualname = f"{name}.{pyname}"
        if kind == "new":
            init = _constructor(fn)
            _as_method(init, fn, "__init__", f"{name}.__init__", constructor=True)
            cls.__init__ = init
        elif kind == "method":
            method = _method(dll, cls, pyname, fn, address, symbol=symbol)
            pure = getattr(method, "__wrapped__", None)  # the accelerated method's fallback
            for m in (method,) if pure is None else (pure, method):
                _as_method(m, fn, pyname, qualname)
            setattr(cls, pyname, method)
        elif kind == "getter":
            setattr(cls, pyname, _getter(dll, cls, pyname, fn, address, symbol=symbol))
        else:
            setattr(cls, pyname, staticmethod(fn))
    if close_symbol is None:
        raise Pyo2Error(f"{path!r}: the class descriptor of {name!r} has no close entry")
    close_address = ctypes.cast(cdll[close_symbol], ctypes.c_void_p).value
    assert close_address is not None
    cls._pyo2_close_fn = _handle_fn(close_address)
    made: type = cls
    cache[name] = made
    return made


def class_names(names: list[str]) -> list[str]:
    """The class names among a library's symbol names."""
    return sorted(n[len(CLASS_PREFIX) :] for n in names if n.startswith(CLASS_PREFIX))


# ---------------------------------------------------------------------------
# Iterators.


class RustIterator:
    """A Python iterator over a Rust iterator (``pyo2::Iter<T>``).

    Ends with ``StopIteration``; Rust's iterator is freed once it is
    exhausted and its handle when this object is collected, closed (``close()``)
    or at exit. After ``close()`` it is exhausted.
    """

    __slots__ = (
        "__weakref__",
        "_pyo2_field",
        "_pyo2_function",
        "_pyo2_h",
        "_pyo2_k",
        "_pyo2_next",
        "_pyo2_ret",
    )

    def __init__(self, function: str, item: Ret, handle: int, next_fn: Any, close_fn: Any) -> None:
        self._pyo2_function = function
        self._pyo2_ret = item
        self._pyo2_next = next_fn
        #: For a scalar item: the slot's field to read it from (no conversion to run).
        value = item.value
        self._pyo2_field = getattr(_abi.CSlot, value.name) if isinstance(value, Scalar) else None
        key = next(_KEYS)
        _LIVE[key] = (close_fn, handle, f"{function}(): closing its iterator")
        self._pyo2_h: int | None = handle
        self._pyo2_k = key

    def __iter__(self) -> RustIterator:
        return self

    def __next__(self) -> Any:
        handle = self._pyo2_h
        if handle is None:
            raise StopIteration
        # A result slot of the free list (each call in flight has its own:
        # two threads may call next on one iterator; Rust serialises them).
        try:
            slot = _POP()
        except IndexError:
            slot = _NEW_SLOT()
        status = self._pyo2_next(handle, slot[1])
        try:
            if status == 0:  # OK
                field = self._pyo2_field
                if field is not None:
                    return field.__get__(slot[0])
            elif status == _abi.NONE:
                raise StopIteration
            return _abi.outcome(self._pyo2_function, status, self._pyo2_ret, slot[0])
        finally:
            _PUSH(slot)

    def close(self) -> None:
        """Free Rust's iterator now; the iterator is then exhausted."""
        self._pyo2_h = None
        _close(self._pyo2_k)

    def __del__(self) -> None:
        _close(getattr(self, "_pyo2_k", None))

    def __repr__(self) -> str:
        state = "closed" if self._pyo2_h is None else f"handle={self._pyo2_h:#x}"
        return f"<pyo2 iterator of {self._pyo2_function}() ({state})>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("a Rust iterator can't be copied or pickled")


def iterator(function: str, t: IterT, slot: Any) -> RustIterator:
    """The Python iterator for the ``Pyo2Iter {handle, next, close}`` in ``slot``."""
    handle, next_address, close_address = slot.words[0], slot.words[1], slot.words[2]
    if not next_address or not close_address:
        raise Pyo2Error(f"{function}(): Rust returned an iterator without its functions")
    return RustIterator(
        function, Ret(t.item, optional=True), handle, _handle_fn(next_address), _handle_fn(close_address)
    )
