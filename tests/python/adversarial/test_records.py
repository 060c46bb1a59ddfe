"""Records (issue 12) given hostile input: every record parameter kind.

``&Point``, ``Point`` by value, ``&[Point]``, ``&mut [Point]``, ``&mut Point``,
nested plain records (``Segment``), fixed arrays (``Pixel``), owned records
(``Person``: ``String`` and ``Vec<String>`` fields), ``Option<Record>``,
``&[Person]`` and numpy structured arrays, against the README's rules
("Hostile input: the rules", the rows on records):

- a field value is read as any scalar is (a ``float`` or ``int`` subclass by
  its real value, other objects by Python's own conversions); a bad one
  raises the documented exception naming its path (``points[3].y (f64)``);
- an attribute getter that raises ``AttributeError`` is a missing field
  (``TypeError``); any other exception it raises propagates as it is, before
  Rust runs;
- a list of records changed while its records are converted (by a getter)
  is ``RuntimeError`` before Rust runs; a ``&mut`` record or list changed
  while Rust runs (another thread, or a getter that answers differently
  when read again) is ``RuntimeError`` after the call, nothing written back
  and the other change kept, as for lists;
- write-back compares packed bytes (no value's ``__eq__`` runs) and is all
  or nothing across every argument of the call: a setter that raises (a
  frozen dataclass) leaves everything as it was (``TypeError``; a
  ``KeyboardInterrupt`` or ``SystemExit`` from a setter is undone too and
  raised as it is); a tuple (a namedtuple) for ``&mut`` is ``TypeError``
  before Rust runs;
- the same record object lent ``&mut`` twice (nested, or in two
  parameters), the same list as ``&`` and ``&mut``, and overlapping numpy
  arrays where one is ``&mut`` are ``ValueError``;
- a numpy array is lent in place only if its dtype is the record's, it is
  1-D, C-contiguous, aligned and (for ``&mut``) writable, and its ``bool``
  fields hold 0 or 1; anything else is refused before Rust runs.

Each case checks the exact exception type, a fragment of its message, and
(on an exception) that no argument changed, records' fields included.
"""

from __future__ import annotations

import contextlib
import math
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import pyo2
from adversarial import liars as L
from adversarial.harness import (
    Expect,
    Meddler,
    Outcome,
    Suite,
    Worker,
    attempt,
    need_numpy,
    raises,
    returns,
)

SUITE = Suite(__name__, "records")

#: Rust sleeps this long in the slow functions, while another thread meddles.
MS = 300

# ---------------------------------------------------------------------------
# Deep snapshots of records: fields read without running the objects' code.


def state(x: Any, within: frozenset[int] = frozenset()) -> Any:
    """The real contents of ``x``: lists, tuples, dicts, objects' fields, arrays."""
    t = type(x)
    if id(x) in within:
        return ("cycle", id(x))
    within |= {id(x)}
    if issubclass(t, list):
        return ("list", id(x), [state(i, within) for i in list.copy(x)])
    if issubclass(t, tuple):
        return ("tuple", id(x), [state(i, within) for i in tuple.__iter__(x)])
    if issubclass(t, dict):
        return ("dict", id(x), [(k, state(v, within)) for k, v in dict.items(x)])
    if t is bool or x is None:
        return ("atom", x)
    if issubclass(t, float):
        return ("float", id(x), float.hex(float.__float__(x)))
    if issubclass(t, int):
        return ("int", id(x), int.__repr__(x))
    if issubclass(t, (str, bytes)):
        return ("text", id(x), str.__str__(x) if issubclass(t, str) else bytes.hex(x))
    if hasattr(t, "__array_interface__"):  # numpy
        return ("ndarray", id(x), str(x.dtype), x.tobytes())
    fields: list[tuple[str, Any]] = []
    for klass in t.__mro__:
        for slot in klass.__dict__.get("__slots__", ()):
            try:
                fields.append((slot, state(object.__getattribute__(x, slot), within)))
            except AttributeError:
                fields.append((slot, ("unset",)))
    with contextlib.suppress(AttributeError):
        fields += [(k, state(v, within)) for k, v in object.__getattribute__(x, "__dict__").items()]
    return ("object", id(x), t.__name__, fields)


def call(function: Callable[..., Any], *args: Any, expect_in: str = "") -> Outcome:
    """:func:`attempt`, plus: on an exception no record changed, and its message holds ``expect_in``."""
    before = [state(a) for a in args]
    outcome = attempt(function, *args)
    if outcome.raised is not None:
        after = [state(a) for a in args]
        outcome.unchanged = outcome.unchanged and after == before
        if expect_in:
            outcome.check(
                expect_in in outcome.message, f"the message lacks {expect_in!r}: {outcome.message!r}"
            )
    return outcome


def fields(obj: Any, *names: str) -> list[Any]:
    """``obj``'s fields, as stored (``dict`` items, or attributes)."""
    if isinstance(obj, dict):
        return [dict.__getitem__(obj, n) for n in names]
    return [object.__getattribute__(obj, n) for n in names]


def add(name: str, expect: Expect, case: Callable[[pyo2.RustDLL], Outcome]) -> None:
    SUITE.add(name, expect, case, "exported")


