"""Lists of plain records: the fast path (one ``attrgetter`` / ``itemgetter``
per item, one ``struct.Struct``, the write-back compared and set by column)
and the item-by-item path give the same results, keep the same guarantees,
and write back only the fields Rust changed; against the fixture's
``Particle`` and ``Celsius`` (tests/fixture/src/records.rs, section 6)."""

from __future__ import annotations

import dataclasses
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyo2
from support import library

FIELDS = ("id", "alive", "mass", "pos", "charge")


@pytest.fixture(scope="module")
def lib(fixture_path: Path) -> pyo2.RustDLL:
    return pyo2.RustDLL(fixture_path)


_FIXTURE: list[pyo2.RustDLL] = []


def _lib() -> pyo2.RustDLL:
    if not _FIXTURE:
        _FIXTURE.append(pyo2.RustDLL(library("pyo2-fixture", "pyo2_fixture")))
    return _FIXTURE[0]


@dataclasses.dataclass
class DParticle:
    id: int
    alive: bool
    mass: float
    pos: float
    charge: int


class SlotParticle:
    __slots__ = FIELDS

    def __init__(self, *values: Any) -> None:
        for name, value in zip(FIELDS, values):
            setattr(self, name, value)


class Temp:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


def f32(x: float) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0])


def model_step(
    rows: list[tuple[int, bool, float, float, int]], limit: float
) -> tuple[int, list[tuple[Any, ...]]]:
    """What ``rec_step`` does, in Python (``mass`` is an f32 in Rust, left as given)."""
    out = []
    for id_, alive, mass, pos, charge in rows:
        if alive:
            moved = pos + f32(mass)
            out.append((id_, not moved > limit, mass, moved, -128 if charge == -128 else -charge))
        else:
            out.append((id_, alive, mass, pos, charge))
    return sum(r[1] for r in out), out


def values(obj: Any, names: tuple[str, ...] = FIELDS) -> tuple[Any, ...]:
    if isinstance(obj, dict):
        return tuple(obj[n] for n in names)
    return tuple(getattr(obj, n) for n in names)


def kinds(lib: pyo2.RustDLL) -> dict[str, Any]:
    """Ways to make a list of particles: each of one type (the fast path), and mixed."""
    Particle = lib.types.Particle

    def mixed(*v: Any) -> Any:
        mixed.n = getattr(mixed, "n", 0) + 1  # type: ignore[attr-defined]
        return Particle(*v) if mixed.n % 2 else dict(zip(FIELDS, v))  # type: ignore[attr-defined]

    return {
        "record": Particle,
        "dataclass": DParticle,
        "slots": SlotParticle,
        "dict": lambda *v: dict(zip(FIELDS, v)),
        "mixed": mixed,
    }


particles = st.lists(
    st.tuples(
        st.integers(0, 2**32 - 1),
        st.booleans(),
        st.floats(-1e3, 1e3, width=32),
        st.floats(-1e6, 1e6),
        st.integers(-128, 127),
    ),
    max_size=20,
)


@given(particles, st.floats(-1e6, 1e6))
def test_every_kind_of_list_agrees_with_the_model(rows: list[tuple[Any, ...]], limit: float) -> None:
    lib = _lib()
    want_alive, want = model_step(rows, limit)
    for kind, make in kinds(lib).items():
        items = [make(*row) for row in rows]
        originals = [values(obj) for obj in items]
        lst = list(items)
        assert lib.rec_step(lst, limit) == want_alive, kind
        assert all(a is b for a, b in zip(lst, items)), kind
        assert [values(obj) for obj in items] == want, kind
        for obj, before, after in zip(items, originals, want):
            now = values(obj)
            for name, old, new, got in zip(FIELDS, before, after, now):
                if old == new or (isinstance(old, float) and math.isnan(old)):
                    # Not changed by Rust: the very object given is kept.
                    assert got is old, (kind, name)


def test_only_changed_fields_are_written(lib: pyo2.RustDLL) -> None:
    big = 10**9 + 7  # an int object of its own (not a cached small int)
    mass = 0.1  # not an f32: written back, it would come back as 0.10000000149011612
    for make in kinds(lib).values():
        other = big + 1
        dead = make(big, False, mass, 5.0, -3)
        live = make(other, True, mass, 5.0, -3)
        lst = [dead, live]
        before_dead = values(dead)
        assert lib.rec_step(lst, 100.0) == 1
        assert all(a is b for a, b in zip(values(dead), before_dead))  # untouched by Rust
        assert values(live) == (other, True, mass, 5.0 + f32(mass), 3)
        assert values(live)[0] is other and values(live)[2] is mass


