"""pyo2 against the alternatives, side by side, on the same Rust code.

Run it with ``./benchmarks/run`` (which builds everything first); see
``benchmarks/README.md``. Every implementation calls the same Rust bodies:
``benchmarks/rust`` (a cdylib: plain ``extern "C"`` functions and
``#[pyo2::export]`` ones) or ``benchmarks/pyo3`` (a PyO3 extension).
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import timeit
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIB = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "libpyo2_bench.so"
SEED = HERE / ".seed" / "pyo2.py"

PYO2 = "pyo2"
#: The lists hold ints below this prime (one CPython digit), and x2 works modulo it.
MODULUS = 1_000_003
ALTERNATIVES = ("ctypes (hand)", "cffi (ABI)", "PyO3", "PyO3 abi3", "pyo2 0.1.3")
#: Implementations measured on a few workloads only: no "n/a" row elsewhere.
EXTRAS = ("pyo2 exported, free fn", "pyo2 exported, stored Callback", "pyo2 exported, pure")
#: The stable-ABI build of benchmarks/pyo3 (made by ./benchmarks/run).
PYO3_ABI3 = HERE / ".wheels" / "abi3"
#: The workloads the accelerator (pyo2._accel) takes: "pyo2 exported, pure" rows.
ACCELERATED = ("add", "sum", "double", "str", "vec10", "hello")
#: Round trips per call of the callback rows.
CALLBACK_CALLS = 1000


class PyVecC(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]


CALLBACK_C = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


class PointC(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double)]


class PyPoint:
    """The Python objects hand-written ctypes and cffi copy points from and back to."""

    __slots__ = ("x", "y")

    def __init__(self, x: float, y: float) -> None:
        self.x, self.y = x, y


class Attr(NamedTuple):
    """Time ``target.name(*args)``: the attribute lookup is part of the call, as
    in ``counter.add(1)`` or ``lib.counter_add(ptr, 1)`` in user code."""

    target: Any
    name: str


def plus_one(i: int) -> int:
    """The Python callable of the callback rows."""
    return i + 1


def py_points(coords: list[tuple[float, float]]) -> list[PyPoint]:
    return [PyPoint(x, y) for x, y in coords]


def numpy_points(coords: list[tuple[float, float]]) -> Any:
    """A structured array laid out as C's ``struct { double x, y; }``."""
    import numpy

    return numpy.array(coords, dtype=[("x", "f8"), ("y", "f8")])


# ---------------------------------------------------------------------------
# The implementations: each maps a workload to a zero-argument callable.