def case(name: str, expect: Expect) -> Callable[[Callable[[pyo2.RustDLL], Outcome]], None]:
    """Register the decorated function as the case ``name``."""

    def register(function: Callable[[pyo2.RustDLL], Outcome]) -> None:
        add(name, expect, function)

    return register


def gives(value: str) -> Expect:
    """Returns a value whose ``repr`` is ``value``."""
    return returns(_Repr(value))


class _Repr:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


# ---------------------------------------------------------------------------
# Objects used as records.


class Getter:
    """An object whose fields are properties running ``get(name)``."""

    def __init__(self, get: Callable[[str], Any]) -> None:
        object.__setattr__(self, "get", get)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return object.__getattribute__(self, "get")(name)


class Plain:
    """A record-like object: fields in its ``__dict__``; ``refuse`` makes its setter raise that."""

    def __init__(self, refuse: BaseException | None = None, **values: Any) -> None:
        object.__setattr__(self, "refuse", refuse)
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, name: str, value: Any) -> None:
        refuse = object.__getattribute__(self, "refuse")
        if refuse is not None:
            raise refuse
        object.__setattr__(self, name, value)


@dataclass(frozen=True)
class FrozenPoint:
    x: float
    y: float


NamedPoint = namedtuple("NamedPoint", "x y")


class EqRaisesFloat(float):
    def __eq__(self, other: object) -> bool:
        raise ValueError("__eq__ refuses")

    def __ne__(self, other: object) -> bool:
        raise ValueError("__ne__ refuses")

    __hash__ = float.__hash__


class EqRaisesInt(int):
    def __eq__(self, other: object) -> bool:
        raise ValueError("__eq__ refuses")

    def __ne__(self, other: object) -> bool:
        raise ValueError("__ne__ refuses")

    __hash__ = int.__hash__


class ClaimsPoint(list):  # type: ignore[type-arg]
    """A list that says it is a Point (``__class__``), with attributes x and y."""

    x = 1.0
    y = 2.0

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return ClaimsPoint.target

    target: type = object


def point(dll: pyo2.RustDLL, x: Any, y: Any) -> Any:
    return dll.types.Point(x, y)


def person(name: Any = "ann", age: Any = 30, tags: Any = None) -> dict[str, Any]:
    return {"name": name, "age": age, "tags": ["a"] if tags is None else tags}


# ---------------------------------------------------------------------------
# 1. Lying and odd field values (`&Point`, `Point` by value, nested, arrays, owned).


@case("float-subclass-lies-read-by-real-value", gives("Point(x=2.0, y=3.0)"))
def _float_lie(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, point(dll, L.FloatSaysOne(4.0), 6.0), {"x": 0.0, "y": L.FloatSaysHuge(0.0)})


@case("float-subclass-float-raises-read-by-real-value", gives("Point(x=1.5, y=0.0)"))
def _float_raises(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, {"x": L.FloatRaises(3.0), "y": 0.0}, (0.0, 0.0))


@case("int-subclass-lies-in-u8-array-and-u16", gives("Pixel(rgb=[6, 7, 8], weights=[0.5, 1.0], id=9)"))
def _int_lie_pixel(dll: pyo2.RustDLL) -> Outcome:
    pixel = {"rgb": [L.IntLie(1), 2, L.IntLie(3)], "weights": (0.5, 1), "id": L.IntLie(9)}
    return call(dll.rec_brighten, pixel, 5)


@case("int-subclass-in-f64-field-read-by-its-int-value", gives("Point(x=1.5, y=0.0)"))
def _int_lie_f64(dll: pyo2.RustDLL) -> Outcome:
    # IntLie's own __float__ says 7.0: never called, as for a list item or a scalar.
    return call(dll.midpoint, {"x": L.IntLie(3), "y": 0}, (0, 0))


@case(
    "int-subclass-in-f64-fields-of-a-mut-list-and-record",
    gives("[(4.0, 5.0), (2.0, 3.0), (2.0, 1.0), [3.0]]"),
)
def _int_lie_f64_mut(dll: pyo2.RustDLL) -> Outcome:
    # A list of generated records (packed at C speed), a dict's record, a list of f64.
    P = dll.types.Point
    points = [P(L.IntLie(3), 4.0), P(1.0, L.IntLie(2))]
    p = {"x": L.IntLie(1), "y": 0.0}
    v = [L.IntLie(2)]
    outcome = call(dll.rec_bump_all, points, p, v)
    if outcome.ok():
        outcome.value = repr([(q.x, q.y) for q in points] + [(p["x"], p["y"]), v])
    return outcome


@case("int-subclass-huge-in-f64-field-of-a-list", raises(OverflowError))
def _int_lie_f64_huge(dll: pyo2.RustDLL) -> Outcome:
    P = dll.types.Point
    points = [P(1.0, 2.0), P(L.IntLie(10**400), 0.0)]
    return call(dll.normalize, points, expect_in="points[1].x (f64): int too large to convert to float")


