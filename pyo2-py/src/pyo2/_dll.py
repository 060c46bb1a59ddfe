"""Loading a Rust ``cdylib`` and calling its functions.

The attributes of a :class:`RustDLL` belong to the library: ``dll.NAME`` is
the library's function ``NAME``, whatever the name (``find``, ``declare``,
``path``, ``_cdll``...). pyo2 keeps its own state in the instance
``__dict__`` under a key that no attribute name can spell (``" pyo2"``) and
its helpers here as module functions; the few public names of the class are
non-data descriptors that give way to a library function of the same name
(see :class:`_LibraryFirst`). Only functions the library itself defines are
reachable: ``dlsym()`` also finds its dependencies' symbols (libc's
``abort``...), so every address is checked to lie inside the library
(:class:`_Library`).
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from typing import TYPE_CHECKING, Any

from . import _abi
from ._errors import Pyo2Error, SignatureError
from ._function import make_function
from ._signature import parse_descriptor, parse_signature
from ._symbols import exported_functions
from ._types import Ret, Scalar, Signature

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._protocol import RustFunction

__all__ = ["RustDLL", "declare", "function_names", "library_path"]


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


# ---------------------------------------------------------------------------
# Only the library's own symbols: dlsym() also searches its dependencies.


class _DlInfo(ctypes.Structure):
    """``Dl_info``, filled by ``dladdr()`` (the same on glibc, musl, macOS and the BSDs)."""

    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


_RTLD_DI_LINKMAP = 2  # dlinfo() request, the same on glibc, musl and the BSDs
_DL: list[tuple[Any, Any]] = []  # [(dladdr, dlinfo)] once looked up; either may be None


def _dl() -> tuple[Any, Any]:
    """libc's ``dladdr`` and ``dlinfo`` through ctypes (``None`` where missing), looked up once."""
    if not _DL:
        dladdr = dlinfo = None
        for name in (None, "libdl.so.2"):  # glibc before 2.34 has them in libdl
            try:
                lib = ctypes.CDLL(name)
                dladdr = lib.dladdr
            except (OSError, AttributeError):
                continue
            dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
            dladdr.restype = ctypes.c_int
            dlinfo = getattr(lib, "dlinfo", None)
            if dlinfo is not None:
                dlinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
                dlinfo.restype = ctypes.c_int
            break
        _DL.append((dladdr, dlinfo))
    return _DL[0]


def _where(address: int) -> _DlInfo | None:
    """What ``dladdr()`` says about ``address``: the file and base of the object holding it."""
    dladdr = _dl()[0]
    info = _DlInfo()
    if dladdr is None or not dladdr(address, ctypes.byref(info)):
        return None
    return info


def _library_base(handle: int) -> int | None:
    """The base address (``dli_fbase``) of the library behind a ``dlopen()`` handle.

    From its link map (``dlinfo(RTLD_DI_LINKMAP)``: glibc, musl, the BSDs):
    ``struct link_map { l_addr; char *l_name; l_ld; ... }``, where ``l_ld``,
    the library's dynamic section, lies inside its mapping. ``None`` when
    that is not available (macOS) or does not add up.
    """
    dlinfo = _dl()[1]
    if dlinfo is None or not handle:
        return None
    link_map = ctypes.c_void_p()
    if dlinfo(handle, _RTLD_DI_LINKMAP, ctypes.byref(link_map)) != 0 or not link_map.value:
        return None
    word = ctypes.sizeof(ctypes.c_void_p)
    l_name = ctypes.c_char_p.from_address(link_map.value + word).value
    l_ld = ctypes.c_void_p.from_address(link_map.value + 2 * word).value
    info = _where(l_ld) if l_ld else None
    if info is None or info.dli_fname != l_name:  # not the layout we expect: don't guess
        return None
    base: int | None = info.dli_fbase
    return base


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def _ownership(handle: int, path: str) -> Callable[[int], str | None]:
    """A check of symbol addresses: ``None`` for one inside the library at
    ``path`` (loaded as ``handle``), else the file that holds it.

    By the base address ``dladdr()`` reports, compared with the library's own
    (:func:`_library_base`); where that is unknown (macOS), by the identity
    (device and inode) of the file ``dladdr()`` names. On Windows
    ``GetProcAddress`` searches only the module itself: nothing to check.
    """
    if sys.platform == "win32" or _dl()[0] is None:
        return _inside
    base = _library_base(handle)
    if base is not None:

        def by_base(address: int) -> str | None:
            info = _where(address)
            if info is not None and info.dli_fbase == base:
                return None
            return _file_name(info)

        return by_base
    identity = _file_identity(path)
    if identity is None:
        return _inside  # loaded by a bare name from the loader's search path: can't tell
    cwd = os.getcwd()  # a relative path in dladdr()'s answer is relative to where it was loaded

    def by_file(address: int) -> str | None:
        info = _where(address)
        named = os.fsdecode(info.dli_fname) if info is not None and info.dli_fname else None
        if named is not None and _file_identity(os.path.join(cwd, named)) == identity:
            return None
        return _file_name(info)

    return by_file


