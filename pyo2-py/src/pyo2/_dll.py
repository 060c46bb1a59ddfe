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

import _thread
import ctypes
import errno
import os
import sys

from . import _abi
from ._errors import Pyo2Error, SignatureError
from ._function import make_function
from ._signature import parse_descriptor, parse_signature
from ._symbols import exported_functions
from ._types import Ret, Scalar, Signature

TYPE_CHECKING = False  # typing is not imported at run time (import time)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from ._protocol import RustFunction

__all__ = ["RustDLL", "declare", "function_names", "library_path", "reload", "types"]


# ---------------------------------------------------------------------------
# RustDLL.find: where cargo, or a package, put the library.

#: How long ``cargo metadata`` may take before find() walks up for ``target/`` instead.
_CARGO_TIMEOUT = 10.0
#: The kinds of cargo target that are a library (``cargo metadata``'s ``kind``).
_LIB_KINDS = frozenset({"lib", "rlib", "dylib", "cdylib", "staticlib", "proc-macro"})


def _lib_name(name: str) -> str:
    return name.replace("-", "_")


def _shared_file(lib: str) -> str:
    """The file name cargo gives the cdylib ``lib`` on this platform."""
    if sys.platform == "win32":
        return f"{lib}.dll"
    if sys.platform == "darwin":
        return f"lib{lib}.dylib"
    return f"lib{lib}.so"


def _described(libs: list[str]) -> str:
    return " or ".join(_shared_file(lib) for lib in libs)


def _explicit_dirs(package: str | None, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The directories of ``paths=`` and of the installed package ``package``, in that order."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError("RustDLL.find(): paths= takes a list of directories, not one path")
    dirs = [os.fsdecode(p) for p in paths]
    if package is not None:
        import importlib.util

        spec = importlib.util.find_spec(package)
        if spec is None:
            raise ModuleNotFoundError(f"RustDLL.find(): no installed package {package!r}", name=package)
        dirs += list(spec.submodule_search_locations or [])
        if spec.origin and not spec.submodule_search_locations:
            dirs.append(os.path.dirname(spec.origin))
    return dirs


def _in_directory(directory: str, libs: list[str]) -> str | None:
    """The file of the first of ``libs`` in ``directory`` (of ``paths=`` or a package).

    This platform's cdylib name (``libx.so``), then the extension-module names
    setuptools-rust gives a library it builds into a package: this Python's
    (``x.cpython-311-x86_64-linux-gnu.so``, ``x.abi3.so``, ``x.so``), then any
    other Python's (``x.*.so``; ``.pyd`` on Windows).
    """
    import importlib.machinery

    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    for lib in libs:
        for file in [_shared_file(lib), *(lib + suffix for suffix in suffixes)]:
            candidate = os.path.join(directory, file)
            if os.path.isfile(candidate):
                return candidate
        try:
            others = sorted(
                f
                for f in os.listdir(directory)
                if f.startswith(lib + ".") and f.endswith(os.path.splitext(suffixes[-1])[1])
            )
        except OSError:
            continue
        for file in others:
            candidate = os.path.join(directory, file)
            if os.path.isfile(candidate):
                return candidate
    return None


def _parents(directory: str) -> list[str]:
    out = [directory]
    while os.path.dirname(out[-1]) != out[-1]:
        out.append(os.path.dirname(out[-1]))
    return out


def _cargo_metadata(start: str) -> dict[str, Any] | None:
    """``cargo metadata --no-deps`` of the cargo project around ``start``.

    ``None`` when no ``Cargo.toml`` is in ``start`` or a parent, cargo is not
    on ``PATH``, or it fails or takes longer than ``_CARGO_TIMEOUT`` seconds.
    """
    if not any(os.path.isfile(os.path.join(d, "Cargo.toml")) for d in _parents(start)):
        return None
    import shutil

    cargo = shutil.which("cargo")
    if cargo is None:
        return None
    import json
    import subprocess

    command = [cargo, "metadata", "--format-version", "1", "--no-deps", "--offline"]
    try:
        done = subprocess.run(
            command,
            cwd=start,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_CARGO_TIMEOUT,
            check=False,
        )
        data = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("target_directory"), str):
        return None
    return data