@case("str-subclass-lies-in-string-field", gives("Person(name='bob', age=5, tags=['t', 'u', '5th'])"))
def _str_lie(dll: pyo2.RustDLL) -> Outcome:
    p = person(L.StrOther("bob"), 4, L.OtherIter(["t", L.StrEncodesInvalid("u")]))
    return call(dll.rec_birthday, p)


@case("str-hides-surrogate-in-string-field", raises(ValueError))
def _str_surrogate(dll: pyo2.RustDLL) -> Outcome:
    people = [person(), person(L.StrHidesSurrogate("a\ud800"))]
    return call(dll.oldest, people, expect_in="people[1].name (String): not valid UTF-8")


@case("invalid-utf8-bytes-in-vec-string-field", raises(ValueError))
def _bad_bytes(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_names, [person(tags=["ok", b"\xff\xfe"])], expect_in="people[0].tags[1] (String)")


@case("int-in-vec-string-field", raises(TypeError))
def _int_tag(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.oldest, [person(), person(tags=["x", 5])], expect_in="people[1].tags[1] (String)")


@case("str-for-vec-string-field", raises(TypeError))
def _str_tags(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.oldest, [person(tags="abc")], expect_in="people[0].tags (Vec<String>)")


@case("generator-for-vec-string-field", raises(TypeError))
def _gen_tags(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_names, [person(tags=(t for t in "ab"))], expect_in="people[0].tags (Vec<String>)")


@case("str-for-f64-field", raises(TypeError))
def _str_field(dll: pyo2.RustDLL) -> Outcome:
    pts = [point(dll, 1.0, 1.0) for _ in range(4)]
    object.__setattr__(pts[3], "y", "2.0")
    return call(dll.normalize, pts, expect_in="points[3].y (f64): got str")


@case("u8-256-in-owned-record", raises(OverflowError))
def _u8_256(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.oldest, [person(), person(age=256)], expect_in="people[1].age (u8): 256 is out of range")


@case("u8-negative-in-option-record", raises(OverflowError))
def _u8_neg(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_maybe_person, person(age=-1), expect_in="p.age (u8)")


@case("u8-256-in-fixed-array", raises(OverflowError))
def _rgb_256(dll: pyo2.RustDLL) -> Outcome:
    pixel = {"rgb": [1, 256, 3], "weights": [0.0, 0.0], "id": 1}
    return call(dll.rec_brighten, pixel, 1, expect_in="p.rgb[1] (u8)")


@case("huge-int-in-u16-field", raises(OverflowError))
def _u16_huge(dll: pyo2.RustDLL) -> Outcome:
    pixels = [dll.types.Pixel([1, 2, 3], [0.0, 0.0], 2**70)]
    return call(dll.rec_swap_weights, pixels, expect_in="pixels[0].id (u16)")


@case("huge-int-in-f64-field", raises(OverflowError))
def _f64_huge(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.normalize, [point(dll, 1.0, 2.0), point(dll, 10**400, 0)], expect_in="points[1].x (f64)")


@case("f32-overflow-in-array-field", raises(OverflowError))
def _f32_huge(dll: pyo2.RustDLL) -> Outcome:
    pixel = {"rgb": [1, 2, 3], "weights": [0.0, 1e300], "id": 1}
    return call(dll.rec_brighten, pixel, 1, expect_in="p.weights[1] (f32)")


@case("bool-field-2", raises(OverflowError))
def _bool_2(dll: pyo2.RustDLL) -> Outcome:
    seg = {"a": (0, 0), "b": (1, 1), "closed": 2}
    return call(dll.rec_length, seg, expect_in="s.closed (bool)")


@case("bool-field-str", raises(TypeError))
def _bool_str(dll: pyo2.RustDLL) -> Outcome:
    seg = {"a": (0, 0), "b": (1, 1), "closed": "yes"}
    return call(dll.rec_length, seg, expect_in="s.closed (bool)")


@case("nan-in-mut-record-untouched", returns(0.0))
def _nan(dll: pyo2.RustDLL) -> Outcome:
    nan = float("nan")
    p = point(dll, nan, 0.0)
    outcome = call(dll.normalize, [p])
    return outcome.check(fields(p, "x")[0] is nan, "the NaN Rust didn't change was replaced")


@case("nan-in-f32-array-field", returns())
def _nan_f32(dll: pyo2.RustDLL) -> Outcome:
    outcome = call(dll.rec_brighten, {"rgb": [1, 2, 3], "weights": [math.nan, 1.0], "id": 1}, 1)
    return outcome.check("weights=[nan, 1.0]" in outcome.value, f"got {outcome.value}")


# ---------------------------------------------------------------------------
# 2. Shapes: dicts, tuples, missing fields, raising getters, __class__ lies.


@case("dict-extra-keys-ignored", gives("Point(x=0.5, y=1.0)"))
def _dict_extra(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, {"x": 1, "y": 2, "z": "ignored"}, {"x": 0, "y": 0, "w": None})


@case("dict-missing-key", raises(TypeError))
def _dict_missing(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, {"x": 1}, (0, 0), expect_in="a.y (f64): missing field 'y'")


@case("dict-missing-key-by-value", raises(TypeError))
def _dict_missing_b(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, (0, 0), {"y": 1}, expect_in="b.x (f64): missing field 'x'")