def _inside(address: int) -> str | None:
    return None


def _file_name(info: _DlInfo | None) -> str:
    if info is None or not info.dli_fname:
        return "outside any loaded library"
    return os.fsdecode(info.dli_fname)


class _ForeignSymbol(AttributeError):
    """A symbol that ``dlsym()`` found in one of the library's dependencies."""

    def __init__(self, name: str, owner: str) -> None:
        super().__init__(f"{name!r} is a symbol of {owner}, not of this library")
        self.owner = owner


class _Library(ctypes.CDLL):
    """A :class:`ctypes.CDLL` whose items are only the symbols the library itself defines.

    ``dlsym(handle, name)`` searches the library and then its dependencies,
    so ``ctypes.CDLL(path)["abort"]`` is libc's ``abort``; here it raises
    :class:`_ForeignSymbol` (an ``AttributeError``, as for a missing name).
    Descriptor look-ups (:func:`pyo2._abi.descriptor`) go through this too.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._pyo2_foreign = _ownership(self._handle, path)

    def __getitem__(self, name_or_ordinal: str) -> Any:
        pointer = super().__getitem__(name_or_ordinal)
        address = ctypes.cast(pointer, ctypes.c_void_p).value
        owner = self._pyo2_foreign(address) if address else "nowhere (a null address)"
        if owner is not None:
            raise _ForeignSymbol(name_or_ordinal, owner)
        return pointer


# ---------------------------------------------------------------------------
# RustDLL's state and helpers: module functions, so that no library function
# name can hide them.

#: The key of pyo2's state in a RustDLL's ``__dict__``: not an identifier, so
#: no ``dll.NAME`` and no library function reaches it.
_STATE = " pyo2"
#: RustDLL's public attributes, which a library function of the same name hides.
_PUBLIC = ("declare", "find", "path")


class _State:
    __slots__ = ("cdll", "described", "functions", "names", "path", "shadows")

    def __init__(self, path: str, cdll: _Library) -> None:
        self.path = path
        self.cdll = cdll
        #: Every function handed out, by name (the ones reachable as attributes
        #: are also in the instance ``__dict__``).
        self.functions: dict[str, RustFunction] = {}
        #: Names whose signature the library describes (a pyo2 descriptor).
        self.described: set[str] = set()
        #: The library's function names, read from its file once asked for.
        self.names: list[str] | None = None
        #: For each public name asked for: whether the library defines it.
        self.shadows: dict[str, bool] = {}


def _state(dll: RustDLL) -> _State:
    state = vars(dll).get(_STATE) if isinstance(dll, RustDLL) else None
    if state is None:
        raise TypeError(f"expected a loaded pyo2.RustDLL, got {type(dll).__name__}")
    assert isinstance(state, _State)
    return state


def _remember(dll: RustDLL, state: _State, name: str, function: RustFunction) -> None:
    state.functions[name] = function
    if not name.startswith("__"):  # dunder names are never the library's as attributes
        vars(dll)[name] = function  # the next dll.NAME is a dict lookup


def _function(dll: RustDLL, state: _State, name: str) -> RustFunction:
    function = state.functions.get(name)
    if function is None:
        address = _address(state, name)
        sig = _abi.descriptor(state.cdll, state.path, name)
        function = make_function(dll, name, address, sig)
        if sig is not None:
            state.described.add(name)
        _remember(dll, state, name, function)
    return function


def _address(state: _State, name: str) -> int:
    if not isinstance(name, str):
        raise TypeError(f"a function name is a str, got {type(name).__name__}")
    try:
        if name.startswith(_abi.SIG_PREFIX) or not name:
            raise AttributeError(name)
        pointer = state.cdll[name]
    except _ForeignSymbol as e:
        raise AttributeError(
            f"{state.path!r} exports no function {name!r}: {name!r} is a symbol of {e.owner}, "
            "a library it depends on, and pyo2 calls only the library's own functions"
        ) from None
    except AttributeError:
        import difflib  # only for this message: not worth its import time up front

        close = difflib.get_close_matches(name, _names(state), n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise AttributeError(
            f"{state.path!r} exports no function {name!r}{hint} "
            '(is it #[no_mangle] pub extern "C" and in a cdylib?)'
        ) from None
    address = ctypes.cast(pointer, ctypes.c_void_p).value
    assert address is not None
    return address


def _names(state: _State) -> list[str]:
    if state.names is None:
        state.names = [n for n in exported_functions(state.path) if not n.startswith(_abi.SIG_PREFIX)]
    return state.names


def _shadowing(dll: RustDLL, name: str) -> RustFunction | None:
    """The library's function ``name`` if the library defines one, else None."""
    state = vars(dll).get(_STATE)
    if not isinstance(state, _State):
        return None
    defined = state.shadows.get(name)
    if defined is None:
        try:
            state.cdll[name]
            defined = True
        except AttributeError:
            defined = False
        state.shadows[name] = defined
    return _function(dll, state, name) if defined else None