class _Crate:
    """A library of the workspace that find()'s name names, from ``cargo metadata``."""

    __slots__ = ("crate_types", "lib", "manifest", "package")

    def __init__(self, package: str, lib: str, crate_types: list[str], manifest: str) -> None:
        self.package = package
        self.lib = lib
        self.crate_types = crate_types
        self.manifest = manifest


def _crates_named(metadata: dict[str, Any], name: str) -> list[_Crate]:
    """The workspace's libraries whose package or lib name is ``name`` (``-`` and
    ``_`` alike): ``[lib] name = "x"`` may differ from the package name."""
    lib = _lib_name(name)
    out = []
    for package in metadata.get("packages") or []:
        package_name = str(package.get("name", ""))
        for target in package.get("targets") or []:
            kinds = [str(k) for k in target.get("kind") or []]
            if not _LIB_KINDS.intersection(kinds):
                continue
            target_lib = _lib_name(str(target.get("name", "")))
            if lib in (_lib_name(package_name), target_lib):
                types = [str(t) for t in target.get("crate_types") or kinds]
                out.append(_Crate(package_name, target_lib, types, str(package.get("manifest_path", ""))))
    return out


def _walked_target_dirs(start: str) -> list[str]:
    """Without cargo: ``$CARGO_TARGET_DIR``, else each ``target/`` in ``start`` and its parents."""
    env = os.environ.get("CARGO_TARGET_DIR") or os.environ.get("CARGO_BUILD_TARGET_DIR")
    if env:
        return [os.path.join(start, env)]
    return [t for t in (os.path.join(d, "target") for d in _parents(start)) if os.path.isdir(t)]


def _subdirs(directory: str) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return sorted(e.path for e in entries if not e.name.startswith(".") and e.is_dir())
    except OSError:
        return []


def _is_profile_dir(directory: str) -> bool:
    """Whether cargo put a profile's build here: ``debug``, ``release``, or a
    custom profile's directory (cargo keeps a ``.fingerprint`` in each)."""
    name = os.path.basename(directory)
    return name in ("debug", "release") or os.path.isdir(os.path.join(directory, ".fingerprint"))


def _profile_dirs(target_dir: str) -> list[str]:
    """Every profile directory of a target directory: ``<target>/<profile>``
    and, for builds with ``--target TRIPLE``, ``<target>/<triple>/<profile>``."""
    out = []
    for entry in _subdirs(target_dir):
        if _is_profile_dir(entry):
            out.append(entry)
        elif "-" in os.path.basename(entry):  # a triple: x86_64-unknown-linux-gnu, wasm32-wasip1...
            out += [d for d in _subdirs(entry) if _is_profile_dir(d)]
    return out


def _newest_build(target_dirs: list[str], libs: list[str]) -> str | None:
    """The most recently built cdylib of ``libs`` in any profile of ``target_dirs``."""
    import stat

    best: str | None = None
    best_time = -1
    for target_dir in target_dirs:
        for profile in _profile_dirs(target_dir):
            for lib in libs:
                candidate = os.path.join(profile, _shared_file(lib))
                try:
                    st = os.stat(candidate)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and st.st_mtime_ns > best_time:
                    best, best_time = candidate, st.st_mtime_ns
    return best


def _static_build(target_dirs: list[str], libs: list[str]) -> str | None:
    """A Rust library of ``libs`` that is not a cdylib (``.rlib``, ``.rmeta``, ``.a``), if built."""
    for target_dir in target_dirs:
        for profile in _profile_dirs(target_dir):
            for lib in libs:
                for file in (f"lib{lib}.rlib", f"lib{lib}.a", f"{lib}.lib"):
                    if os.path.isfile(os.path.join(profile, file)):
                        return os.path.join(profile, file)
            deps = os.path.join(profile, "deps")
            try:
                files = sorted(os.listdir(deps))
            except OSError:
                continue
            for lib in libs:
                for file in files:
                    if file.startswith(f"lib{lib}-") and file.endswith((".rlib", ".rmeta")):
                        return os.path.join(deps, file)
    return None


_CRATE_TYPE_HINT = 'add crate-type = ["cdylib"] to [lib] in Cargo.toml and build again'
_BUILD_HINT = "run cargo build (or cargo build --release) first"