@case("dict-subclass-lying-getitem", gives("Point(x=0.5, y=1.0)"))
def _dict_sub(dll: pyo2.RustDLL) -> Outcome:
    class Lying(dict):  # type: ignore[type-arg]
        def __getitem__(self, key: Any) -> Any:
            return 99.0

        def get(self, key: Any, default: Any = None) -> Any:
            return 99.0

    return call(dll.midpoint, Lying(x=1, y=2), (0, 0))


@case("tuple-short", raises(TypeError))
def _tuple_short(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, (1,), (0, 0), expect_in="a.y (f64): missing field 'y'")


@case("tuple-long", raises(TypeError))
def _tuple_long(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, (0, 0), (1, 2, 3), expect_in="got a tuple of 3 items, Point has 2 fields")


@case("tuple-of-wrong-length-nested", raises(TypeError))
def _tuple_nested(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_length, {"a": (0, 0), "b": (1,), "closed": True}, expect_in="s.b.y (f64)")


@case("fixed-array-wrong-length", raises(ValueError))
def _array_len(dll: pyo2.RustDLL) -> Outcome:
    pixel = {"rgb": [1, 2], "weights": [0.0, 0.0], "id": 1}
    return call(dll.rec_brighten, pixel, 1, expect_in="p.rgb ([u8; 3]): got 2 items, expected 3")


@case("fixed-array-list-subclass-lying-len", gives("Pixel(rgb=[2, 3, 4], weights=[0.0, 0.0], id=1)"))
def _array_liar(dll: pyo2.RustDLL) -> Outcome:
    pixel = {"rgb": L.ShortLen([1, 2, 3]), "weights": L.OtherItems([0.0, 0.0]), "id": 1}
    return call(dll.rec_brighten, pixel, 1)


@case("getter-raises-zerodivision", raises(ZeroDivisionError))
def _getter_raises(dll: pyo2.RustDLL) -> Outcome:
    def get(name: str) -> Any:
        if name == "y":
            raise ZeroDivisionError("no y today")
        return 1.0

    return call(dll.midpoint, Getter(get), (0, 0), expect_in="no y today")


@case("getter-raises-attributeerror-is-missing", raises(TypeError))
def _getter_attr(dll: pyo2.RustDLL) -> Outcome:
    def get(name: str) -> Any:
        raise AttributeError(name)

    return call(
        dll.normalize, [point(dll, 1, 1), Getter(get)], expect_in="points[1].x (f64): missing field 'x'"
    )


@case("getattr-raises-keyerror-in-owned-list", raises(KeyError))
def _getattr_keyerror(dll: pyo2.RustDLL) -> Outcome:
    def get(name: str) -> Any:
        raise KeyError(name)

    return call(dll.oldest, [person(), Getter(get)], expect_in="'name'")


@case("list-claiming-class-point", raises(TypeError))
def _claims(dll: pyo2.RustDLL) -> Outcome:
    ClaimsPoint.target = dll.types.Point
    return call(dll.midpoint, ClaimsPoint([1.0, 2.0]), (0, 0), expect_in="got ClaimsPoint")


@case("object-claiming-class-point-duck-typed", gives("Point(x=0.5, y=1.0)"))
def _claims_obj(dll: pyo2.RustDLL) -> Outcome:
    cls: type = dll.types.Point

    class Claims:
        x = 1.0
        y = 2.0

        @property  # type: ignore[misc]
        def __class__(self) -> type:
            return cls

    return call(dll.midpoint, Claims(), (0, 0))


@case("str-for-record", raises(TypeError))
def _str_record(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, "xy", (0, 0), expect_in="parameter 'a' (&Point)")


@case("none-for-record", raises(TypeError))
def _none_record(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, (0, 0), None, expect_in="parameter 'b' (Point)")


@case("none-for-option-record", returns(None))
def _none_option(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_maybe_person, None)


@case("bad-option-record-field", raises(TypeError))
def _bad_option(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_centroid, [(1, 1)], {"x": 1, "y": "2"}, expect_in="weight.y (f64)")


@case("list-of-records-with-a-list-in-it", raises(TypeError))
def _list_in_list(dll: pyo2.RustDLL) -> Outcome:
    pts: list[Any] = [point(dll, 3, 4)]
    pts.append(pts)
    return call(dll.normalize, pts, expect_in="points[1] (Point)")


@case("list-subclass-lying-len-for-mut-slice", returns(5.0))
def _lying_list(dll: pyo2.RustDLL) -> Outcome:
    p = point(dll, 3.0, 4.0)
    pts = L.EverythingLies([p])
    outcome = call(dll.normalize, pts)
    return outcome.check(fields(p, "x", "y") == [0.6, 0.8], f"p is {p!r}")


@case("list-subclass-lying-iter-for-owned-slice", gives("['real']"))
def _lying_people(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_names, L.OtherIter([person("real")]))


@case("tuple-for-mut-slice", raises(TypeError))
def _tuple_mslice(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.normalize, (point(dll, 3, 4),), expect_in="immutable")


@case("namedtuple-for-mut-record", raises(TypeError))
def _namedtuple_mut(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_translate, NamedPoint(1.0, 2.0), 1.0, 1.0, expect_in="a tuple is immutable")