def hand_ctypes() -> dict[str, Any]:
    lib = ctypes.CDLL(str(LIB))
    byref = ctypes.byref
    pv = ctypes.POINTER(PyVecC)
    f = {}
    for name, restype, argtypes in [
        ("add", ctypes.c_int64, [ctypes.c_int64, ctypes.c_int64]),
        ("sum_i64", ctypes.c_int64, [pv]),
        ("double_i64", None, [pv]),
        ("str_len", ctypes.c_size_t, [pv]),
        ("bytes_sum", ctypes.c_uint64, [pv]),
        ("nested_sum", ctypes.c_int64, [pv]),
        ("normalize_points", ctypes.c_double, [pv]),
        ("rotate_points", None, [pv]),
        ("counter_new", ctypes.c_void_p, [ctypes.c_int64]),
        ("counter_add", ctypes.c_int64, [ctypes.c_void_p, ctypes.c_int64]),
        ("call_n", ctypes.c_int64, [ctypes.c_int64, CALLBACK_C]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
        f[name] = fn

    def sum_list(lst: list[int]) -> int:
        arr = array("q", lst)
        return int(f["sum_i64"](byref(PyVecC(arr.buffer_info()[0], len(arr)))))

    def double_list(lst: list[int]) -> None:
        arr = array("q", lst)
        f["double_i64"](byref(PyVecC(arr.buffer_info()[0], len(arr))))
        lst[:] = arr.tolist()

    def bytes_address(b: bytes) -> int:
        return ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value or 0

    def str_len(s: str) -> int:
        b = s.encode()
        return int(f["str_len"](byref(PyVecC(bytes_address(b), len(b)))))

    def bytes_sum(b: bytes) -> int:
        return int(f["bytes_sum"](byref(PyVecC(bytes_address(b), len(b)))))

    def buffer_sum(buf: Any) -> int:
        c = (ctypes.c_char * memoryview(buf).nbytes).from_buffer(buf)
        return int(f["bytes_sum"](byref(PyVecC(ctypes.addressof(c), len(c)))))

    def nested_sum(rows: list[list[int]]) -> int:
        arrays = [array("q", row) for row in rows]
        headers = (PyVecC * len(rows))(*[PyVecC(a.buffer_info()[0], len(a)) for a in arrays])
        base = ctypes.addressof(headers)
        size = ctypes.sizeof(PyVecC)
        pointers = array("Q", range(base, base + size * len(rows), size))
        return int(f["nested_sum"](byref(PyVecC(pointers.buffer_info()[0], len(rows)))))

    def normalize_list(points: list[PyPoint]) -> float:
        n = len(points)
        arr = (PointC * n)(*[(p.x, p.y) for p in points])  # type: ignore[misc]  # tuples init structs
        longest = float(f["normalize_points"](byref(PyVecC(ctypes.addressof(arr), n))))
        for p, c in zip(points, arr):
            p.x, p.y = c.x, c.y
        return longest

    def rotate_list(points: list[PyPoint]) -> None:
        n = len(points)
        arr = (PointC * n)(*[(p.x, p.y) for p in points])  # type: ignore[misc]  # tuples init structs
        f["rotate_points"](byref(PyVecC(ctypes.addressof(arr), n)))
        for p, c in zip(points, arr):
            p.x, p.y = c.x, c.y

    def normalize_numpy(arr: Any) -> float:
        return float(f["normalize_points"](byref(PyVecC(arr.ctypes.data, len(arr)))))

    counter = f["counter_new"](0)  # one per run, never freed
    return {
        "add": f["add"],
        "method": Attr(lib, "counter_add"),
        "method argv": lambda k: (counter, k),
        "callback": Attr(lib, "call_n"),
        # The CFUNCTYPE object is made once, outside the timed loop, as ctypes
        # users must keep it anyway.
        "callback argv": lambda n, fn: (n, CALLBACK_C(fn)),
        "points": normalize_list,
        "points args": py_points,
        "rotate": rotate_list,
        "rotate args": py_points,
        "points numpy": normalize_numpy,
        "points numpy args": numpy_points,
        "sum": sum_list,
        "double": double_list,
        "str": str_len,
        "bytes": bytes_sum,
        "buffer": buffer_sum,
        "nested": nested_sum,
    }


def cffi_abi() -> dict[str, Any]:
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(
        """
        typedef struct { int64_t *ptr; size_t len; } VecI64;
        typedef struct { uint8_t *ptr; size_t len; } VecU8;
        typedef struct { VecI64 **ptr; size_t len; } VecVec;
        int64_t add(int64_t, int64_t);
        int64_t sum_i64(VecI64 *);
        void double_i64(VecI64 *);
        size_t str_len(VecU8 *);
        uint64_t bytes_sum(VecU8 *);
        int64_t nested_sum(VecVec *);
        typedef struct { double x, y; } Point;
        typedef struct { Point *ptr; size_t len; } VecPoint;
        double normalize_points(VecPoint *);
        void rotate_points(VecPoint *);
        void *counter_new(int64_t);
        int64_t counter_add(void *, int64_t);
        int64_t call_n(int64_t, int64_t (*)(int64_t));
        """
    )
    lib = ffi.dlopen(str(LIB))

    def sum_list(lst: list[int]) -> int:
        data = ffi.new("int64_t[]", lst)
        return int(lib.sum_i64(ffi.new("VecI64 *", (data, len(lst)))))

    def double_list(lst: list[int]) -> None:
        data = ffi.new("int64_t[]", lst)
        lib.double_i64(ffi.new("VecI64 *", (data, len(lst))))
        lst[:] = ffi.unpack(data, len(lst))

    def u8(buf: Any) -> Any:
        return ffi.new("VecU8 *", (ffi.from_buffer(buf), len(memoryview(buf).cast("B"))))

    def nested_sum(rows: list[list[int]]) -> int:
        keep = [ffi.new("int64_t[]", row) for row in rows]
        headers = [ffi.new("VecI64 *", (data, len(row))) for data, row in zip(keep, rows)]
        outer = ffi.new("VecI64 *[]", headers)
        return int(lib.nested_sum(ffi.new("VecVec *", (outer, len(rows)))))

    def normalize_list(points: list[PyPoint]) -> float:
        n = len(points)
        data = ffi.new("Point[]", [(p.x, p.y) for p in points])
        longest = float(lib.normalize_points(ffi.new("VecPoint *", (data, n))))
        for p, c in zip(points, data):
            p.x, p.y = c.x, c.y
        return longest

    def rotate_list(points: list[PyPoint]) -> None:
        n = len(points)
        data = ffi.new("Point[]", [(p.x, p.y) for p in points])
        lib.rotate_points(ffi.new("VecPoint *", (data, n)))
        for p, c in zip(points, data):
            p.x, p.y = c.x, c.y

    def normalize_numpy(arr: Any) -> float:
        data = ffi.cast("Point *", ffi.from_buffer(arr, require_writable=True))
        return float(lib.normalize_points(ffi.new("VecPoint *", (data, len(arr)))))

    counter = lib.counter_new(0)  # one per run, never freed
    return {
        "add": lib.add,
        "method": Attr(lib, "counter_add"),
        "method argv": lambda k: (counter, k),
        "callback": Attr(lib, "call_n"),
        "callback argv": lambda n, fn: (n, ffi.callback("int64_t(int64_t)", fn)),  # made once
        "points": normalize_list,
        "points args": py_points,
        "rotate": rotate_list,
        "rotate args": py_points,
        "points numpy": normalize_numpy,
        "points numpy args": numpy_points,
        "sum": sum_list,
        "double": double_list,
        "str": lambda s: lib.str_len(u8(s.encode())),
        "bytes": lambda b: lib.bytes_sum(u8(b)),
        "buffer": lambda b: lib.bytes_sum(u8(b)),
        "nested": nested_sum,
    }


def pyo3() -> dict[str, Any]:
    import pyo3_bench as m

    return {
        "add": m.add,
        "method": Attr(m.Counter(0), "add"),
        "callback": Attr(m, "call_n"),
        "sum": m.sum_i64,
        "double": m.double_i64,
        "str": m.str_len,
        "bytes": m.bytes_sum,
        "buffer": lambda b: m.bytearray_sum(b) if isinstance(b, bytearray) else None,
        "nested": m.nested_sum,
        "points": m.normalize_points,
        "points args": lambda coords: [m.Point(x, y) for x, y in coords],
        # No "points numpy": PyO3 alone can't view a structured array (see README).
        "vec10": m.vec10,
        "hello": m.hello,
    }


def pyo3_abi3() -> dict[str, Any]:
    """The same PyO3 module built for the stable ABI (abi3-py310), as pyo2's accelerator is."""
    if not PYO3_ABI3.is_dir():
        raise ImportError(f"{PYO3_ABI3} not built")
    sys.path.insert(0, str(PYO3_ABI3))
    import pyo3_bench_abi3 as m  # type: ignore[import-not-found]

    return {
        "add": m.add,
        "sum": m.sum_i64,
        "double": m.double_i64,
        "str": m.str_len,
        "vec10": m.vec10,
        "hello": m.hello,
    }


def seed() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("pyo2_seed", SEED)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dll = module.RustDLL(str(LIB))
    # pyo2 0.1.3 writes PyVec.len as a u32 into a zeroed 16-byte struct: on a
    # little-endian machine today's Rust reads the same length from it.
    # pyo2 0.1.3 makes a new function object on every attribute access, as its
    # users' code (``dll.add(1, 2)``) does on every call: the lambdas keep that.
    return {
        "add": lambda a, b: dll.add(a, b),  # noqa: PLW0108
        "sum": lambda v: dll.sum_i64(v),  # noqa: PLW0108
        "double": lambda v: dll.double_i64(v),  # noqa: PLW0108
        "str": lambda s: dll.str_len(s),  # noqa: PLW0108
        "bytes": lambda b: dll.bytes_sum(b),  # noqa: PLW0108
        "buffer": None,  # pyo2 0.1.3 has no buffer support
        "nested": None,  # nor nested lists
    }


def pyo2_impls() -> dict[str, dict[str, Any]]:
    import pyo2

    dll = pyo2.RustDLL(LIB)
    declared = pyo2.RustDLL(LIB)
    for text in [
        "fn add(a: i64, b: i64) -> i64",
        "fn sum_i64(v: &PyVec<i64>) -> i64",
        "fn double_i64(v: &mut PyVec<i64>)",
        "fn str_len(s: &PyStr) -> usize",
        "fn bytes_sum(b: &PyVec<u8>) -> u64",
        "fn nested_sum(rows: &PyVec<&PyVec<i64>>) -> i64",
    ]:
        declared.declare(text)
    names = {
        "add": "add",
        "sum": "sum_i64",
        "double": "double_i64",
        "str": "str_len",
        "bytes": "bytes_sum",
        "buffer": "bytes_sum",
        "nested": "nested_sum",
    }
    exported: dict[str, Any] = {w: dll["ex_" + n] for w, n in names.items()}
    exported.update({"vec10": dll.ex_vec10, "hello": dll.ex_hello})
    # The accelerated functions (pyo2._accel, when built) fall back to the
    # pure-Python ones: measured too, as "pyo2 exported, pure".
    pure = {w: getattr(f, "fallback", f) for w, f in exported.items() if w in ACCELERATED}
    Point = dll.types.Point
    exported.update(
        {
            "points": dll.ex_normalize_points,
            "points args": lambda coords: [Point(x, y) for x, y in coords],
            "rotate": dll.ex_rotate_points,
            "rotate args": lambda coords: [Point(x, y) for x, y in coords],
            "points numpy": dll.ex_normalize_points,
            "points numpy args": lambda coords: numpy_points(coords).astype(Point.dtype),
        }
    )
    # A #[pyo2::class] method against the same work in an exported free
    # function, and a scoped callback (&mut dyn FnMut) against a stored one.
    exported["method"] = Attr(dll.types.Counter(0), "add")
    exported["callback"] = Attr(dll, "ex_call_n")
    return {
        "pyo2 inferred": {w: dll[n] for w, n in names.items()},
        "pyo2 declared": {w: declared[n] for w, n in names.items()},
        "pyo2 exported": exported,
        "pyo2 exported, pure": pure,
        "pyo2 exported, free fn": {"method": Attr(dll, "ex_counter_add")},
        "pyo2 exported, stored Callback": {"callback": Attr(dll, "ex_call_n_stored")},
    }


# ---------------------------------------------------------------------------
# Measuring.


#: The clock of the timed loops: wall time, or CPU time with ``--cpu``.
CLOCK: list[Callable[[], float]] = [time.perf_counter]


def per_call(fn: Callable[..., Any] | Attr, args: tuple[Any, ...], budget: float) -> float:
    """Seconds per call of ``fn(*args)`` (``target.name(*args)`` for an :class:`Attr`):
    the best of several repeats of a timed loop.

    The call is compiled into the loop itself, so no extra Python call is timed.
    """
    names = [f"a{i}" for i in range(len(args))]
    callee = f"fn.{fn.name}" if isinstance(fn, Attr) else "fn"
    target = fn.target if isinstance(fn, Attr) else fn
    timer = timeit.Timer(
        f"{callee}({', '.join(names)})", globals={"fn": target, **dict(zip(names, args))}, timer=CLOCK[0]
    )
    number, took = timer.autorange()
    number = max(1, round(number * budget / took))
    return min(timer.repeat(repeat=5, number=number)) / number


class Row:
    def __init__(self, workload: str, impl: str, seconds: float | None, n: int) -> None:
        self.workload, self.impl, self.seconds, self.n = workload, impl, seconds, n


def workloads(rng: random.Random, quick: bool) -> list[tuple[str, str, tuple[Any, ...], int]]:
    """(row label, implementation key, arguments, elements) for each measurement."""
    out: list[tuple[str, str, tuple[Any, ...], int]] = [("add(i64, i64)", "add", (1, 2), 1)]
    out.append(("method call add(1)", "method", (1,), 1))
    out.append(
        (f"callback round trip x{CALLBACK_CALLS:,}", "callback", (CALLBACK_CALLS, plus_one), CALLBACK_CALLS)
    )
    sizes = [10, 1_000, 100_000] + ([] if quick else [1_000_000])
    for n in sizes:
        data = [rng.randrange(MODULUS) for _ in range(n)]
        out.append((f"sum list[int] n={n:,}", "sum", (data,), n))
    for n in sizes:
        data = [rng.randrange(MODULUS) for _ in range(n)]
        out.append((f"x2 in place list[int] n={n:,}", "double", (data,), n))
    out.append(("Vec<i64> x10 returned", "vec10", (), 10))
    out.append(("short String returned", "hello", (), 1))
    for n in [10, 1_000_000]:
        text = "".join(rng.choice("abcdé€😀") for _ in range(n))
        out.append((f"str {n:,} chars", "str", (text,), n))
    mib = bytes(rng.randrange(256) for _ in range(1 << 20))
    out.append(("bytes 1 MiB", "bytes", (mib,), 1 << 20))
    ba = bytearray(mib)
    out.append(("bytearray 1 MiB", "buffer", (ba,), 1 << 20))
    out.append(("memoryview 1 MiB", "buffer", (memoryview(ba),), 1 << 20))
    arr = array("B", mib)
    out.append(("array('B') 1 MiB", "buffer", (arr,), 1 << 20))
    try:
        import numpy

        np_arr = numpy.frombuffer(bytearray(mib), dtype=numpy.uint8)
        out.append(("numpy uint8 1 MiB", "buffer", (np_arr,), 1 << 20))
    except ImportError:
        print("(numpy not installed: its row is skipped)", file=sys.stderr)
    rows = [[rng.randrange(MODULUS) for _ in range(100)] for _ in range(1000)]
    out.append(("nested 1000x100 sum", "nested", (rows,), 100_000))
    # The implementation's "points args" turns these into its own objects.
    coords = [(rng.uniform(-100, 100), rng.uniform(-100, 100)) for _ in range(100_000)]
    out.append(("normalize list[Point] n=100,000", "points", (coords,), 100_000))
    # Normalized points stay put from the second call on (nothing to write
    # back); a quarter turn changes every point on every call.
    out.append(("rotate list[Point] n=100,000", "rotate", (coords,), 100_000))
    if importlib.util.find_spec("numpy"):
        out.append(("normalize numpy Point n=100,000", "points numpy", (coords,), 100_000))
    return out


def import_and_load(repeats: int) -> list[Row]:
    """Milliseconds to import each binding and load the library, in fresh interpreters."""
    snippets = {
        PYO2 + " exported": f"import pyo2; dll = pyo2.RustDLL({str(LIB)!r}); dll.ex_add",
        "ctypes (hand)": f"import ctypes; lib = ctypes.CDLL({str(LIB)!r}); lib.add",
        "cffi (ABI)": (
            f"import cffi; ffi = cffi.FFI(); ffi.cdef('long add(long, long);'); ffi.dlopen({str(LIB)!r}).add"
        ),
        "PyO3": "import pyo3_bench; pyo3_bench.add",
    }
    # As users run it: with bytecode caches (PYTHONDONTWRITEBYTECODE would
    # time compiling every module), warmed by one run that is not counted.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    rows = []
    for impl, code in snippets.items():
        clock = f"time.{CLOCK[0].__name__}"
        timed = f"import time; t = {clock}(); {code}; print({clock}() - t)"
        times = []
        for i in range(repeats + 1):
            out = subprocess.run(
                [sys.executable, "-c", timed], capture_output=True, text=True, check=True, env=env
            )
            if i:
                times.append(float(out.stdout))
        rows.append(Row("import + load library", impl, statistics.median(times), 1))
    return rows


#: The label of the fresh-process rows (see :func:`fresh_process`).
FRESH = "sum list[int] n=100,000, fresh process"


def fresh_process(repeats: int) -> list[Row]:
    """The sum of a 100k list in fresh interpreters: the best of the first 3
    calls, the median over ``repeats`` interpreters. A long timed loop in one
    process hides what a new process pays (its allocator not yet holding
    large blocks), which conversions that allocate more pay more of."""
    code = (
        f"import sys, time, random; sys.path.insert(0, {str(HERE)!r}); import bench\n"
        "impl = sys.argv[1]\n"
        "fns = bench.hand_ctypes() if impl == 'ctypes (hand)' else bench.pyo3() if impl == 'PyO3' "
        "else bench.pyo2_impls()[impl]\n"
        "fn = fns['sum']\n"
        "data = [random.randrange(bench.MODULUS) for _ in range(100_000)]\n"
        "times = []\n"
        "for _ in range(3):\n"
        f"    t = time.{CLOCK[0].__name__}(); fn(data); times.append(time.{CLOCK[0].__name__}() - t)\n"
        "print(min(times))\n"
    )
    rows = []
    for impl in ("ctypes (hand)", "PyO3", "pyo2 declared", "pyo2 exported", "pyo2 exported, pure"):
        times = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, "-c", code, impl], capture_output=True, text=True, check=False
            )
            if out.returncode:
                print(
                    f"({impl}: fresh-process row unavailable: {out.stderr.strip()[-200:]})", file=sys.stderr
                )
                break
            times.append(float(out.stdout))
        if times:
            rows.append(Row(FRESH, impl, statistics.median(times), 100_000))
    return rows


