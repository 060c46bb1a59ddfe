"""Loading a Rust ``cdylib`` and calling its functions."""

from __future__ import annotations

import ctypes
import difflib
import errno
import os
from typing import Any

from . import _abi
from ._convert import Where
from ._errors import RustError, SignatureError
from ._marshal import Marshal, infer
from ._signature import parse_descriptor, parse_signature
from ._symbols import exported_functions
from ._types import COwnedBuf, Ret, Scalar, Signature

__all__ = ["RustDLL", "RustFunction"]

# One ctypes prototype per distinct C signature, shared by every library.
_PROTOTYPES: dict[tuple[Any, ...], Any] = {}


def _prototype(sig: Signature) -> Any:
    """The ctypes prototype of ``sig``'s C signature (pointers for every PyVec).

    An exported function returns a status and takes two more pointers, to
    its result slot and to its error message (see :mod:`pyo2._abi`).
    """
    params = tuple(t.ctype if isinstance(t, Scalar) else ctypes.c_void_p for _, t in sig.params)
    key: tuple[Any, ...]
    if isinstance(sig.ret, Ret):
        key = (ctypes.c_int32, *params, ctypes.c_void_p, ctypes.c_void_p)
    else:
        key = (None if sig.ret is None else sig.ret.ctype, *params)
    proto = _PROTOTYPES.get(key)
    if proto is None:
        # CFUNCTYPE calls release the GIL while Rust runs.
        proto = _PROTOTYPES[key] = ctypes.CFUNCTYPE(*key)
    return proto


def _shape(ret: Scalar | Ret | None) -> object:
    """A return type without the spelling of a Result's error type."""
    return (ret.value, ret.optional, ret.error is None) if isinstance(ret, Ret) else ret