@case("namedtuple-in-mut-slice", raises(TypeError))
def _namedtuple_mslice(dll: pyo2.RustDLL) -> Outcome:
    pts = [point(dll, 3, 4), NamedPoint(1.0, 2.0)]
    return call(dll.normalize, pts, expect_in="points[1] (Point): a tuple is immutable")


@case("namedtuple-for-ref-record", gives("Point(x=1.0, y=2.0)"))
def _namedtuple_ref(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.midpoint, NamedPoint(1.0, 2.0), NamedPoint(1, 2))


# ---------------------------------------------------------------------------
# 3. Getters that change things while the records are converted.


@case("getter-appends-to-mut-list", raises(RuntimeError, unchanged=False))
def _getter_appends_mut(dll: pyo2.RustDLL) -> Outcome:
    pts: list[Any] = []
    extra = point(dll, 0.0, 1.0)

    def get(name: str) -> Any:
        if name == "x" and len(pts) == 2:
            pts.append(extra)
        return 3.0 if name == "x" else 4.0

    first = point(dll, 6.0, 8.0)
    pts += [first, Getter(get)]
    outcome = call(dll.normalize, pts, expect_in="changed while it was converted")
    outcome.check(list.copy(pts)[2] is extra and len(pts) == 3, "the getter's append was lost")
    return outcome.check(fields(first, "x", "y") == [6.0, 8.0], f"Rust's values were written: {first!r}")


@case("getter-replaces-item-of-ref-list", raises(RuntimeError, unchanged=False))
def _getter_replaces(dll: pyo2.RustDLL) -> Outcome:
    people: list[Any] = []

    def get(name: str) -> Any:
        if name == "name":
            people[0] = person("other")
        return {"name": "bob", "age": 3, "tags": []}[name]

    people += [person("ann"), Getter(get)]
    outcome = call(dll.oldest, people, expect_in="changed while it was converted")
    return outcome.check(dict.__getitem__(people[0], "name") == "other", "the getter's change was lost")


@case("getter-changes-earlier-record-of-mut-list", raises(RuntimeError, unchanged=False))
def _getter_changes_other(dll: pyo2.RustDLL) -> Outcome:
    first = point(dll, 3.0, 4.0)

    def get(name: str) -> Any:
        if name == "x":
            object.__setattr__(first, "y", 40.0)
        return 6.0 if name == "x" else 8.0

    second = Getter(get)
    outcome = call(dll.normalize, [first, second], expect_in="was changed during the call")
    return outcome.check(fields(first, "x", "y") == [3.0, 40.0], f"first is {first!r}")


@case("getter-answers-differently-each-time", raises(RuntimeError))
def _getter_counter(dll: pyo2.RustDLL) -> Outcome:
    reads = [0]

    def get(name: str) -> Any:
        reads[0] += 1
        return float(reads[0])

    return call(dll.rec_translate, Getter(get), 1.0, 1.0, expect_in="was changed during the call")


# ---------------------------------------------------------------------------
# 4. Write-back: __eq__ that raises, setters that raise, all or nothing.


@case("eq-raises-flat-record", returns(5.0))
def _eq_flat(dll: pyo2.RustDLL) -> Outcome:
    p = point(dll, EqRaisesFloat(3.0), 4.0)
    outcome = call(dll.normalize, [p])
    return outcome.check(fields(p, "x", "y") == [0.6, 0.8], f"p is {p!r}")


@case("eq-raises-nested-record", returns(None))
def _eq_nested(dll: pyo2.RustDLL) -> Outcome:
    a, b = point(dll, EqRaisesFloat(1.0), 2.0), point(dll, 3.0, EqRaisesFloat(4.0))
    seg = dll.types.Segment(a, b, False)
    outcome = call(dll.rec_flip, [seg])
    outcome.check(fields(a, "x", "y") == [3.0, 4.0] and fields(b, "x", "y") == [1.0, 2.0], f"{seg!r}")
    return outcome.check(fields(seg, "closed") == [True], f"{seg!r}")


@case("eq-raises-array-field-untouched", returns(None))
def _eq_array(dll: pyo2.RustDLL) -> Outcome:
    weights = [EqRaisesFloat(0.5), 1.5]
    px = dll.types.Pixel([EqRaisesInt(1), 2, 3], weights, EqRaisesInt(7))
    outcome = call(dll.rec_bump_pixels, [px])
    outcome.check(fields(px, "rgb", "id") == [[2, 3, 4], 8], f"{px!r}")
    return outcome.check(fields(px, "weights")[0] is weights, "the weights Rust didn't change were replaced")


@case("frozen-dataclass-mut-record", raises(TypeError))
def _frozen_mut(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_translate, FrozenPoint(1.0, 2.0), 1.0, 1.0, expect_in="nothing was written back")


@case("frozen-dataclass-second-in-mut-slice", raises(TypeError))
def _frozen_second(dll: pyo2.RustDLL) -> Outcome:
    pts = [point(dll, 3.0, 4.0), {"x": 0.0, "y": 2.0}, FrozenPoint(6.0, 8.0)]
    return call(dll.normalize, pts, expect_in="setting 'x' on a FrozenPoint raised FrozenInstanceError")