def _not_found(
    name: str,
    *,
    libs: list[str],
    explicit: list[str],
    start: str,
    target_dirs: list[str],
    metadata: dict[str, Any] | None,
    crates: list[_Crate],
) -> OSError:
    """find()'s ``OSError``: where it looked, and what to do about it."""
    where = []
    if explicit:
        where.append("in " + ", ".join(explicit))
    if target_dirs:
        dirs = " or ".join(target_dirs)
        where.append(f"under the cargo target directory {dirs} (any profile, any --target triple)")
    message = f"pyo2: found no Rust library {name!r} ({_described(libs)}) " + " or ".join(where)
    if not target_dirs:
        nowhere = f"no cargo target directory in {start} or its parents"
        message = message.rstrip() + (f", and {nowhere}" if where else f": {nowhere}")
    static = _static_build(target_dirs, libs)
    if crates and not any("cdylib" in c.crate_types for c in crates):
        crate = crates[0]
        message += (
            f": the crate {crate.package!r} ({crate.manifest}) builds no shared library "
            f"(its crate-type: {', '.join(crate.crate_types)}); {_CRATE_TYPE_HINT}"
        )
    elif static is not None and not crates:
        message += f": found {static}, a Rust library but not a shared one; {_CRATE_TYPE_HINT}"
    elif crates:
        message += f"; {_BUILD_HINT}"
    elif metadata is not None:
        libraries = sorted(
            {
                str(t.get("name", ""))
                for p in metadata.get("packages") or []
                for t in p.get("targets") or []
                if _LIB_KINDS.intersection(t.get("kind") or [])
            }
        )
        shown = ", ".join(libraries[:10]) + (", ..." if len(libraries) > 10 else "") or "none"
        root = metadata.get("workspace_root", start)
        message += (
            f": the cargo workspace at {root} has no library {name!r} (it has: {shown}); "
            "build that crate, or pass paths=[its target/release]"
        )
    elif target_dirs:
        message += f"; {_BUILD_HINT}"
    else:
        message += "; run from inside the crate, set CARGO_TARGET_DIR, or pass paths=[...]"
    return OSError(errno.ENOENT, message, name)