def test_one_field_records(lib: pyo2.RustDLL) -> None:
    Celsius = lib.types.Celsius
    nan = float("nan")
    for make in (Celsius, Temp, lambda d: {"degrees": d}):
        cold, warm, odd = make(-5.0), make(30.0), make(nan)
        temps = [cold, warm, odd]
        keep = values(warm, ("degrees",))[0]
        assert lib.rec_warm(temps, 20.0, 10.0) is None
        assert values(cold, ("degrees",)) == (5.0,)
        assert values(warm, ("degrees",))[0] is keep
        assert values(odd, ("degrees",))[0] is nan
    assert lib.rec_warm([], 0.0, 1.0) is None


def test_nan_fields_stay_the_same_object(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    nan = float("nan")
    pts = [Point(nan, 1.0), Point(3.0, 4.0)]
    assert lib.normalize(pts) == 5.0
    assert pts[0].x is nan and (pts[1].x, pts[1].y) == (0.6, 0.8)
    # Infinities become NaN (inf / inf) next to a NaN Rust leaves alone.
    inf = float("inf")
    pts = [Point(inf, 1.0), Point(-inf, 0.0), Point(nan, 2.0), Point(3.0, 4.0)]
    assert lib.normalize(pts) == inf  # f64::max skips the NaN length
    assert math.isnan(pts[0].x) and pts[0].y == 0.0
    assert math.isnan(pts[1].x) and pts[1].y == 0.0
    assert pts[2].x is nan and pts[2].y == 2.0
    assert (pts[3].x, pts[3].y) == (0.6, 0.8)


def test_errors_name_the_item_and_write_nothing(lib: pyo2.RustDLL) -> None:
    for kind, make in kinds(lib).items():
        lst = [make(i, True, 1.0, 0.0, 1) for i in range(5)]
        before = [values(p) for p in lst]
        bad = lst[3]
        if isinstance(bad, dict):
            bad["pos"] = "far"
        else:
            bad.pos = "far"
        with pytest.raises(
            TypeError,
            match=r"rec_step\(\): parameter 'particles' \(&mut \[Particle\]\): "
            r"particles\[3\]\.pos \(f64\): got str",
        ):
            lib.rec_step(lst, 10.0)
        assert [values(p) for p in lst[:3]] == before[:3], kind
        if isinstance(bad, dict):
            bad["pos"], bad["alive"] = 0.0, 2
        else:
            bad.pos, bad.alive = 0.0, 2
        with pytest.raises(OverflowError, match=r"particles\[3\]\.alive \(bool\)"):
            lib.rec_step(lst, 10.0)
        assert [values(p) for p in lst[:3]] == before[:3], kind
        if isinstance(bad, dict):
            bad["alive"] = 1  # an int 0 or 1 is a bool (the item-by-item path takes it)
        else:
            bad.alive = 1
        assert lib.rec_step(lst, 10.0) == 5, kind
        if isinstance(bad, dict):
            del bad["charge"]
        else:
            delattr(bad, "charge")
        with pytest.raises(TypeError, match=r"particles\[3\]\.charge \(i8\): missing field 'charge'"):
            lib.rec_step(lst, 10.0)


def test_read_only_list_of_tuples(lib: pyo2.RustDLL) -> None:
    Point = lib.types.Point
    dst = [Point(0.0, 0.0), {"x": 0.0, "y": 0.0}]
    assert lib.rec_copy_points([(1.0, 2.0), (3, 4)], dst) == 2
    assert dst[0] == Point(1.0, 2.0) and dst[1] == {"x": 3.0, "y": 4.0}
    with pytest.raises(TypeError, match=r"src\[1\]"):
        lib.rec_copy_points([(1.0, 2.0), (3.0, 4.0, 5.0)], dst)
    with pytest.raises(TypeError, match=r"src\[0\]\.y \(f64\): missing"):
        lib.rec_copy_points([(1.0,)], dst)


def test_classes_that_run_code_take_the_item_by_item_path(lib: pyo2.RustDLL) -> None:
    """A class that could run code or fail to set a field: read once per field,
    written back all or nothing."""

    class Half:
        __slots__ = ("x",)
        y = 4.0  # a class attribute: y can be read but not set on an instance

        def __init__(self, x: float) -> None:
            self.x = x

    halves = [Half(3.0), Half(0.0)]
    with pytest.raises(
        TypeError, match=r"setting 'y' on a Half raised AttributeError.*nothing was written back"
    ):
        lib.normalize(halves)
    assert [h.x for h in halves] == [3.0, 0.0]

    @dataclasses.dataclass(frozen=True)
    class Frozen:
        x: float
        y: float

    frozen = [Frozen(3.0, 4.0), Frozen(1.0, 0.0)]
    with pytest.raises(TypeError, match="nothing was written back"):
        lib.normalize(frozen)
    assert frozen == [Frozen(3.0, 4.0), Frozen(1.0, 0.0)]

    class Logged:
        """Every read and write goes through Python code."""

        def __init__(self, x: float, y: float) -> None:
            object.__setattr__(self, "log", [])
            object.__setattr__(self, "_x", x)
            object.__setattr__(self, "_y", y)

        def __getattr__(self, name: str) -> Any:
            self.log.append(("get", name))
            return object.__getattribute__(self, "_" + name)

        def __setattr__(self, name: str, value: Any) -> None:
            self.log.append(("set", name))
            object.__setattr__(self, "_" + name, value)

    logged = [Logged(3.0, 4.0), Logged(0.0, 0.0)]
    assert lib.normalize(logged) == 5.0
    # Read once each to pack (and the changed one again, to check nothing
    # changed meanwhile); only the changed fields are set, each once.
    assert logged[0].log[:2] == [("get", "x"), ("get", "y")]
    assert [e for e in logged[0].log if e[0] == "set"] == [("set", "x"), ("set", "y")]
    assert logged[1].log == [("get", "x"), ("get", "y")]
    assert (logged[0]._x, logged[0]._y) == (0.6, 0.8)


def test_another_thread_changing_an_item_is_detected(lib: pyo2.RustDLL) -> None:
    import threading
    import time

    for make in (lib.types.Point, lambda x, y: {"x": x, "y": y}, Temp2):
        pts = [make(3.0, 4.0) for _ in range(50)]
        target = pts[17]
        started = threading.Event()

        def meddle(target: Any = target, started: threading.Event = started) -> None:
            started.wait()
            time.sleep(0.05)
            if isinstance(target, dict):
                target["y"] = 40.0
            else:
                target.y = 40.0

        thread = threading.Thread(target=meddle)
        thread.start()
        started.set()
        with pytest.raises(RuntimeError, match=r"changed during the call.*nothing was written back"):
            lib.rec_slow_normalize(pts, 400)
        thread.join()
        assert values(target, ("x", "y")) == (3.0, 40.0)
        assert all(values(p, ("x", "y")) == (3.0, 4.0) for p in pts if p is not target)


@dataclasses.dataclass
class Temp2:
    x: float
    y: float


# ---------------------------------------------------------------------------
# The fast path against the item-by-item path, on good and bad values alike.

good_values = {
    "id": st.integers(0, 2**32 - 1),
    "alive": st.booleans(),
    "mass": st.floats(width=32),
    "pos": st.floats(),
    "charge": st.integers(-128, 127),
}
#: Values either path may refuse (or take: an int 0 or 1 for a bool, an int for a float).
odd_values: dict[str, list[Any]] = {
    "id": [-1, 2**32, 1.5, "7", None, True],
    "alive": [0, 1, 2, 1.0, None],
    "mass": [1e39, 2**70, 3, "1", None],
    "pos": [2**1100, 7, "far", None],
    "charge": [-129, 128, 0.5, None, False],
}
odd = st.sampled_from(sorted(odd_values)).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from(odd_values[name]))
)
rows_any = st.tuples(
    st.lists(st.fixed_dictionaries(good_values), max_size=6),
    st.one_of(st.none(), st.tuples(st.integers(0, 5), odd)),
).map(lambda t: _spoil(*t))


