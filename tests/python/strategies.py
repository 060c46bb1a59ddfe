"""Every Hypothesis strategy the tests share, in one place (importable as
``strategies``)."""

from __future__ import annotations

import decimal
import enum
import fractions
import math
import struct
from typing import Any

from hypothesis import strategies as st

from pyo2._types import SCALARS, Scalar

#: The integer scalar types, by name.
INT_TYPES = ["i8", "i16", "i32", "i64", "isize", "u8", "u16", "u32", "u64", "usize"]
#: Every scalar type, by name.
ALL_TYPES = [*INT_TYPES, "f32", "f64", "bool"]


def ints(name: str) -> st.SearchStrategy[int]:
    """Any value of an integer type, its bounds included often."""
    t = SCALARS[name]
    assert t.lo is not None and t.hi is not None
    return st.one_of(st.integers(t.lo, t.hi), st.sampled_from([t.lo, t.hi, 0]))


def f32s() -> st.SearchStrategy[float]:
    """Any f32 value, as Python floats: infinities, NaN, -0.0 and extremes included."""
    return st.one_of(
        st.floats(width=32),
        st.sampled_from(
            [float("inf"), -float("inf"), float("nan"), -0.0, 3.4028234663852886e38, 1.401298464324817e-45]
        ),
    )


def f64s() -> st.SearchStrategy[float]:
    """Any f64 value: infinities, NaN, -0.0, the extremes and subnormals included."""
    return st.one_of(
        st.floats(),
        st.sampled_from([float("inf"), -float("inf"), float("nan"), -0.0, 1.7976931348623157e308, 5e-324]),
    )


def values_of(name: str) -> st.SearchStrategy[Any]:
    """Any valid value of the scalar type ``name``."""
    if name == "bool":
        return st.booleans()
    if name == "f32":
        return f32s()
    if name == "f64":
        return f64s()
    return ints(name)


def wrap(name: str, x: int) -> int:
    """``x`` wrapped into ``name``'s range, as Rust's wrapping arithmetic does."""
    t = SCALARS[name]
    assert t.lo is not None
    return (x - t.lo) % (1 << (8 * t.size)) + t.lo


def same(a: Any, b: Any) -> bool:
    """Equal, with floats compared bit for bit (NaN equals NaN, -0.0 differs from 0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def as_f32(x: float) -> float:
    """``x`` rounded to f32 (inf when out of range), as Rust stores it."""
    return x if math.isnan(x) else float(struct.unpack("f", struct.pack("f", x))[0])


def scalar_type(name: str) -> Scalar:
    return SCALARS[name]


# -- values of the wrong kind ------------------------------------------------


class Color(enum.IntEnum):
    RED = 1
    HUGE = 2**63


class Index:
    """Not an int, but usable as one (``__index__``)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"Index({self.value})"


class Liar(int):
    """An int subclass whose comparisons always say yes."""

    def __le__(self, other: object) -> bool:
        return True

    def __ge__(self, other: object) -> bool:
        return True


class Floaty:
    def __float__(self) -> float:
        return 2.5


#: Any single value a scalar parameter might be given, right or wrong.
ANY_SCALAR = st.one_of(
    st.integers(-(2**65), 2**65),
    st.sampled_from([0, 1, -1, 2**7, 2**8, 2**15, 2**16, 2**31, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64]),
    st.floats(),
    st.floats(width=32),
    st.sampled_from([3.5e38, -3.5e38, 3.4028235e38, 1e39, 1e308, float("inf"), float("nan"), -0.0]),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.decimals(allow_nan=True).map(lambda d: decimal.Decimal("NaN") if d.is_snan() else d),
    st.fractions(max_denominator=5).map(fractions.Fraction),
    st.sampled_from(
        [Color.RED, Color.HUGE, Index(3), Index(2**64), Index(-1), Liar(2**63 + 5), Liar(-5), Floaty()]
    ),
    st.lists(st.integers(), max_size=2),
)

#: A list item, right or wrong for most element types.
ITEMS = st.one_of(
    st.integers(-(2**64), 2**64),
    st.integers(0, 255),
    st.floats(),
    st.floats(width=32),
    st.booleans(),
    st.none(),
    st.text(max_size=2),
)

#: Lists, often of one right type, sometimes with a wrong item.
LISTS = st.one_of(
    st.lists(ITEMS, max_size=6),
    st.lists(st.integers(0, 255), max_size=6),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=6),
    st.lists(st.floats(width=32), max_size=6),
    st.lists(st.booleans(), max_size=6),
)

#: Anything a view parameter (``&PyVec<T>``, ``&PyStr``) might be given.
VIEW_ARGS = st.one_of(
    LISTS,
    st.text(max_size=4),
    st.binary(max_size=4),
    st.builds(bytearray, st.binary(max_size=4)),
    st.tuples(st.integers()),
    st.integers(),
)

#: A nested, possibly ragged, list of ints.
RAGGED = st.lists(st.lists(st.integers(-(2**40), 2**40), max_size=8), max_size=8)

#: Any Python value pyo2 might be handed, nested lists included.
ANYTHING = st.recursive(
    st.one_of(
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.booleans(),
        st.text(max_size=5),
        st.binary(max_size=5),
        st.none(),
    ),
    lambda children: st.lists(children, max_size=4),
    max_leaves=12,
)


# -- hostile objects (the adversarial suite) --------------------------------------

from adversarial.hostile import KINDS, build  # noqa: E402


def hostile_specs() -> st.SearchStrategy[dict[str, Any]]:
    """A hostile object as plain data (kind and items), to build in another process."""
    return st.fixed_dictionaries(
        {
            "kind": st.sampled_from(sorted(KINDS)),
            "items": st.lists(st.integers(-(2**63), 2**63 - 1) | st.integers(-3, 3), max_size=5),
        }
    )


def hostile_objects() -> st.SearchStrategy[Any]:
    """Lists that lie (subclasses with lying dunders, fake lists, lying items) and
    lists whose conversion changes them."""
    return hostile_specs().map(lambda spec: build(spec["kind"], spec["items"]))
