"""Loading a Rust ``cdylib`` and calling its functions."""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from typing import TYPE_CHECKING

from . import _abi
from ._errors import SignatureError
from ._function import make_function
from ._signature import parse_descriptor, parse_signature
from ._symbols import exported_functions
from ._types import Ret, Scalar, Signature

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._protocol import RustFunction

__all__ = ["RustDLL"]


def _file_names(name: str) -> list[str]:
    """The file names of the cdylib of crate or lib ``name``, this platform's first.

    Then the names setuptools-rust gives it inside a package (the extension
    module suffixes: ``name.cpython-311-x86_64-linux-gnu.so``, ...).
    """
    import importlib.machinery

    lib = name.replace("-", "_")
    names = [f"lib{lib}.so", f"lib{lib}.dylib", f"{lib}.dll"]
    if sys.platform == "darwin":
        names.insert(0, names.pop(1))
    elif sys.platform == "win32":
        names.insert(0, names.pop(2))
    return names + [lib + suffix for suffix in importlib.machinery.EXTENSION_SUFFIXES]


def _search_dirs(package: str | None, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    dirs = [os.fspath(p) for p in paths]
    if package is not None:
        import importlib.util

        spec = importlib.util.find_spec(package)
        if spec is None:
            raise ModuleNotFoundError(f"RustDLL.find(): no installed package {package!r}", name=package)
        dirs += list(spec.submodule_search_locations or [])
        if spec.origin and not spec.submodule_search_locations:
            dirs.append(os.path.dirname(spec.origin))
    target = os.environ.get("CARGO_TARGET_DIR")
    roots = [target] if target else [os.path.join(d, "target") for d in _parents(os.getcwd())]
    for root in roots:
        dirs += [os.path.join(root, "release"), os.path.join(root, "debug")]
    return dirs


def _parents(directory: str) -> list[str]:
    out = [directory]
    while os.path.dirname(out[-1]) != out[-1]:
        out.append(os.path.dirname(out[-1]))
    return out


def _ret_shape(ret: Scalar | Ret | None) -> object:
    """A return type without the spelling of a Result's error type."""
    return (ret.value, ret.optional, ret.error is None) if isinstance(ret, Ret) else ret


class RustDLL:
    """A Rust ``cdylib``, loaded with :class:`ctypes.CDLL`.

    Its functions are attributes (``dll.test``) or items (``dll["test"]``)::

        >>> dll = RustDLL.find("pyo2-fixture")      # or RustDLL("path/to/libpyo2_fixture.so")
        >>> lst = [1, 2, 3]
        >>> dll.double_i64(lst)
        >>> lst
        [2, 4, 6]

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

    @classmethod
    def find(
        cls,
        name: str,
        *,
        package: str | None = None,
        paths: Iterable[str | os.PathLike[str]] = (),
    ) -> RustDLL:
        """Find a Rust library by its crate or lib name and load it.

        ``name`` is the crate name (``my-lib``) or the lib name (``my_lib``).
        The file is ``libmy_lib.so`` on Linux, ``libmy_lib.dylib`` on macOS
        and ``my_lib.dll`` on Windows (the other platforms' names are tried
        too, then the extension-module names setuptools-rust gives a library
        it builds into a package, ``my_lib.cpython-311-x86_64-linux-gnu.so``).
        It is looked for, in order, in:

        1. each directory of ``paths``;
        2. the installed package ``package`` (a wheel that ships the
           library beside its Python code, e.g. built with setuptools-rust);
        3. ``target/release`` and then ``target/debug``, under
           ``$CARGO_TARGET_DIR`` if it is set, else under the current
           directory and each of its parents (so a script inside a cargo
           workspace finds the workspace's build).

        Raises ``OSError`` (``ENOENT``) listing every file tried.

            >>> RustDLL.find("pyo2-fixture")                         # doctest: +ELLIPSIS
            <RustDLL '.../target/release/libpyo2_fixture.so'>

        .. versionadded:: 0.2
        """
        tried: list[str] = []
        for directory in _search_dirs(package, paths):
            for file in _file_names(name):
                candidate = os.path.join(directory, file)
                tried.append(candidate)
                if os.path.isfile(candidate):
                    return cls(candidate)
        listing = "\n  ".join(tried) or "(nowhere to look)"
        raise OSError(errno.ENOENT, f"pyo2: found no Rust library {name!r}; tried:\n  {listing}", name)

    def __getattr__(self, name: str) -> RustFunction:
        if name.startswith("__") or name in ("path", "_cdll", "_functions"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> RustFunction:
        function = self._functions.get(name)
        if function is None:
            address = self._address(name)
            sig = _abi.descriptor(self._cdll, self.path, name)
            function = self._functions[name] = make_function(self, name, address, sig)
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
            import difflib  # only for this message: not worth its import time up front

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
        if [t for _, t in mine.params] == [t for _, t in exported.params] and _ret_shape(
            mine.ret
        ) == _ret_shape(exported.ret):
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

        >>> scale = dll.declare("fn scale(v: &mut PyVec<f64>, k: f64) -> f64")
        >>> scale([1.0, 2.0], k=3.0)
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
        address = self._address(sig.name)
        function: RustFunction = make_function(self, sig.name, address, sig)
        self._functions[sig.name] = function
        return function