def call(fn: Callable[..., Any] | Attr, args: tuple[Any, ...]) -> Any:
    return getattr(fn.target, fn.name)(*args) if isinstance(fn, Attr) else fn(*args)


def check_results(impls: dict[str, dict[str, Any]]) -> None:
    """Every implementation computes the same thing (pyo2 inferred returns None)."""
    rng = random.Random(1)
    lst = [rng.randrange(MODULUS) for _ in range(1000)]
    rows = [lst[i : i + 10] for i in range(0, 1000, 10)]
    text = "héllo wörld 😀"
    blob = bytes(range(256)) * 4
    expected = {
        "add": 3,
        "sum": sum(lst),
        "str": len(text),
        "bytes": sum(blob),
        "buffer": sum(blob),
        "nested": sum(lst),
    }
    for impl, fns in impls.items():
        for key, want in expected.items():
            fn = fns.get(key)
            if fn is None:
                continue
            arg: Any = {"add": (1, 2), "sum": (list(lst),), "str": (text,), "bytes": (blob,)}.get(key)
            if key == "buffer":
                arg = (bytearray(blob),)
            if key == "nested":
                arg = ([list(r) for r in rows],)
            got = fn(*arg)
            if got is not None and int(got) != want:
                raise SystemExit(f"{impl} computed {got} for {key}, expected {want}")
        if "vec10" in fns and fns["vec10"]() != list(range(10)):
            raise SystemExit(f"{impl} returned the wrong Vec")
        if "hello" in fns and fns["hello"]() != "hello, world":
            raise SystemExit(f"{impl} returned the wrong String")
        if "method" in fns:
            method, argv = fns["method"], fns.get("method argv", lambda k: (k,))
            before = call(method, argv(0))
            if call(method, argv(5)) != before + 5:
                raise SystemExit(f"{impl} added wrongly")
        if "callback" in fns:
            argv = fns.get("callback argv", lambda n, fn: (n, fn))
            got = call(fns["callback"], argv(100, plus_one))
            if got != sum(range(1, 101)):
                raise SystemExit(f"{impl} computed {got} for the callback, expected {sum(range(1, 101))}")
        if "double" not in fns:
            continue
        copy = list(lst)
        fns["double"](copy)
        if copy != [x * 2 % MODULUS for x in lst]:
            raise SystemExit(f"{impl} doubled wrongly")
        for key in ("points", "points numpy"):
            if key not in fns or (key == "points numpy" and not importlib.util.find_spec("numpy")):
                continue
            points = fns[key + " args"]([(3.0, 4.0), (0.0, 2.0), (0.0, 0.0)])
            longest = fns[key](points)
            got = points.tolist() if key == "points numpy" else [(p.x, p.y) for p in points]
            if longest != 5.0 or got != [(0.6, 0.8), (0.0, 1.0), (0.0, 0.0)]:
                raise SystemExit(f"{impl} normalized wrongly ({key}): {longest}, {got}")
        if "rotate" in fns:
            points = fns["rotate args"]([(3.0, 4.0), (0.0, 2.0)])
            fns["rotate"](points)
            if [(p.x, p.y) for p in points] != [(-4.0, 3.0), (-2.0, 0.0)]:
                raise SystemExit(f"{impl} rotated wrongly: {[(p.x, p.y) for p in points]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter timing (a smoke run)")
    parser.add_argument("--markdown", type=Path, help="also write the results as a Markdown table here")
    parser.add_argument(
        "--only",
        metavar="WORKLOAD",
        action="append",
        help="measure only the workloads whose label contains this text (repeatable)",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time the loops in CPU time (time.process_time): steadier on a machine shared with other jobs",
    )
    args = parser.parse_args()
    if args.cpu:
        CLOCK[0] = time.process_time

    def selected(label: str) -> bool:
        return not args.only or any(text in label for text in args.only)

    budget = 0.05 if args.quick else 0.4

    impls: dict[str, dict[str, Any]] = {"ctypes (hand)": hand_ctypes()}
    for name, make in [
        ("cffi (ABI)", cffi_abi),
        ("PyO3", pyo3),
        ("PyO3 abi3", pyo3_abi3),
        ("pyo2 0.1.3", seed),
    ]:
        try:
            impls[name] = make()
        except (ImportError, FileNotFoundError, OSError) as e:
            print(f"({name} unavailable: {e})", file=sys.stderr)
    impls.update(pyo2_impls())
    check_results({k: v for k, v in impls.items() if k != "pyo2 0.1.3"})

    rng = random.Random(0)
    results: list[Row] = []
    for label, key, call_args, n in workloads(rng, args.quick):
        if not selected(label):
            continue
        for impl, fns in impls.items():
            fn = fns.get(key)
            if fn is None and impl in EXTRAS:
                continue
            if fn is None or (impl == "PyO3" and key == "buffer" and not isinstance(call_args[0], bytearray)):
                results.append(Row(label, impl, None, n))
                continue
            make_args = fns.get(key + " args")
            make_argv = fns.get(key + " argv")  # the whole argument tuple
            if make_argv is not None:
                impl_args = make_argv(*call_args)
            else:
                impl_args = call_args if make_args is None else (make_args(*call_args),)
            if impl == "pyo2 0.1.3" and key in ("sum", "double") and n > 100_000:
                seconds = per_call(fn, impl_args, 0.05)  # minutes otherwise
            else:
                seconds = per_call(fn, impl_args, budget)
            results.append(Row(label, impl, seconds, n))
        print(f"  measured {label}", file=sys.stderr)
    if selected(FRESH):
        results += fresh_process(3 if args.quick else 9)
    if selected("import + load library"):
        results += import_and_load(3 if args.quick else 11)
    report(results, args.markdown)