def _spoil(rows: list[dict[str, Any]], how: tuple[int, tuple[str, Any]] | None) -> list[dict[str, Any]]:
    """``rows``, with one odd value put in one of them (``how``: row, field and value)."""
    if how is not None and rows:
        i, (name, value) = how
        rows[i % len(rows)][name] = value
    return rows


def _outcome(lib: pyo2.RustDLL, lst: list[Any]) -> Any:
    try:
        return ("ok", lib.rec_step(lst, 50.0))
    except Exception as e:  # the outcome compared: type and message
        return (type(e).__name__, str(e))


def _state(lst: list[Any]) -> list[Any]:
    return [[(type(v).__name__, repr(v)) for v in values(obj)] for obj in lst]


@given(rows_any, st.sampled_from(["record", "dataclass", "slots", "dict"]))
def test_fast_path_agrees_with_item_by_item_path(rows: list[dict[str, Any]], kind: str) -> None:
    from pyo2 import _records

    lib = _lib()
    Particle = lib.types.Particle
    make = {
        "record": lambda r: Particle(**r),
        "dataclass": lambda r: DParticle(**r),
        "slots": lambda r: SlotParticle(*(r[n] for n in FIELDS)),
        "dict": dict,
    }[kind]
    fast = [make(r) for r in rows]
    slow = [make(r) for r in rows]
    got_fast = _outcome(lib, fast)
    original = _records._uniform_rows
    _records._uniform_rows = lambda *args: None  # every list item by item
    try:
        got_slow = _outcome(lib, slow)
    finally:
        _records._uniform_rows = original
    assert got_fast == got_slow
    assert _state(fast) == _state(slow)