@case("frozen-nested-record", raises(TypeError))
def _frozen_nested(dll: pyo2.RustDLL) -> Outcome:
    seg = {"a": point(dll, 0, 0), "b": FrozenPoint(1.0, 1.0), "closed": False}
    return call(dll.rec_flip, [seg], expect_in="FrozenPoint")


@case("frozen-record-with-other-mut-args", raises(TypeError))
def _frozen_across(dll: pyo2.RustDLL) -> Outcome:
    # Three &mut parameters; the record's write-back fails: the list of
    # points and the list of floats keep their values too.
    args = ([point(dll, 1, 1)], FrozenPoint(1.0, 1.0), [1.0, 2.0])
    return call(dll.rec_bump_all, *args, expect_in="on a FrozenPoint raised FrozenInstanceError")


@case("frozen-in-list-with-other-mut-args", raises(TypeError))
def _frozen_across_list(dll: pyo2.RustDLL) -> Outcome:
    args = ([{"x": 0, "y": 0}, FrozenPoint(1.0, 1.0)], point(dll, 0, 0), [1.0])
    return call(dll.rec_bump_all, *args, expect_in="on a FrozenPoint raised FrozenInstanceError")


@case("setter-raises-on-second-object", raises(TypeError))
def _setter_second(dll: pyo2.RustDLL) -> Outcome:
    pts = [Plain(x=3.0, y=4.0), Plain(ValueError("read-only"), x=6.0, y=8.0)]
    return call(dll.normalize, pts, expect_in="setting 'x' on a Plain raised ValueError: read-only")


@case("setter-raises-keyboardinterrupt", raises(KeyboardInterrupt))
def _setter_kbd(dll: pyo2.RustDLL) -> Outcome:
    pts = [Plain(x=3.0, y=4.0), Plain(KeyboardInterrupt(), x=6.0, y=8.0)]
    before = state(pts)
    outcome = Outcome()
    try:  # attempt() lets a KeyboardInterrupt through
        dll.normalize(pts)
    except KeyboardInterrupt:
        outcome.raised = "KeyboardInterrupt"
    outcome.unchanged = state(pts) == before
    return outcome


@case("setter-raises-systemexit", raises(SystemExit))
def _setter_exit(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_bump_all, [Plain(x=3.0, y=4.0)], Plain(SystemExit(3), x=1.0, y=1.0), [1.0])


@case("setter-of-attr-found-by-getattr-undone", raises(TypeError, unchanged=False))
def _setter_getattr(dll: pyo2.RustDLL) -> Outcome:
    # The first object's fields come from __getattr__: undoing its write-back
    # sets the values it read back (into its __dict__), so it reads the same.
    class Lazy:
        def __getattr__(self, name: str) -> Any:
            if name in ("x", "y"):
                return 3.0 if name == "x" else 4.0
            raise AttributeError(name)

    first = Lazy()
    outcome = call(dll.normalize, [first, FrozenPoint(6.0, 8.0)], expect_in="nothing was written back")
    return outcome.check((first.x, first.y) == (3.0, 4.0), f"first reads {vars(first)}")


# ---------------------------------------------------------------------------
# 5. Aliasing: the same record or list twice where one is &mut.


@case("same-record-twice-in-mut-slice", raises(ValueError))
def _twice(dll: pyo2.RustDLL) -> Outcome:
    p = point(dll, 3, 4)
    return call(dll.normalize, [p, point(dll, 1, 1), p], expect_in="appears twice")


@case("same-nested-record-in-two-segments", raises(ValueError))
def _nested_twice(dll: pyo2.RustDLL) -> Outcome:
    shared = point(dll, 0, 0)
    segs = [
        dll.types.Segment(shared, point(dll, 1, 1), False),
        dll.types.Segment(shared, point(dll, 2, 2), True),
    ]
    return call(dll.rec_flip, segs, expect_in="the same Point is given twice")


@case("same-nested-record-twice-in-one-segment", raises(ValueError))
def _nested_self(dll: pyo2.RustDLL) -> Outcome:
    shared = point(dll, 0, 0)
    return call(dll.rec_flip, [dll.types.Segment(shared, shared, False)], expect_in="given twice")


@case("same-record-in-mut-slice-and-mut-param", raises(ValueError))
def _across(dll: pyo2.RustDLL) -> Outcome:
    p = point(dll, 1, 1)
    return call(dll.rec_bump_all, [p], p, [], expect_in="&mut")


@case("same-list-as-ref-and-mut", raises(ValueError))
def _same_list(dll: pyo2.RustDLL) -> Outcome:
    pts = [point(dll, 1, 2)]
    return call(dll.rec_copy_points, pts, pts, expect_in="passed twice")


@case("same-record-in-ref-and-mut-lists-is-a-copy", returns(1))
def _ref_and_mut(dll: pyo2.RustDLL) -> Outcome:
    # A & record is copied before the call: Rust reads the old values, and
    # writes the &mut one, which is what the object ends up with.
    p, q = point(dll, 1.0, 2.0), point(dll, 5.0, 6.0)
    outcome = call(dll.rec_copy_points, [q], [p, q])
    return outcome.check(fields(p, "x", "y") == [5.0, 6.0] and fields(q, "x", "y") == [5.0, 6.0], f"{p} {q}")