def _find(name: str, package: str | None, paths: Iterable[str | os.PathLike[str]]) -> str:
    """The file :meth:`RustDLL.find` loads (see there)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"RustDLL.find() takes a crate or lib name (a non-empty str), got {name!r}")
    libs = [_lib_name(name)]
    explicit = _explicit_dirs(package, paths)
    for directory in explicit:  # given directories first; the first with the library wins
        found = _in_directory(directory, libs)
        if found is not None:
            return found
    start = os.getcwd()
    metadata = _cargo_metadata(start)  # at most once per find()
    crates: list[_Crate] = []
    if metadata is not None:
        crates = _crates_named(metadata, name)
        target_dirs = [str(metadata["target_directory"])]
    else:
        target_dirs = _walked_target_dirs(start)
    for crate in crates:
        if crate.lib not in libs:
            libs.append(crate.lib)
    if len(libs) > 1:  # the crate's [lib] name, which differs from its package name
        for directory in explicit:
            found = _in_directory(directory, libs[1:])
            if found is not None:
                return found
    found = _newest_build(target_dirs, libs)
    if found is None and metadata is not None:
        # Not in this project's target directory: a target/ further up (the
        # project may sit inside another, e.g. a crate excluded from a workspace).
        seen = {os.path.realpath(d) for d in target_dirs}
        target_dirs += [d for d in _walked_target_dirs(start) if os.path.realpath(d) not in seen]
        found = _newest_build(target_dirs[1:], libs)
    if found is not None:
        return found
    raise _not_found(
        name,
        libs=libs,
        explicit=explicit,
        start=start,
        target_dirs=target_dirs,
        metadata=metadata,
        crates=crates,
    )


# ---------------------------------------------------------------------------
# Loading a library again after it was rebuilt.
#
# dlopen() of a path it has loaded returns the library already loaded, even
# when the file has changed since (glibc matches the path first; macOS and
# Windows do much the same): a notebook that rebuilds and loads again would
# keep calling the old code. So pyo2 remembers, for each file it loaded, the
# identity of each version it saw, and loads a changed file from a private
# copy (a new path and a new inode), in a directory of its own removed at exit.

#: Per library file (by real path): for each version loaded (device, inode,
#: mtime, size), the file that was dlopen()ed for it: the path itself for the
#: first, a private copy for each later one.
_VERSIONS: dict[str, dict[tuple[int, int, int, int], str]] = {}
_VERSIONS_LOCK = _thread.allocate_lock()
#: [(the directory of private copies, the pid that made it)], once made.
_COPIES: list[tuple[str, int]] = []


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _has_dir(path: str) -> bool:
    return os.sep in path or (os.altsep is not None and os.altsep in path)


def _load(path: str) -> tuple[_Library, str]:
    """dlopen() ``path`` as it is on disk now: the library and the file loaded.

    A path without a directory is left to the loader's search (as by ctypes).
    """
    if not _has_dir(path):
        return _Library(path), path
    with _VERSIONS_LOCK:
        try:
            key = os.path.realpath(path)
            st = os.stat(path)
            identity = _identity(st)
        except (OSError, ValueError):
            return _Library(path), path  # the loader says what is wrong
        _check_file(path, st)
        versions = _VERSIONS.get(key)
        file = path if versions is None else versions.get(identity)
        if file is None:
            file, identity = _private_copy(path, identity)
        cdll = _Library(file)
        _VERSIONS.setdefault(key, {})[identity] = file
        return cdll, file


def _check_file(path: str, st: os.stat_result) -> None:
    """Refuse, with ``OSError``, what ``dlopen()`` would hang or crash on.

    A FIFO or device blocks it (holding the GIL); an ELF file cut short (a
    build still writing it) makes it crash with SIGBUS: its program and
    section headers must lie inside the file.
    """
    import stat
    import struct

    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.ENOEXEC, "not a regular file")
    size = st.st_size
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            return  # not ELF: the loader judges it
        if len(head) < 52 or head[4] not in (1, 2) or head[5] not in (1, 2):
            raise OSError(errno.ENOEXEC, "a truncated or damaged ELF file")
        wide = head[4] == 2
        order = "<" if head[5] == 1 else ">"
        try:
            if wide:
                phoff, shoff = struct.unpack_from(order + "QQ", head, 0x20)
                phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", head, 0x36)
                entry = order + "I4xQ8x8xQ"  # p_type, p_offset, p_filesz
            else:
                phoff, shoff = struct.unpack_from(order + "II", head, 0x1C)
                phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", head, 0x2A)
                entry = order + "II8xI"
            if phoff + phnum * phentsize > size or (shoff and shoff + shnum * shentsize > size):
                raise ValueError
            f.seek(phoff)
            table = f.read(phnum * phentsize)
            if len(table) != phnum * phentsize or phentsize < struct.calcsize(entry):
                raise ValueError
            for i in range(phnum):
                kind, offset, filesz = struct.unpack_from(entry, table, i * phentsize)
                if kind in (1, 2) and offset + filesz > size:  # PT_LOAD, PT_DYNAMIC
                    raise ValueError
        except (ValueError, struct.error):
            raise OSError(errno.ENOEXEC, "a truncated or damaged ELF file (still being written?)") from None


def _private_copy(path: str, identity: tuple[int, int, int, int]) -> tuple[str, tuple[int, int, int, int]]:
    """Copy the library at ``path`` (a version not loaded yet) into this
    process's private directory: the copy's path and the version copied."""
    import shutil

    for _ in range(3):  # a build may be writing the file right now: copy a version that held still
        try:
            base = _copies_dir()
            directory = os.path.join(base, f"{len(os.listdir(base))}-{identity[2]}-{identity[3]}")
            os.mkdir(directory)
            copy = os.path.join(directory, os.path.basename(path))
            shutil.copyfile(path, copy)
            after = _identity(os.stat(path))
        except OSError as e:
            raise _CopyError(
                e.errno or errno.EIO,
                f"pyo2: the library changed since it was loaded, and a copy to load it again failed: {e}",
                path,
            ) from None
        if after == identity:
            return copy, identity
        identity = after
    return copy, identity


class _CopyError(OSError):
    """A changed library could not be copied to be loaded again."""


def _copies_dir() -> str:
    """This process's directory of private copies, made once and removed at exit."""
    if not _COPIES or _COPIES[0][1] != os.getpid():  # a forked child makes its own
        import atexit
        import tempfile

        directory = tempfile.mkdtemp(prefix="pyo2-libraries-")
        _COPIES[:] = [(directory, os.getpid())]
        atexit.register(_remove_copies, directory, os.getpid())
    return _COPIES[0][0]


