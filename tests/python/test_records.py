"""Records (issue 12): ``#[derive(pyo2::Record)]`` structs as Python classes,
duck-typed inputs, ``&mut`` write-back, lists and numpy arrays of records,
owned records, type identity across libraries; against the fixture's
records (tests/fixture/src/records.rs) and tests/fixture-a, tests/fixture-b."""

from __future__ import annotations

import dataclasses
import math
import pickle
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyo2
from support import library, run_python

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@pytest.fixture(scope="module")
def lib(fixture_path: Path) -> pyo2.RustDLL:
    return pyo2.RustDLL(fixture_path)


@dataclasses.dataclass
class DPoint:
    x: float
    y: float


@dataclasses.dataclass
class DPerson:
    name: str
    age: int
    tags: list[str]


# ---------------------------------------------------------------------------
# The generated classes.


def test_types_namespace(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    assert Point is pyo2.types(lib).Point is lib.types["Point"]
    assert {"Point", "Person", "Segment", "Pixel", "Shape", "Output"} <= set(lib.types.names())
    assert "Point" in dir(lib.types)
    with pytest.raises(AttributeError, match="exports no record 'Nope'"):
        lib.types.Nope  # noqa: B018
    assert "types" in dir(lib)


def test_generated_class(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    p = Point(1.0, y=2.0)
    assert p == Point(x=1.0, y=2.0) and p != Point(1.0, 3.0)
    assert repr(p) == "Point(x=1.0, y=2.0)"
    assert Point.__slots__ == ("x", "y")
    assert Point.__match_args__ == ("x", "y")
    assert "A point in the plane." in (Point.__doc__ or "")
    with pytest.raises(AttributeError):
        p.z = 1
    with pytest.raises(TypeError, match="missing"):
        Point(1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        Point(1.0, 2.0, z=3)
    if sys.version_info >= (3, 10):  # a match statement (exec'd: Python 3.9 can't parse one)
        scope: dict[str, Any] = {"p": p, "Point": Point}
        exec("match p:\n    case Point(x, y):\n        found = (x, y)", scope)
        assert scope["found"] == (1.0, 2.0)
    assert pickle.loads(pickle.dumps(p)) == p
    s = lib.rec_segment(p, Point(3.0, 4.0), True)
    assert pickle.loads(pickle.dumps(s)) == s


def test_pickle_in_a_fresh_interpreter(lib: pyo2.RustDLL) -> None:
    """The layout travels with the pickle: a process that never loaded the library unpickles it."""
    s = lib.rec_segment(lib.types.Point(1.0, 2.0), lib.types.Point(3.0, 4.0), False)
    data = pickle.dumps(s)
    code = f"import pickle; s = pickle.loads({data!r}); print(type(s).__name__, s.a.x, s.b.y, s.closed)"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Segment", "1.0", "4.0", "False"]


def test_dtype(lib: pyo2.RustDLL) -> None:
    np = pytest.importorskip("numpy")
    assert lib.types.Point.dtype == np.dtype([("x", "f8"), ("y", "f8")], align=True)
    seg = lib.types.Segment.dtype
    assert seg.itemsize == 40 and seg.fields["closed"][1] == 32
    assert lib.types.Pixel.dtype.itemsize == 16
    with pytest.raises(TypeError, match="owned record"):
        lib.types.Person.dtype  # noqa: B018


# ---------------------------------------------------------------------------
# Plain records in and out.


def test_duck_typed_inputs(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    expected = Point(1.0, 2.0)
    for a in (Point(0.0, 0.0), DPoint(0.0, 0.0), {"x": 0.0, "y": 0}, (0, 0.0)):
        for b in (Point(2.0, 4.0), DPoint(2.0, 4.0), {"x": 2, "y": 4.0}, (2.0, 4.0)):
            assert lib.midpoint(a, b) == expected


def test_nested_and_arrays(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    s = lib.rec_segment({"x": 0, "y": 0}, (3, 4), True)
    assert s == lib.types.Segment(Point(0.0, 0.0), Point(3.0, 4.0), True)
    assert lib.rec_length(s) == 5.0
    assert lib.rec_length({"a": (0, 0), "b": DPoint(6, 8), "closed": False}) == 10.0
    px = lib.rec_brighten({"rgb": [1, 2, 250], "weights": (0.5, 1.5), "id": 7}, 10)
    assert px == lib.types.Pixel([11, 12, 255], [0.5, 1.5], 7)


def test_mut_record_write_back_keeps_identity(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    for p in (Point(1.0, 2.0), DPoint(1.0, 2.0), {"x": 1.0, "y": 2.0}):
        before = id(p)
        assert lib.rec_translate(p, 1.0, -1.0) is None
        assert id(p) == before
        got = (p["x"], p["y"]) if isinstance(p, dict) else (p.x, p.y)
        assert got == (2.0, 1.0)
    with pytest.raises(TypeError, match="immutable"):
        lib.rec_translate((1.0, 2.0), 1.0, 1.0)


def test_list_of_records_written_back(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    a, b, c = Point(3.0, 4.0), DPoint(0.0, 2.0), {"x": 0.0, "y": 0.0}
    points: list[Any] = [a, b, c]
    assert lib.normalize(points) == 5.0
    assert points[0] is a and points[1] is b and points[2] is c
    assert (a.x, a.y) == (0.6, 0.8) and (b.x, b.y) == (0.0, 1.0) and c == {"x": 0.0, "y": 0.0}
    pixels = [lib.types.Pixel([1, 2, 3], [1.0, 2.0], 1)]
    lib.rec_swap_weights(pixels)
    assert pixels[0].weights == [2.0, 1.0]
    with pytest.raises(TypeError, match="immutable"):
        lib.normalize((a,))
    with pytest.raises(ValueError, match="twice"):
        lib.normalize([a, a])


class _Unfit:
    """Not a number: a refused field value (weakref-able)."""


def test_a_refused_field_dies_without_the_collector(lib: pyo2.RustDLL) -> None:
    """A refused field value dies with its last reference, the collector off:
    the refusal keeps no exception, traceback or frame in a reference cycle."""
    if sys.implementation.name != "cpython":
        pytest.skip("without reference counting, an object dies only when the collector runs")
    import gc
    import weakref

    Point = lib.types.Point
    calls: list[Any] = [
        lambda bad: lib.midpoint({"x": 0.0, "y": bad}, (1.0, 1.0)),
        lambda bad: lib.normalize([Point(1.0, 1.0), {"x": bad, "y": 0.0}]),
        lambda bad: lib.rec_length({"a": (0, 0), "b": (bad, 1.0), "closed": False}),
    ]
    enabled = gc.isenabled()
    gc.disable()
    try:
        for call in calls:
            for _ in range(3):
                bad = _Unfit()
                ref = weakref.ref(bad)
                with pytest.raises(TypeError, match="_Unfit"):
                    call(bad)
                del bad
                assert ref() is None
    finally:
        if enabled:
            gc.enable()


def test_returns(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    assert lib.rec_grid(3) == [Point(0.0, 0.0), Point(1.0, 1.0), Point(2.0, 4.0)]
    assert lib.rec_centroid([(0, 0), (2, 2)], None) == Point(1.0, 1.0)
    assert lib.rec_centroid([(0, 0), (2, 2)], (2, 3)) == Point(2.0, 3.0)
    assert lib.rec_centroid([], None) is None


def test_bind(lib: pyo2.RustDLL) -> None:
    lib.types.bind("Point", DPoint)
    try:
        assert lib.midpoint((0, 0), (2, 2)) == DPoint(1.0, 1.0)
        assert lib.rec_grid(2) == [DPoint(0.0, 0.0), DPoint(1.0, 1.0)]
    finally:
        lib.types.bind("Point", None)
    assert type(lib.midpoint((0, 0), (2, 2))) is lib.types.Point


# ---------------------------------------------------------------------------
# numpy structured arrays.


def test_numpy_zero_copy(lib: pyo2.RustDLL) -> None:
    np = pytest.importorskip("numpy")
    arr = np.array([(3.0, 4.0), (0.0, 2.0)], dtype=lib.types.Point.dtype)
    view = arr[:]
    assert lib.normalize(arr) == 5.0
    assert np.shares_memory(arr, view)
    assert arr.tolist() == [(0.6, 0.8), (0.0, 1.0)]
    assert lib.rec_centroid.__name__ == "rec_centroid"
    ro = arr.copy()
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="read-only"):
        lib.normalize(ro)
    pixels = np.zeros(2, dtype=lib.types.Pixel.dtype)
    pixels["weights"] = [[1.0, 2.0], [3.0, 4.0]]
    lib.rec_swap_weights(pixels)
    assert pixels["weights"].tolist() == [[2.0, 1.0], [4.0, 3.0]]


def test_numpy_layout_mismatch(lib: pyo2.RustDLL) -> None:
    np = pytest.importorskip("numpy")
    packed = np.zeros(2, dtype=[("x", "f4"), ("y", "f8")])
    with pytest.raises(
        TypeError, match=r"another layout than Point: got itemsize 12: x: float32 @0.*expected itemsize 16"
    ):
        lib.normalize(packed)


# ---------------------------------------------------------------------------
# Owned records.


def test_owned_records(lib: pyo2.RustDLL) -> None:
    Person = lib.types.Person
    ann = lib.rec_person("Ann", 30, ["a", "b"])
    assert ann == Person("Ann", 30, ["a", "b"])
    assert lib.rec_birthday(ann) == Person("Ann", 31, ["a", "b", "31th"])
    assert ann.age == 30  # by value: a copy
    bob = DPerson("Bob", 40, [])
    assert lib.oldest([ann, bob, {"name": "Cy", "age": 40, "tags": ()}]) == Person("Bob", 40, [])
    assert lib.oldest([]) is None
    assert lib.rec_names([ann, bob]) == ["Ann", "Bob"]
    assert lib.rec_maybe_person(None) is None
    assert lib.rec_maybe_person(bob) == Person("Bob?", 40, [])
    assert lib.rec_older_than([ann, bob], 35) == [Person("Bob", 40, [])]
    assert lib.rec_checked_person("Z", 3) == Person("Z", 3, [])
    with pytest.raises(pyo2.RustError, match="needs a name"):
        lib.rec_checked_person("", 3)


def test_record_with_every_owned_field(lib: pyo2.RustDLL) -> None:
    Point, Person, Shape = lib.types.Point, lib.types.Person, lib.types.Shape
    shape = Shape(
        label="L",
        outline=[Point(1.0, 2.0), (3, 4)],
        corners=[1, 2, 3, 4],
        owner={"name": "O", "age": 1, "tags": ["t"]},
        scores=[[1.0], []],
        origin=(5, 6),
        pair=(1, "p"),
    )
    out = lib.rec_shape(shape)
    assert out == Shape(
        "L'",
        [Point(3.0, 4.0), Point(1.0, 2.0)],
        [2, 4, 6, 8],
        Person("O", 1, ["t"]),
        [[1.0], []],
        Point(5.0, 6.0),
        (2, "p"),
    )
    assert pickle.loads(pickle.dumps(out)) == out


# ---------------------------------------------------------------------------
# Type identity across libraries.


@pytest.fixture(scope="module")
def ab() -> tuple[pyo2.RustDLL, pyo2.RustDLL]:
    return (
        pyo2.RustDLL(library("pyo2-fixture-a", "pyo2_fixture_a")),
        pyo2.RustDLL(library("pyo2-fixture-b", "pyo2_fixture_b")),
    )


def test_one_class_per_layout(ab: tuple[pyo2.RustDLL, pyo2.RustDLL]) -> None:
    a, b = ab
    assert a.types.Output is b.types.Output
    made = a.a_make(1.0, 2.0)
    assert type(made) is b.types.Output
    swapped = b.b_swap(made)
    assert a.a_sum(swapped) == 3.0 and (swapped.x, swapped.y) == (2.0, 1.0)
    outs = [made, swapped]
    b.b_scale(outs, 2.0)
    assert outs == [a.types.Output(2.0, 4.0), a.types.Output(4.0, 2.0)]


def test_same_name_other_layout(lib: pyo2.RustDLL, ab: tuple[pyo2.RustDLL, pyo2.RustDLL]) -> None:
    a, _ = ab
    mine = lib.types.Output
    assert mine is not a.types.Output
    three = lib.rec_output3(1.0)
    with pytest.raises(
        TypeError, match=r"another Output: its field 'z' \(f64 @16\) is not in this one"
    ) as info:
        a.a_sum(three)
    assert "x: f64 @0, y: f64 @8" in str(info.value)
    with pytest.raises(TypeError, match="another Output"):
        lib.rec_output3.__call__  # noqa: B018  (only the call below raises)
        lib_sum(a, lib)


def lib_sum(a: pyo2.RustDLL, lib: pyo2.RustDLL) -> None:
    a.a_sum(lib.types.Output(1.0, 2.0, 3.0))


# ---------------------------------------------------------------------------
# Errors: the path, the exception, and no argument changed.


def test_errors_name_the_path(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    points: list[Any] = [Point(1.0, 1.0), Point(2.0, 2.0), {"x": 1.0}, (1, 2)]
    snapshot = [Point(1.0, 1.0), Point(2.0, 2.0), {"x": 1.0}, (1, 2)]
    with pytest.raises(
        TypeError,
        match=r"normalize\(\): parameter 'points' \(&mut \[Point\]\): "
        r"points\[2\]\.y \(f64\): missing field 'y'",
    ):
        lib.normalize(points)
    assert points == snapshot
    points[2:] = [{"x": 1.0, "y": "a"}, {"x": 1, "y": 2}]
    with pytest.raises(TypeError, match=r"points\[2\]\.y \(f64\): got str"):
        lib.normalize(points)
    assert points[:2] == snapshot[:2]
    with pytest.raises(
        OverflowError,
        match=r"rec_brighten\(\): parameter 'p' \(Pixel\): p\.rgb\[2\] \(u8\): 256 is out of range",
    ):
        lib.rec_brighten({"rgb": [1, 2, 256], "weights": [0.0, 0.0], "id": 1}, 1)
    with pytest.raises(TypeError, match=r"p\.id \(u16\): got float"):
        lib.rec_brighten({"rgb": [1, 2, 3], "weights": [0.0, 0.0], "id": 1.5}, 1)
    with pytest.raises(ValueError, match=r"p\.rgb \(\[u8; 3\]\): got 2 items, expected 3"):
        lib.rec_brighten({"rgb": [1, 2], "weights": [0.0, 0.0], "id": 1}, 1)
    with pytest.raises(OverflowError, match=r"s\.closed \(bool\)"):
        lib.rec_length({"a": (0, 0), "b": (1, 1), "closed": 2})
    with pytest.raises(TypeError, match=r"people\[0\]\.tags\[1\] \(String\): got int"):
        lib.rec_names([{"name": "a", "age": 1, "tags": ["x", 2]}])
    with pytest.raises(OverflowError, match=r"people\[0\]\.age \(u8\): 300 is out of range"):
        lib.rec_names([DPerson("a", 300, [])])
    with pytest.raises(TypeError, match=r"expected a Point"):
        lib.midpoint([1.0, 2.0], (1.0, 2.0))
    with pytest.raises(TypeError, match=r"a tuple of 3 items, Point has 2 fields"):
        lib.midpoint((1.0, 2.0, 3.0), (1.0, 2.0))


class Lying:
    """A record whose getter answers differently each time it is read."""

    def __init__(self) -> None:
        self.reads = 0
        self.y = 1.0

    @property
    def x(self) -> float:
        self.reads += 1
        return float(self.reads)


class LyingDict(dict[str, Any]):
    def __getitem__(self, key: str) -> Any:
        return "lie"

    def get(self, key: str, default: Any = None) -> Any:
        return "lie"


def test_lying_getters_are_read_once(lib: pyo2.RustDLL) -> None:
    p = Lying()
    # One read per field and call: the value Rust got is the first one.
    assert lib.midpoint(p, (1.0, 1.0)) == lib.types.Point(1.0, 1.0)
    assert p.reads == 1
    # &mut: the write-back reads again; a getter that changed is a change during the call.
    with pytest.raises(RuntimeError, match="changed during the call"):
        lib.rec_translate(p, 1.0, 1.0)
    assert p.y == 1.0


def test_dict_subclass_is_read_through_dict(lib: pyo2.RustDLL) -> None:
    d = LyingDict(x=1.0, y=3.0)
    assert lib.midpoint(d, (1.0, 1.0)) == lib.types.Point(1.0, 2.0)
    lib.rec_translate(d, 1.0, 1.0)
    assert dict(d) == {"x": 2.0, "y": 4.0}


def test_change_during_the_call_is_detected(lib: pyo2.RustDLL) -> None:
    """A record changed while Rust runs (here: by the conversion of a later
    item, which runs Python code) writes nothing back."""
    Point = lib.types.Point
    a = Point(3.0, 4.0)

    class Sneaky:
        y = 0.0

        @property
        def x(self) -> float:
            a.x = 30.0  # changes an item already converted
            return 1.0

    points: list[Any] = [a, Sneaky()]
    with pytest.raises(RuntimeError, match="changed during the call"):
        lib.normalize(points)
    assert (a.x, a.y) == (30.0, 4.0)


def test_frozen_dataclass_writes_nothing(lib: pyo2.RustDLL) -> None:
    @dataclasses.dataclass(frozen=True)
    class Frozen:
        x: float
        y: float

    d = DPoint(1.0, 1.0)
    f = Frozen(1.0, 1.0)
    with pytest.raises(TypeError, match=r"can't be written back.*nothing was written back"):
        lib.normalize([d, f])
    assert (d.x, d.y) == (1.0, 1.0) and f == Frozen(1.0, 1.0)


def test_threads_share_records(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                pts = [Point(3.0, 4.0) for _ in range(10)]
                lib.normalize(pts)
                assert pts[0] == Point(0.6000000000000001, 0.8) or pts[0] == Point(0.6, 0.8)
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# ---------------------------------------------------------------------------
# Hypothesis round trips.

_FIXTURE: list[pyo2.RustDLL] = []


def _lib() -> pyo2.RustDLL:
    if not _FIXTURE:
        _FIXTURE.append(pyo2.RustDLL(library("pyo2-fixture", "pyo2_fixture")))
    return _FIXTURE[0]


@given(st.lists(st.tuples(finite, finite), max_size=30))
def test_normalize_round_trip(pairs: list[tuple[float, float]]) -> None:
    lib = _lib()
    Point = lib.types.Point
    points = [Point(x, y) for x, y in pairs]
    dicts = [{"x": x, "y": y} for x, y in pairs]
    a = lib.normalize(points)
    b = lib.normalize(dicts)
    assert a == b or (math.isnan(a) and math.isnan(b))
    assert [(p.x, p.y) for p in points] == [(d["x"], d["y"]) for d in dicts]


@given(st.lists(st.tuples(finite, finite), max_size=30))
def test_numpy_matches_lists(pairs: list[tuple[float, float]]) -> None:
    np = pytest.importorskip("numpy")
    lib = _lib()
    arr = np.array(pairs, dtype=lib.types.Point.dtype)
    points = [lib.types.Point(x, y) for x, y in pairs]
    lib.normalize(arr)
    lib.normalize(points)
    assert arr.tolist() == [(p.x, p.y) for p in points]


@given(text, st.integers(0, 255), st.lists(text, max_size=5))
def test_person_round_trip(name: str, age: int, tags: list[str]) -> None:
    lib = _lib()
    p = lib.rec_person(name, age, tags)
    assert (p.name, p.age, p.tags) == (name, age, tags)
    older = lib.rec_birthday(DPerson(name, age, tags))
    assert older.age == min(age + 1, 255) and older.tags == [*tags, f"{older.age}th"]


@given(st.data())
def test_shape_round_trip(data: st.DataObject) -> None:
    from pyo2.testing import values

    lib = _lib()
    sig = lib.rec_shape.signature
    assert sig is not None
    shape = data.draw(values(sig.params[0][1], max_size=4))
    out = lib.rec_shape(shape)
    assert out.corners == [(2 * c + 2**31) % 2**32 - 2**31 for c in shape.corners]  # i32 wraps
    assert repr(out.outline) == repr(list(reversed(shape.outline)))  # repr: NaN equals NaN
    assert repr(out.owner) == repr(shape.owner)
    assert out.pair == ((shape.pair[0] + 1) % 256, shape.pair[1])


@given(st.data())
def test_testing_draws_records(data: st.DataObject) -> None:
    from pyo2.testing import arguments

    lib = _lib()
    a, b = data.draw(arguments(lib.midpoint))
    assert type(a) is lib.types.Point
    lib.midpoint(a, b)


# ---------------------------------------------------------------------------
# Memory.


def test_memory_is_flat(fixture_path: Path) -> None:
    """100k calls returning records and Vec<String>, a fifth of them raising, in a fresh interpreter."""
    code = textwrap.dedent(
        f"""
        import gc, resource
        import pyo2
        lib = pyo2.RustDLL({str(fixture_path)!r})
        P = lib.types.Point

        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * resource.getpagesize()

        def burst(n):
            for i in range(n):
                k = i % 10
                if k < 3:
                    lib.midpoint(P(1.0, 2.0), (3.0, 4.0))
                elif k < 5:
                    lib.words("a b c")
                elif k < 7:
                    lib.rec_person("Ann", 3, ["x", "y"])
                elif k == 7:
                    lib.rec_grid(5)
                elif k == 8:
                    try:
                        lib.rec_panic_after(4)
                    except pyo2.RustPanic:
                        pass
                else:
                    try:
                        lib.normalize([P(1.0, 1.0), {{"x": "bad", "y": 0}}])
                    except TypeError:
                        pass

        burst(20000)
        gc.collect()
        before = rss()
        burst(100000)
        gc.collect()
        print(rss() - before)
        """
    )
    result = run_python(code, timeout=300)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) < 8 * 1024 * 1024, result.stdout


# ---------------------------------------------------------------------------
# stubgen, bindgen, inspect.


def test_stubgen_writes_record_classes(fixture_path: Path, tmp_path: Path) -> None:
    from pyo2._cli import main

    out = tmp_path / "fixture.pyi"
    assert main(["stubgen", str(fixture_path), "-o", str(out)]) in (0, 1)
    text = out.read_text(encoding="utf-8")
    assert "class Point:\n" in text and "    x: float\n    y: float\n" in text
    assert "    def __init__(self, x: float, y: float) -> None: ..." in text
    assert "class Shape:\n" in text and "    pair: tuple[int, str]\n" in text
    assert "def midpoint(a: Point | Any, b: Point | Any) -> Point:" in text
    assert "def normalize(points: list[Point | Any] | Any) -> float:" in text
    assert "def words(text: str | bytes | bytearray | memoryview) -> list[str]:" in text
    assert "def stats(v: list[float] | array[float]) -> tuple[float, float]:" in text
    assert "def rec_bytes(text: str | bytes | bytearray | memoryview) -> bytes:" in text
    compile(text, str(out), "exec")


def test_signature_annotations(lib: pyo2.RustDLL) -> None:
    import inspect

    sig = inspect.signature(lib.rec_centroid)
    assert sig.return_annotation == (lib.types.Point | None) if sys.version_info >= (3, 10) else True
    assert "Point" in str(sig)


def test_bindgen_exposes_records(fixture_path: Path, tmp_path: Path) -> None:
    from pyo2._cli import main

    out = tmp_path / "fixture_bindings.py"
    assert main(["bindgen", str(fixture_path), "-o", str(out)]) in (0, 1)
    text = out.read_text(encoding="utf-8")
    assert "        class Point:" not in text  # at the TYPE_CHECKING level, not nested
    assert "    class Point:\n" in text
    code = f"import importlib.util as u, sys\nspec = u.spec_from_file_location('fb', {str(out)!r})\n"
    code += "m = u.module_from_spec(spec); spec.loader.exec_module(m)\n"
    code += "p = m.midpoint((0, 0), m.Point(2.0, 4.0)); print(type(p) is m.Point, p)"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True Point(x=1.0, y=2.0)"


def test_inspect_lists_records(fixture_path: Path) -> None:
    import io

    from pyo2._cli import main

    out = io.StringIO()
    main(["inspect", str(fixture_path)], out=out)
    text = out.getvalue()
    assert "// records: #[derive(pyo2::Record)]" in text
    assert (
        "/// A point in the plane.\nstruct Point {  // plain; size 16, align 8\n    x: f64,  // @0\n" in text
    )
    assert "    tags: Vec<String>,  // @40, in@24\n" in text