# ---------------------------------------------------------------------------
# 6. numpy structured arrays.


def _points(dll: pyo2.RustDLL, n: int = 4) -> Any:
    np = need_numpy()
    a = np.zeros(n, dtype=dll.types.Point.dtype)
    a["x"] = np.arange(1, n + 1)
    a["y"] = 1.0
    return a


@case("numpy-packed-dtype-differs", raises(TypeError))
def _np_packed(dll: pyo2.RustDLL) -> Outcome:
    np = need_numpy()
    packed = np.zeros(2, dtype=np.dtype([("rgb", "u1", (3,)), ("weights", "<f4", (2,)), ("id", "<u2")]))
    return call(dll.rec_swap_weights, packed, expect_in="got itemsize 13")


@case("numpy-byte-swapped", raises(TypeError))
def _np_swapped(dll: pyo2.RustDLL) -> Outcome:
    np = need_numpy()
    swapped = _points(dll).astype(np.dtype([("x", ">f8"), ("y", ">f8")]))
    return call(dll.normalize, swapped, expect_in="another layout than Point")


@case("numpy-fields-in-other-order", raises(TypeError))
def _np_order(dll: pyo2.RustDLL) -> Outcome:
    np = need_numpy()
    return call(
        dll.normalize, np.zeros(3, dtype=[("y", "<f8"), ("x", "<f8")]), expect_in="expected itemsize 16"
    )


@case("numpy-plain-float-array", raises(TypeError))
def _np_float(dll: pyo2.RustDLL) -> Outcome:
    np = need_numpy()
    return call(dll.rec_copy_points, np.zeros((3, 2)), [], expect_in="another layout than Point")


@case("numpy-non-contiguous", raises(TypeError))
def _np_strided(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.normalize, _points(dll, 8)[::2], expect_in="C-contiguous")


@case("numpy-2d", raises(TypeError))
def _np_2d(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_copy_points, _points(dll, 4).reshape(2, 2), [], expect_in="1-dimensional")


@case("numpy-misaligned", raises(TypeError))
def _np_misaligned(dll: pyo2.RustDLL) -> Outcome:
    np = need_numpy()
    raw = np.zeros(4 * 16 + 1, dtype=np.uint8)
    view = raw[1:].view(dll.types.Point.dtype)
    view["x"] = 3.0
    return call(dll.normalize, view, expect_in="not aligned for Point")


@case("numpy-read-only-for-mut", raises(TypeError))
def _np_readonly(dll: pyo2.RustDLL) -> Outcome:
    a = _points(dll)
    a.flags.writeable = False
    return call(dll.normalize, a, expect_in="read-only")


@case("numpy-read-only-for-ref", returns(2))
def _np_readonly_ref(dll: pyo2.RustDLL) -> Outcome:
    a = _points(dll, 2)
    a.flags.writeable = False
    dst = [point(dll, 0, 0), point(dll, 0, 0)]
    outcome = call(dll.rec_copy_points, a, dst)
    return outcome.check(fields(dst[1], "x", "y") == [2.0, 1.0], f"dst is {dst}")


@case("numpy-overlapping-ref-and-mut", raises(ValueError))
def _np_overlap(dll: pyo2.RustDLL) -> Outcome:
    a = _points(dll, 4)
    return call(dll.rec_copy_points, a[0:3], a[1:4], expect_in="shares memory with parameter 'src'")


@case("numpy-same-array-ref-and-mut", raises(ValueError))
def _np_same(dll: pyo2.RustDLL) -> Outcome:
    a = _points(dll, 4)
    return call(dll.rec_copy_points, a, a, expect_in="&mut")


@case("numpy-disjoint-views-of-one-array", returns(2))
def _np_disjoint(dll: pyo2.RustDLL) -> Outcome:
    a = _points(dll, 4)
    outcome = call(dll.rec_copy_points, a[0:2], a[2:4])
    return outcome.check(a["x"].tolist() == [1.0, 2.0, 1.0, 2.0], f"a is {a}")


@case("numpy-bool-field-not-0-or-1", raises(ValueError))
def _np_bool(dll: pyo2.RustDLL) -> Outcome:
    np = need_numpy()
    segs = np.zeros(3, dtype=dll.types.Segment.dtype)
    raw = segs.view(np.uint8)
    raw[2 * segs.dtype.itemsize + segs.dtype.fields["closed"][1]] = 2
    return call(dll.rec_flip, segs, expect_in="segments[2].closed (bool): 2 is not a bool")


@case("numpy-for-owned-record", raises(TypeError))
def _np_owned(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_names, _points(dll), expect_in="got ndarray")


@case("numpy-for-vec-of-records", raises(TypeError))
def _np_vec(dll: pyo2.RustDLL) -> Outcome:
    return call(dll.rec_centroid, _points(dll), None, expect_in="parameter 'points'")