def fmt_time(seconds: float) -> str:
    ns = seconds * 1e9
    if ns < 10_000:
        return f"{ns:,.0f} ns"
    if ns < 10_000_000:
        return f"{ns / 1000:,.1f} µs"
    return f"{ns / 1e6:,.1f} ms"


def report(results: list[Row], markdown: Path | None) -> None:
    header = ["workload", "implementation", "per call", "per element", "vs ctypes", "vs best alternative"]
    lines = []
    by_workload: dict[str, list[Row]] = {}
    for row in results:
        by_workload.setdefault(row.workload, []).append(row)
    for workload, rows in by_workload.items():
        base = next((r.seconds for r in rows if r.impl == "ctypes (hand)"), None)
        alts = [r for r in rows if r.impl in ALTERNATIVES and r.seconds is not None]
        best = min(alts, key=lambda r: r.seconds or 0.0) if alts else None
        for r in rows:
            if r.seconds is None:
                lines.append([workload, r.impl, "n/a", "", "", ""])
                continue
            per_elem = f"{r.seconds / r.n * 1e9:,.1f} ns" if r.n > 1 else ""
            if workload.startswith("import"):
                cells = [workload, r.impl, f"{r.seconds * 1000:.1f} ms", "", "", ""]
            else:
                cells = [workload, r.impl, fmt_time(r.seconds), per_elem, "", ""]
            if base:
                cells[4] = f"{r.seconds / base:.2f}x"
            if best and best.seconds:
                cells[5] = f"{r.seconds / best.seconds:.2f}x ({best.impl})"
            lines.append(cells)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    python = f"{platform.python_implementation()} {platform.python_version()}"
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {python}"
    print(f"\npyo2 benchmarks, {time.strftime('%Y-%m-%d')}, {machine}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    previous = None
    for line in lines:
        if previous is not None and line[0] != previous:
            print()
        previous = line[0]
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
    goals(results)
    if markdown:
        md = [f"Measured {time.strftime('%Y-%m-%d')} on {machine} (`./benchmarks/run`).", ""]
        md.append("| " + " | ".join(header) + " |")
        md.append("|" + "---|" * len(header))
        md += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in lines]
        markdown.write_text("\n".join(md) + "\n")