def _ret_shape(ret: Scalar | Ret | None) -> object:
    """A return type without the spelling of a Result's error type (and a
    plain ``Ret`` the same as its value, as a described plain function has it)."""
    if isinstance(ret, Ret):
        if not ret.optional and ret.error is None:
            return ret.value
        return (ret.value, ret.optional, ret.error is None)
    return ret


def _check_matches(declaration: str, mine: Signature, described: Signature) -> None:
    if [t for _, t in mine.params] == [t for _, t in described.params] and _ret_shape(mine.ret) == _ret_shape(
        described.ret
    ):
        return
    raise SignatureError(
        f"{mine.name} is exported with #[pyo2::export] as `{described}`; "
        "a declaration must match it (or leave the function undeclared)",
        declaration,
        1,
        declaration,
    )


def declare(dll: RustDLL, declaration: str) -> RustFunction:
    """Give a function of ``dll`` its exact signature, written in Rust syntax.

    >>> scale = pyo2.declare(dll, "fn scale(v: &mut PyVec<f64>, k: f64) -> f64")
    >>> scale([1.0, 2.0], k=3.0)
    9.0

    The same as ``dll.declare(declaration)``, which it is unless the
    library has a function named ``declare`` of its own. Later calls check
    every argument against the declaration (exact widths, ranges,
    mutability), take keyword arguments, and return the declared type; the
    declared function replaces ``dll.NAME`` and ``dll["NAME"]``, and may
    itself be declared again. Raises :class:`pyo2.SignatureError` when the
    text does not parse and ``AttributeError`` when the library defines no
    such function.

    A function whose signature the library describes (exported with
    ``#[pyo2::export]``) already has it; declaring it is allowed only with
    the same parameter and return types (a ``SignatureError`` says what the
    library has), and returns the function the library describes.

    .. versionadded:: 0.2
    """
    state = _state(dll)
    try:  # the grammar of exported functions is a superset of declarations
        loose: Signature | None = parse_descriptor(declaration)
    except SignatureError:
        loose = None
    if loose is not None:
        try:
            existing: RustFunction | None = _function(dll, state, loose.name)
        except AttributeError:
            existing = None  # reported below, after any syntax error
        if existing is not None and loose.name in state.described:
            assert existing.signature is not None
            _check_matches(declaration, loose, existing.signature)
            return existing
    sig = parse_signature(declaration)
    address = _address(state, sig.name)
    function: RustFunction = make_function(dll, sig.name, address, sig)
    _remember(dll, state, sig.name, function)
    return function


def library_path(dll: RustDLL) -> str:
    """The path ``dll`` was loaded from, as given to :class:`RustDLL`.

    The same as ``dll.path``, which it is unless the library has a function
    named ``path`` of its own.

        >>> pyo2.library_path(pyo2.RustDLL("target/release/libpyo2_fixture.so"))
        'target/release/libpyo2_fixture.so'

    .. versionadded:: 0.2
    """
    return _state(dll).path


def function_names(dll: RustDLL) -> list[str]:
    """The sorted names of the functions the library defines, from its file
    (ELF only: empty elsewhere), without pyo2's descriptor symbols."""
    return list(_names(_state(dll)))


def _library_doc(dll: RustDLL) -> str:
    """What ``help(dll)`` shows: the library's functions with their signatures."""
    state = _state(dll)
    names = [n for n in _names(state) if not n.startswith("__")]
    lines = [
        f"The Rust library {state.path!r}, loaded by pyo2.RustDLL.",
        "Its functions are attributes (dll.NAME) or items (dll['NAME']); declare a",
        "signature with pyo2.declare(dll, 'fn ...') (or dll.declare); a function",
        "shown as fn NAME(...) has none, and each call infers one from its values.",
        "See help(pyo2.RustDLL) for the rest.",
        "",
    ]
    if not names:
        return "\n".join([*lines, "(Its functions are listed only for ELF libraries.)"])
    for name in names:
        try:
            function = _function(dll, state, name)
        except (Pyo2Error, AttributeError) as e:
            lines.append(f"fn {name}(?)  // unreadable: {e}")
            continue
        sig = function.signature
        lines.append(str(sig) if sig is not None else f"fn {name}(...)")
        lines += [f"    {line}".rstrip() for line in function.doc.splitlines()]
    return "\n".join(lines)