class RustFunction:
    """A function of a :class:`RustDLL`; call it like a Python function.

    Its signature comes from the first source that has one:

    1. the library, for a function exported with ``#[pyo2::export]``: calls
       are checked against the real Rust types, take keyword arguments, return
       owned values (``String`` → ``str``, ``Vec<T>`` → ``list``, ``None``),
       and raise :class:`pyo2.RustError` / :class:`pyo2.RustPanic`;
    2. :meth:`RustDLL.declare`: calls are checked against the declaration,
       take keyword arguments, and return the declared type;
    3. otherwise each call infers one from the values passed (``int`` →
       ``i64``, ``float`` → ``f64``, ``str``/``bytes`` → ``&PyStr``, ``list``
       → ``&mut PyVec<T>``) and returns ``None``.

    .. versionadded:: 0.2
    """

    __slots__ = ("_address", "_declared", "_inferred", "dll", "name", "signature")

    def __init__(self, dll: RustDLL, name: str, address: int, signature: Signature | None) -> None:
        #: The library the function lives in.
        self.dll = dll
        #: The symbol name.
        self.name = name
        #: The signature (exported or declared), or ``None`` when each call infers one.
        self.signature = signature
        self._address = address
        #: The C function for the declared signature, and for each inferred one seen.
        self._declared = None if signature is None else _prototype(signature)(address)
        self._inferred: dict[Signature, Any] = {}

    def __repr__(self) -> str:
        what = str(self.signature) if self.signature else f"fn {self.name}(...) (inferred per call)"
        return f"<pyo2 function {what} in {self.dll.path!r}>"

    @property
    def doc(self) -> str:
        """The doc comment of a function exported with ``#[pyo2::export]`` ("" otherwise)."""
        return self.signature.doc if self.signature else ""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        sig = self.signature
        if sig is None:
            if kwargs:
                raise TypeError(
                    f"{self.name}(): got keyword arguments {sorted(kwargs)}, but the function "
                    "has no declared signature and so no parameter names (use dll.declare)"
                )
            params = tuple(
                (f"#{i}", infer(value, Where(self.name, f"#{i}", "inferred")))
                for i, value in enumerate(args, 1)
            )
            sig = Signature(self.name, params)
            function = self._inferred.get(sig)
            if function is None:
                function = self._inferred[sig] = _prototype(sig)(self._address)
            return self._call(function, sig, args, trusted=False)
        if kwargs or len(args) != len(sig.params):
            args = self._bind(sig, args, kwargs)
        return self._call(self._declared, sig, args, trusted=True)

    def _bind(self, sig: Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        names = [name for name, _ in sig.params]
        if len(args) > len(names):
            raise TypeError(
                f"{self.name}() takes {len(names)} argument{'s' * (len(names) != 1)} "
                f"but {len(args)} were given ({sig})"
            )
        bound = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{self.name}() got an unexpected keyword argument {key!r} ({sig})")
            if key in bound:
                raise TypeError(f"{self.name}() got multiple values for argument {key!r} ({sig})")
            bound[key] = value
        missing = [name for name in names if name not in bound]
        if missing:
            raise TypeError(f"{self.name}() missing argument{'s' * (len(missing) > 1)} {missing} ({sig})")
        return tuple(bound[name] for name in names)

    def _call(self, function: Any, sig: Signature, args: tuple[Any, ...], trusted: bool) -> Any:
        marshal = Marshal(self.name, trusted)
        c_args = [marshal.param(t, value, pname) for (pname, t), value in zip(sig.params, args)]
        ret = sig.ret
        if isinstance(ret, Ret):
            return self._call_exported(function, ret, marshal, c_args)
        if not marshal.nodes:  # scalars only: nothing to lay out or write back
            return function(*c_args)
        try:
            marshal.layout()
            result = function(*marshal.c_args(c_args))
            marshal.write_back()
        finally:
            marshal.release()
        return result

    def _call_exported(self, function: Any, ret: Ret, marshal: Marshal, c_args: list[Any]) -> Any:
        out = ret.out_ctype()
        err = COwnedBuf()
        slots = (ctypes.addressof(out), ctypes.addressof(err))
        if not marshal.nodes:
            return _abi.outcome(self.name, function(*c_args, *slots), ret, out, err)
        try:
            marshal.layout()
            status = function(*marshal.c_args(c_args), *slots)
            try:
                result = _abi.outcome(self.name, status, ret, out, err)
            except (RustError, ValueError):
                # Err(e) is a normal return: Rust's writes stand. (A bad
                # argument was refused before the function ran.)
                marshal.write_back()
                raise
            # On a panic (raised above) nothing is written back: the lists
            # stay as they were, rather than half updated.
            marshal.write_back()
        finally:
            marshal.release()
        return result


class RustDLL:
    """A Rust ``cdylib``, loaded with :class:`ctypes.CDLL`.

    Its functions are attributes (``dll.test``) or items (``dll["test"]``)::

        >>> dll = RustDLL("./libmylib.so")          # doctest: +SKIP
        >>> lst = [1, 2, 3, 4, 5]
        >>> dll.test("World", lst)                  # doctest: +SKIP
        >>> lst                                     # doctest: +SKIP
        [6, 2, 3, 4, 5]

    Raises ``OSError`` (with the path tried as ``filename``) when the file is
    missing or is not a loadable library.

    .. versionadded:: 0.2
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = os.fspath(path)
        if not isinstance(path, str):
            raise TypeError(f"RustDLL() takes a str or os.PathLike path, got {type(path).__name__}")
        #: The path the library was loaded from, as given.
        self.path: str = path
        try:
            self._cdll = ctypes.CDLL(path)
        except OSError as e:
            has_dir = os.sep in path or (os.altsep is not None and os.altsep in path)
            missing = has_dir and not os.path.exists(path)
            code = errno.ENOENT if missing else errno.ENOEXEC
            what = "no such file" if missing else f"not a loadable library ({e})"
            raise OSError(code, f"pyo2: can't load the Rust library: {what}", path) from None
        self._functions: dict[str, RustFunction] = {}

    def __repr__(self) -> str:
        return f"<RustDLL {self.path!r}>"

    def __getattr__(self, name: str) -> RustFunction:
        if name.startswith("__") or name in ("path", "_cdll", "_functions"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> RustFunction:
        function = self._functions.get(name)
        if function is None:
            address = self._address(name)
            sig = _abi.descriptor(self._cdll, self.path, name)
            function = self._functions[name] = RustFunction(self, name, address, sig)
        return function

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._names()))

    def _names(self) -> list[str]:
        """The library's exported functions, without pyo2's descriptor symbols."""
        return [n for n in exported_functions(self.path) if not n.startswith(_abi.SIG_PREFIX)]

    def _address(self, name: str) -> int:
        try:
            if name.startswith(_abi.SIG_PREFIX):
                raise AttributeError(name)
            pointer = self._cdll[name]
        except AttributeError:
            close = difflib.get_close_matches(name, self._names(), n=5, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise AttributeError(
                f"{self.path!r} exports no function {name!r}{hint} "
                '(is it #[no_mangle] pub extern "C" and in a cdylib?)'
            ) from None
        address = ctypes.cast(pointer, ctypes.c_void_p).value
        assert address is not None
        return address

    def _check_matches(self, declaration: str, mine: Signature, exported: Signature) -> None:
        if [t for _, t in mine.params] == [t for _, t in exported.params] and _shape(mine.ret) == _shape(
            exported.ret
        ):
            return
        raise SignatureError(
            f"{mine.name} is exported with #[pyo2::export] as `{exported}`; "
            "a declaration must match it (or leave the function undeclared)",
            declaration,
            1,
            declaration,
        )

    def declare(self, declaration: str) -> RustFunction:
        """Give a function its exact signature, written in Rust syntax.

        >>> dll.declare("fn scale(v: &mut PyVec<f64>, k: f64) -> f64")   # doctest: +SKIP
        >>> dll.scale([1.0, 2.0], k=3.0)                                  # doctest: +SKIP
        9.0

        Later calls check every argument against it (exact widths, ranges,
        mutability), take keyword arguments, and return the declared type.
        Raises :class:`pyo2.SignatureError` when the text does not parse and
        ``AttributeError`` when the library has no such function.

        A function exported with ``#[pyo2::export]`` already has its
        signature; declaring it is allowed only with the same parameter and
        return types (a ``SignatureError`` says what the library has).

        .. versionadded:: 0.2
        """
        try:  # the grammar of exported functions is a superset of declarations
            loose: Signature | None = parse_descriptor(declaration)
        except SignatureError:
            loose = None
        if loose is not None:
            try:
                existing: RustFunction | None = self[loose.name]
            except AttributeError:
                existing = None  # reported below, after any syntax error
            exported = existing.signature if existing is not None else None
            if existing is not None and exported is not None and exported.exported:
                self._check_matches(declaration, loose, exported)
                return existing
        sig = parse_signature(declaration)
        current = self[sig.name]
        function = RustFunction(self, sig.name, current._address, sig)
        self._functions[sig.name] = function
        return function