def _remove_copies(directory: str, pid: int) -> None:
    if os.getpid() == pid:  # not in a forked child: the parent still uses them
        import shutil

        shutil.rmtree(directory, ignore_errors=True)


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
_PUBLIC = ("declare", "find", "path", "reload", "types")


class _State:
    __slots__ = ("cdll", "described", "file", "functions", "names", "path", "shadows", "types")

    def __init__(self, path: str, file: str, cdll: _Library) -> None:
        #: The path as the user gave it.
        self.path = path
        #: The file loaded: ``path``, or a private copy of a changed library.
        self.file = file
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
        #: ``dll.types``, once asked for.
        self.types: Any = None


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
    if name.startswith(_INTERNAL):
        raise AttributeError(
            f"{state.path!r} exports no function {name!r}: names starting with {_INTERNAL!r} are "
            "pyo2's own symbols (descriptors, uniform entry points, markers), not functions to call"
        )
    try:
        if not name:
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


#: The prefix of pyo2's own symbols in a library, none of them a function to
#: call by name: descriptors (``__pyo2_sig__``, ``__pyo2_record__``, a class's
#: ``__pyo2_class__`` / ``__pyo2_m__`` / ``__pyo2_close__``, reached through
#: ``dll.types``), uniform entry points (``__pyo2_call__``) and data markers
#: (``__pyo2_release_gil__``). Calling one as a function would crash.
_INTERNAL = "__pyo2_"


def _names(state: _State) -> list[str]:
    if state.names is None:
        state.names = [n for n in exported_functions(state.file) if not n.startswith(_INTERNAL)]
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


def types(dll: RustDLL) -> Any:
    """The record types of the library: ``pyo2.types(dll).Point``.

    The same as ``dll.types``, which it is unless the library has a
    function named ``types`` of its own. Each attribute is the class of the
    ``#[derive(pyo2::Record)]`` struct of that name (one class per layout in
    the process: the same Rust type from two libraries is one class);
    ``bind(name, cls)`` makes returns of that record build ``cls(**fields)``.
    """
    state = _state(dll)
    if state.types is None:
        from ._records import Types

        state.types = Types(state.cdll, state.path, state.file, dll)
    return state.types


def library_path(dll: RustDLL) -> str:
    """The path ``dll`` was loaded from, as given to :class:`RustDLL`.

    The same as ``dll.path``, which it is unless the library has a function
    named ``path`` of its own.

        >>> pyo2.library_path(pyo2.RustDLL("target/release/libpyo2_fixture.so"))
        'target/release/libpyo2_fixture.so'

    .. versionadded:: 0.2
    """
    return _state(dll).path