class _LibraryFirst:
    """A public attribute of :class:`RustDLL` that gives way to the library's
    own function of the same name.

    A non-data descriptor: ``dll.NAME`` looks the name up in the library
    (once per library) and, if the library defines it, returns (and caches in
    the instance ``__dict__``, which then wins) the library's function;
    otherwise pyo2's attribute. On the class it is always pyo2's.
    """

    def __init__(self, fallback: Any) -> None:
        self._fallback = fallback
        self._name = ""
        inner = getattr(fallback, "__func__", None) or getattr(fallback, "fget", None) or fallback
        self.__doc__ = inner.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: RustDLL | None, owner: type | None = None) -> Any:
        if instance is not None:
            function = _shadowing(instance, self._name)
            if function is not None:
                return function
        return self._fallback.__get__(instance, owner)


class _Doc:
    """``RustDLL.__doc__``: the class docstring on the class, the list of the
    library's functions on a loaded library (so ``help(dll)`` shows them)."""

    def __init__(self, doc: str | None) -> None:
        self._doc = doc

    def __get__(self, instance: RustDLL | None, owner: type | None = None) -> str | None:
        if instance is None or not isinstance(vars(instance).get(_STATE), _State):
            return self._doc
        return _library_doc(instance)


class RustDLL:
    """A Rust ``cdylib``, loaded with :class:`ctypes.CDLL`.

    Its functions are attributes (``dll.test``) or items (``dll["test"]``)::

        >>> dll = RustDLL.find("pyo2-fixture")      # or RustDLL("path/to/libpyo2_fixture.so")
        >>> lst = [1, 2, 3]
        >>> dll.double_i64(lst)
        >>> lst
        [2, 4, 6]

    Every name is the library's: ``dll.find``, ``dll.declare`` and
    ``dll.path`` are the library's functions of those names if it has any,
    and pyo2's otherwise (``RustDLL.find``, :func:`pyo2.declare` and
    :func:`pyo2.library_path` are pyo2's whatever the library defines).
    Names starting with ``__`` are reachable only as items. Only functions
    the library itself defines are found, never a symbol of a library it
    depends on (libc's ``abort``, ``free``...). ``dir(dll)`` and
    ``help(dll)`` list the functions (of an ELF library).

    Raises ``OSError`` (with the path tried as ``filename``) when the file is
    missing or is not a loadable library.

    .. versionadded:: 0.2
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = os.fspath(path)
        if not isinstance(path, str):
            raise TypeError(f"RustDLL() takes a str or os.PathLike path, got {type(path).__name__}")
        try:
            cdll = _Library(path)
        except OSError as e:
            has_dir = os.sep in path or (os.altsep is not None and os.altsep in path)
            missing = has_dir and not os.path.exists(path)
            code = errno.ENOENT if missing else errno.ENOEXEC
            what = "no such file" if missing else f"not a loadable library ({e})"
            raise OSError(code, f"pyo2: can't load the Rust library: {what}", path) from None
        vars(self)[_STATE] = _State(path, cdll)

    def __repr__(self) -> str:
        state = vars(self).get(_STATE)
        return f"<RustDLL {state.path!r}>" if isinstance(state, _State) else "<RustDLL (not loaded)>"

    def __getattr__(self, name: str) -> RustFunction:
        state = vars(self).get(_STATE)
        if not isinstance(state, _State):
            raise AttributeError(name)
        if name.startswith("__"):
            raise AttributeError(
                f"'RustDLL' object has no attribute {name!r} "
                f"(a library function of that name is reachable as dll[{name!r}])"
            )
        return _function(self, state, name)

    def __getitem__(self, name: str) -> RustFunction:
        return _function(self, _state(self), name)

    def __dir__(self) -> list[str]:
        names = {n for n in object.__dir__(self) if n.startswith("__") and n.endswith("__")}
        state = vars(self).get(_STATE)
        if not isinstance(state, _State):
            return sorted(names)
        names.update(_PUBLIC)
        names.update(n for n in [*_names(state), *state.functions] if not n.startswith("__"))
        return sorted(names)

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

        When the library has a function named ``declare``, ``dll.declare``
        is that function: :func:`pyo2.declare` (``pyo2.declare(dll, text)``)
        always declares.

        .. versionadded:: 0.2
        """
        return declare(self, declaration)

    @property
    def path(self) -> str:
        """The path the library was loaded from, as given.

        When the library has a function named ``path``, ``dll.path`` is that
        function: :func:`pyo2.library_path` (``pyo2.library_path(dll)``)
        always gives the path.
        """
        return library_path(self)

    if not TYPE_CHECKING:  # at run time, the library's functions of these names win
        __doc__ = _Doc(__doc__)
        find = _LibraryFirst(find)
        declare = _LibraryFirst(declare)
        path = _LibraryFirst(path)