@case("numpy-object-array", raises(TypeError))
def _np_object(dll: pyo2.RustDLL) -> Outcome:
    np = need_numpy()
    a = np.empty(2, dtype=object)
    a[:] = [point(dll, 1, 1), point(dll, 2, 2)]
    return call(dll.normalize, a, expect_in="another layout than Point")


# ---------------------------------------------------------------------------
# 7. Another thread while Rust runs.

#: Raises RuntimeError; the case checks the other thread's change was kept.
MEDDLED = raises(RuntimeError, unchanged=False)


def _meddled(
    dll: pyo2.RustDLL, pts: list[Any], meddle: Callable[[], object], check: Callable[[Outcome], None]
) -> Outcome:
    with Meddler(meddle) as meddler:
        outcome = call(dll.rec_slow_normalize, pts, MS, expect_in="nothing was written back")
    meddler.thread.join()
    outcome.check(meddler.runs == 1 and not meddler.errors, f"the meddler failed: {meddler.errors}")
    check(outcome)
    return outcome


@case("thread-sets-a-field-of-mut-slice", MEDDLED)
def _thread_field(dll: pyo2.RustDLL) -> Outcome:
    pts = [point(dll, 3.0, 4.0), point(dll, 6.0, 8.0)]

    def check(o: Outcome) -> None:
        o.check(fields(pts[0], "x", "y") == [3.0, 4.0], f"Rust's values were written: {pts}")
        o.check(fields(pts[1], "x", "y") == [100.0, 8.0], f"the other thread's change was lost: {pts}")

    return _meddled(dll, pts, lambda: setattr(pts[1], "x", 100.0), check)


@case("thread-sets-a-key-of-dict-record", MEDDLED)
def _thread_dict(dll: pyo2.RustDLL) -> Outcome:
    d = {"x": 3.0, "y": 4.0}

    def check(o: Outcome) -> None:
        o.check(d == {"x": 3.0, "y": 5.0}, f"the dict is {d}")

    return _meddled(dll, [d], lambda: d.__setitem__("y", 5.0), check)


@case("thread-appends-to-mut-slice", MEDDLED)
def _thread_append(dll: pyo2.RustDLL) -> Outcome:
    first, extra = point(dll, 3.0, 4.0), point(dll, 1.0, 1.0)
    pts = [first]

    def check(o: Outcome) -> None:
        o.check(list.copy(pts) == [first, extra], f"the list is {pts}")
        o.check(fields(first, "x") == [3.0], f"Rust's values were written: {first}")

    return _meddled(dll, pts, lambda: pts.append(extra), check)


@case("thread-replaces-item-of-mut-slice", MEDDLED)
def _thread_replace(dll: pyo2.RustDLL) -> Outcome:
    first, other = point(dll, 3.0, 4.0), point(dll, 0.0, 2.0)
    pts = [first]

    def check(o: Outcome) -> None:
        o.check(list.copy(pts)[0] is other, f"the list is {pts}")
        o.check(fields(first, "x") == [3.0] and fields(other, "y") == [2.0], f"written: {first} {other}")

    return _meddled(dll, pts, lambda: pts.__setitem__(0, other), check)


@case("thread-sets-the-same-value-again", returns(5.0))
def _thread_same(dll: pyo2.RustDLL) -> Outcome:
    # An equal float put back (a new object) is no change: Rust's values are written.
    p = point(dll, 3.0, 4.0)
    with Meddler(lambda: setattr(p, "y", float("4.0"))):
        outcome = call(dll.rec_slow_normalize, [p], MS)
    return outcome.check(fields(p, "x", "y") == [0.6, 0.8], f"p is {p}")


@case("thread-sets-a-field-of-mut-record", MEDDLED)
def _thread_record(dll: pyo2.RustDLL) -> Outcome:
    p = point(dll, 1.0, 2.0)
    with Meddler(lambda: setattr(p, "y", 9.0)):
        outcome = call(dll.rec_slow_translate, p, 1.0, MS, expect_in="was changed during the call")
    return outcome.check(fields(p, "x", "y") == [1.0, 9.0], f"p is {p}")


@case("thread-writes-numpy-array-before-or-after-the-call", returns())
def _thread_numpy(dll: pyo2.RustDLL) -> Outcome:
    # A zero-copy call keeps the GIL: the other thread's write comes wholly
    # before Rust's (if it ran while the arguments were converted) or after.
    a = _points(dll, 1)
    a["x"], a["y"] = 3.0, 4.0

    def meddle() -> None:
        a[0] = (7.0, 7.0)

    with Meddler(meddle) as meddler:
        outcome = call(dll.rec_slow_normalize, a, MS)
    meddler.thread.join()
    after = a.tolist() == [(7.0, 7.0)] and outcome.value == "5.0"
    n = math.sqrt(98.0)
    before = outcome.value == repr(n) and a.tolist() == [(7.0 / n, 7.0 / n)]
    return outcome.check(after or before, f"a mix: returned {outcome.value}, a is {a}")


# ---------------------------------------------------------------------------
# The test.


@pytest.mark.parametrize("name", SUITE.names())
def test_hostile_records(worker: Worker, name: str) -> None:
    SUITE.check(worker, name)