def reload(dll: RustDLL) -> RustDLL:
    """Load the library of ``dll`` again from its path: the code on disk now.

    The same as ``dll.reload()``, which it is unless the library has a
    function named ``reload`` of its own. For a notebook or a REPL: rebuild
    with cargo, then ``dll = pyo2.reload(dll)``. Returns a new
    :class:`RustDLL` (of the same class) for ``pyo2.library_path(dll)``,
    as ``RustDLL(path)`` does, without the declarations made on ``dll``
    (the signatures may have changed with the code).

    The old ``dll`` and every function taken from it keep calling the old
    code, which stays loaded: unloading a library whose functions may still
    be referenced is unsafe. A file that has not changed is not loaded twice
    (the new object shares the loaded library).

    .. versionadded:: 0.2
    """
    return type(dll)(_state(dll).path)


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

    Every name is the library's: ``dll.find``, ``dll.declare``,
    ``dll.path`` and ``dll.reload`` are the library's functions of those
    names if it has any, and pyo2's otherwise (``RustDLL.find``,
    :func:`pyo2.declare`, :func:`pyo2.library_path` and :func:`pyo2.reload`
    are pyo2's whatever the library defines). Names starting with ``__`` are
    reachable only as items. Only functions the library itself defines are
    found, never a symbol of a library it depends on (libc's ``abort``,
    ``free``...). ``dir(dll)`` and ``help(dll)`` list the functions (of an
    ELF library).

    Rebuilt libraries: ``RustDLL(path)`` loads the file as it is now. If this
    process already loaded ``path`` and the file has changed since (another
    inode, modification time or size: cargo built it again), the new version
    is loaded from a private copy (in a temporary directory removed at exit),
    since the system loader would hand back the old one; ``dll.path`` is
    still ``path``. :func:`pyo2.reload` (``dll.reload()``) does this for a
    loaded library. Earlier objects and their functions keep the old code,
    which stays loaded.

    Raises ``OSError`` (with the path tried as ``filename``) when the file is
    missing or is not a loadable library.

    .. versionadded:: 0.2
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        path = os.fspath(path)
        if not isinstance(path, str):
            raise TypeError(f"RustDLL() takes a str or os.PathLike path, got {type(path).__name__}")
        try:
            cdll, file = _load(path)
        except _CopyError:
            raise
        except OSError as e:
            missing = _has_dir(path) and not os.path.exists(path)
            code = errno.ENOENT if missing else errno.ENOEXEC
            what = "no such file" if missing else f"not a loadable library ({e})"
            raise OSError(code, f"pyo2: can't load the Rust library: {what}", path) from None
        vars(self)[_STATE] = _State(path, file, cdll)

    def __repr__(self) -> str:
        state = vars(self).get(_STATE)
        return f"<RustDLL {state.path!r}>" if isinstance(state, _State) else "<RustDLL (not loaded)>"

    def __getattr__(self, name: str) -> RustFunction:
        state = vars(self).get(_STATE)
        if not isinstance(state, _State):
            raise AttributeError(name)
        if name.startswith("__"):
            if name.startswith(_INTERNAL):
                _address(state, name)  # raises: pyo2's own symbols are no functions, items neither
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

        ``name`` is the crate (package) name (``my-lib``) or the lib name
        (``my_lib``, or whatever ``[lib] name`` says). The file is
        ``libmy_lib.so`` on Linux, ``libmy_lib.dylib`` on macOS and
        ``my_lib.dll`` on Windows. It is looked for, in order:

        1. in each directory of ``paths``, then in the installed package
           ``package`` (a wheel that ships the library beside its Python
           code, e.g. built with setuptools-rust): the first directory that
           has it wins. There, the extension-module names setuptools-rust
           gives a library are found too (``my_lib.abi3.so``,
           ``my_lib.cpython-311-x86_64-linux-gnu.so``, any Python's);
        2. in the cargo target directory of the project around the current
           directory: the newest file (by modification time) in any profile
           directory (``debug``, ``release``, ``target/<custom-profile>``)
           and any ``--target`` triple's (``target/<triple>/release``), so
           the build you made last wins. The target directory and the
           workspace's crates come from ``cargo metadata`` (which honours
           ``$CARGO_TARGET_DIR`` and ``build.target-dir`` in
           ``.cargo/config.toml``, and maps a crate name to its ``[lib]``
           name); without cargo (or if it fails, or takes over 10 s), from
           ``$CARGO_TARGET_DIR`` or each ``target/`` in the current
           directory and its parents.

        Raises ``OSError`` (``ENOENT``, ``filename`` the name) saying where it
        looked and what to do: build the crate, or, if only a Rust-only
        library (``.rlib``, ``.rmeta``) was built, make it a ``cdylib``.

            >>> RustDLL.find("pyo2-fixture")                         # doctest: +ELLIPSIS
            <RustDLL '.../target/.../libpyo2_fixture.so'>

        .. versionadded:: 0.2
        """
        return cls(_find(name, package, paths))

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

    @property
    def types(self) -> Any:
        """The library's record types (``dll.types.Point``); see :func:`pyo2.types`.

        When the library has a function named ``types``, ``dll.types`` is
        that function: :func:`pyo2.types` (``pyo2.types(dll)``) always gives
        the record types.
        """
        return types(self)

    def reload(self) -> RustDLL:
        """Load the library again from its path, as rebuilt: a new :class:`RustDLL`.

        >>> dll = pyo2.reload(dll)      # after cargo build; or dll = dll.reload()

        This object and the functions taken from it keep calling the old
        code (it stays loaded: unloading a library whose functions may still
        be referenced is unsafe); declarations are not carried over.

        When the library has a function named ``reload``, ``dll.reload`` is
        that function: :func:`pyo2.reload` (``pyo2.reload(dll)``) always
        reloads.

        .. versionadded:: 0.2
        """
        return reload(self)

    if not TYPE_CHECKING:  # at run time, the library's functions of these names win
        __doc__ = _Doc(__doc__)
        find = _LibraryFirst(find)
        declare = _LibraryFirst(declare)
        path = _LibraryFirst(path)
        reload = _LibraryFirst(reload)
        types = _LibraryFirst(types)