def goals(results: list[Row]) -> None:
    """The targets of the speed issue, checked against this run."""
    t = {(r.workload, r.impl): r.seconds for r in results if r.seconds is not None}

    def ratio(workload: str, impl: str, base: str = "ctypes (hand)") -> float:
        return (t[(workload, impl)] or 0) / (t[(workload, base)] or 1)

    checks: list[tuple[str, float, float]] = []
    records = [
        ("normalize list[Point] n=100,000", 1.5),
        ("rotate list[Point] n=100,000", 1.5),
        ("normalize numpy Point n=100,000", 1.2),
    ]
    for w, limit in records:
        if (w, "pyo2 exported") in t and (w, "ctypes (hand)") in t:
            checks.append((f"{w}: pyo2 exported <= {limit}x ctypes", ratio(w, "pyo2 exported"), limit))
    w = "method call add(1)"
    if (w, "pyo2 exported") in t and (w, "pyo2 exported, free fn") in t:
        method = ratio(w, "pyo2 exported", "pyo2 exported, free fn")
        checks.append((f"{w}: #[pyo2::class] method <= 1.3x exported free fn", method, 1.3))
    w = f"callback round trip x{CALLBACK_CALLS:,}"
    if (w, "pyo2 exported") in t and (w, "ctypes (hand)") in t:
        checks.append((f"{w}: pyo2 &mut dyn FnMut <= 1.5x ctypes CFUNCTYPE", ratio(w, "pyo2 exported"), 1.5))
    full = ["add(i64, i64)", "sum list[int] n=100,000", "x2 in place list[int] n=100,000"]
    full.append("nested 1000x100 sum")
    checks += accelerator_goals(t)
    if not all((w, "ctypes (hand)") in t for w in full):  # a run with --only: the records goals alone
        report_goals(checks)
        return
    for impl in ("pyo2 declared", "pyo2 exported"):
        checks.append((f"add: {impl} <= 1.3x ctypes", ratio("add(i64, i64)", impl), 1.3))
    for w in ("sum list[int] n=100,000", "x2 in place list[int] n=100,000"):
        for impl in ("pyo2 inferred", "pyo2 declared", "pyo2 exported"):
            checks.append((f"{w}: {impl} <= 1.5x ctypes", ratio(w, impl), 1.5))
        if (w, "pyo2 0.1.3") in t:
            checks.append(
                (f"{w}: pyo2 inferred >= 10x faster than 0.1.3", ratio(w, "pyo2 inferred", "pyo2 0.1.3"), 0.1)
            )
    for impl in ("pyo2 inferred", "pyo2 declared", "pyo2 exported"):
        ns = t[("nested 1000x100 sum", impl)] / 100_000 * 1e9
        checks.append((f"nested: {impl} <= 30 ns/element", ns, 30.0))
    for w in ("bytearray 1 MiB", "memoryview 1 MiB", "array('B') 1 MiB", "numpy uint8 1 MiB"):
        if (w, "pyo2 inferred") in t:
            for impl in ("pyo2 inferred", "pyo2 declared", "pyo2 exported"):
                checks.append((f"{w}: {impl} <= 1.2x ctypes from_buffer", ratio(w, impl), 1.2))
    if ("import + load library", PYO2 + " exported") in t:
        load = t[("import + load library", PYO2 + " exported")] * 1000
        checks.append(("import pyo2 + load a library < 30 ms", load, 30.0))
    report_goals(checks)


def accelerator_goals(t: dict[tuple[str, str], float]) -> list[tuple[str, float, float]]:
    """Issue 14's goals: "pyo2 exported" (accelerated when pyo2._accel is
    built) against PyO3 (version-specific), the pure path against PyO3 too."""
    checks: list[tuple[str, float, float]] = []
    goals = [
        ("add(i64, i64)", "pyo2 exported", 2.5),
        ("sum list[int] n=10", "pyo2 exported", 1.2),
        ("sum list[int] n=100,000", "pyo2 exported", 1.0),
        ("x2 in place list[int] n=100,000", "pyo2 exported", 1.2),
        ("Vec<i64> x10 returned", "pyo2 exported", 2.0),
        ("short String returned", "pyo2 exported", 2.0),
        ("Vec<i64> x10 returned", "pyo2 exported, pure", 3.0),
        ("short String returned", "pyo2 exported, pure", 3.0),
    ]
    for w, impl, limit in goals:
        if (w, impl) in t and (w, "PyO3") in t:
            mine, theirs = t[(w, impl)] or 0.0, t[(w, "PyO3")] or 1.0
            checks.append((f"{w}: {impl} <= {limit}x PyO3", mine / theirs, limit))
    # The pure-Python path ("pyo2 exported, pure"; PYO2_PURE=1) against hand ctypes.
    pure = "pyo2 exported, pure"
    for w, limit in [
        ("add(i64, i64)", 1.0),
        ("sum list[int] n=10", 1.1),
        ("sum list[int] n=100,000", 0.7),
        (FRESH, 0.7),
        ("x2 in place list[int] n=100,000", 1.0),
    ]:
        if (w, pure) in t and (w, "ctypes (hand)") in t:
            mine, theirs = t[(w, pure)] or 0.0, t[(w, "ctypes (hand)")] or 1.0
            checks.append((f"{w}: {pure} <= {limit}x ctypes", mine / theirs, limit))
    if ("nested 1000x100 sum", "pyo2 inferred") in t:
        ns = t[("nested 1000x100 sum", "pyo2 inferred")] / 100_000 * 1e9
        checks.append(("nested: pyo2 inferred <= 25 ns/element", ns, 25.0))
    if ("import + load library", PYO2 + " exported") in t:
        load = t[("import + load library", PYO2 + " exported")] * 1000
        checks.append(("import pyo2 + load a library < 20 ms", load, 20.0))
    return checks


def report_goals(checks: list[tuple[str, float, float]]) -> None:
    print("\ngoals")
    for text, value, limit in checks:
        verdict = "ok  " if value <= limit else "MISS"
        print(f"  {verdict} {text}: {value:.2f}")


if __name__ == "__main__":
    main()
