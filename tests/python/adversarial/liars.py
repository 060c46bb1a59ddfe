"""Python objects that lie: subclasses whose dunders disagree with their real
contents, and objects that claim another class.

Every class here is built by a case inside the worker. The rule the cases
check: pyo2 reads length and data from the same C-level source (or refuses
the object with ``TypeError``), so Rust sees the object's *real* contents,
never past its buffer, and a ``&str`` is always valid UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, SupportsIndex

# -- lists ---------------------------------------------------------------------


class LongLen(list):  # type: ignore[type-arg]
    """Claims a million items: a reader that trusts ``len`` reads past the buffer."""

    def __len__(self) -> int:
        return 10**6


class HugeLen(list):  # type: ignore[type-arg]
    """Claims 2**40 items."""

    def __len__(self) -> int:
        return 2**40


class ShortLen(list):  # type: ignore[type-arg]
    def __len__(self) -> int:
        return 1


class ZeroLen(list):  # type: ignore[type-arg]
    """Looks empty from every dunder."""

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __bool__(self) -> bool:
        return False


class OtherIter(list):  # type: ignore[type-arg]
    """Iterates over other (and more) values than it holds."""

    def __iter__(self) -> Iterator[Any]:
        return iter([7, 8, 9, 10])


class OtherItems(list):  # type: ignore[type-arg]
    """Every index holds 99, says ``__getitem__``."""

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [99] * len(range(*i.indices(list.__len__(self))))
        return 99


class RaisingLen(list):  # type: ignore[type-arg]
    def __len__(self) -> int:
        raise ZeroDivisionError("no length today")


class EverythingLies(list):  # type: ignore[type-arg]
    """Long length, other items, other iteration, equal to anything."""

    def __len__(self) -> int:
        return 10**6

    def __iter__(self) -> Iterator[Any]:
        return iter([5] * 10)

    def __getitem__(self, i: Any) -> Any:
        return 5

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = None


class Honest(list):  # type: ignore[type-arg]
    """A subclass that tells the truth."""


class FakeList:
    """Not a list, but ``isinstance(x, list)`` says it is."""

    __class__ = property(lambda self: list)

    def __init__(self, items: list[Any], length: int | None = None) -> None:
        self.items = items
        self.length = len(items) if length is None else length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __getitem__(self, i: Any) -> Any:
        return self.items[i]

    def __setitem__(self, i: Any, value: Any) -> None:
        self.items[i] = value


# -- numbers -----------------------------------------------------------------


class IntLie(int):
    """An int whose conversions all say 7."""

    def __index__(self) -> int:
        return 7

    def __int__(self) -> int:
        return 7

    def __float__(self) -> float:
        return 7.0

    def __eq__(self, other: object) -> bool:
        return True

    def __lt__(self, other: int) -> bool:
        return False

    def __gt__(self, other: int) -> bool:
        return False

    def __le__(self, other: int) -> bool:
        return True

    def __ge__(self, other: int) -> bool:
        return True

    __hash__ = int.__hash__


class FloatLie(float):
    """A float whose ``__float__`` returns ``lie``."""

    lie = 100.0

    def __float__(self) -> float:
        return self.lie

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = float.__hash__


class FloatSaysOne(FloatLie):
    lie = 1.0


class FloatSaysHuge(FloatLie):
    lie = 1e39


class FloatRaises(float):
    def __float__(self) -> float:
        raise ZeroDivisionError("no float today")


class FakeInt:
    """Not an int, but ``isinstance(x, int)`` says it is; ``__index__`` says 5."""

    __class__ = property(lambda self: int)

    def __index__(self) -> int:
        return 5


class FakeFloat:
    """Not a float, but ``isinstance(x, float)`` says it is."""

    __class__ = property(lambda self: float)

    def __float__(self) -> float:
        return 5.0


# -- bytes and str -----------------------------------------------------------


class BytesLongLen(bytes):
    def __len__(self) -> int:
        return 10**6


class BytesHugeLen(bytes):
    def __len__(self) -> int:
        return 2**40


class BytesShortLen(bytes):
    def __len__(self) -> int:
        return 1


class BytesOther(bytes):
    """Every dunder but the buffer tells of other bytes."""

    def __bytes__(self) -> bytes:
        return b"a lie"

    def __iter__(self) -> Iterator[int]:
        return iter(b"a lie")

    def __getitem__(self, i: Any) -> Any:
        return b"a lie"[i]

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return "a lie"

    def __str__(self) -> str:
        return "a lie"


class StrEncodesLonger(str):
    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"x" * 100


class StrEncodesInvalid(str):
    """``encode`` returns bytes that are not UTF-8."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"\xff\xfe\xc3"


class StrEncodesLyingBytes(str):
    """``encode`` returns 2 bytes that claim to be 2**40."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return BytesHugeLen(b"ab")


class StrEncodesNotBytes(str):
    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> Any:
        return [104, 105]


class StrOther(str):
    """``__str__``, ``__len__``, ``__iter__`` and ``__getitem__`` tell of another string."""

    def __str__(self) -> str:
        return "a lie"

    def __len__(self) -> int:
        return 10**6

    def __iter__(self) -> Iterator[str]:
        return iter("a lie")

    def __getitem__(self, i: SupportsIndex | slice) -> str:
        return "a lie"


class StrHidesSurrogate(str):
    """Holds a lone surrogate, but ``encode`` returns valid UTF-8."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"fine"


class ByteArrayLongLen(bytearray):
    def __len__(self) -> int:
        return 10**6


class ByteArrayOther(bytearray):
    def __iter__(self) -> Iterator[int]:
        return iter(b"a lie")

    def __getitem__(self, i: Any) -> Any:
        return b"a lie"[i]

    def __len__(self) -> int:
        return 5


class FakeStr:
    """Not a str, but ``isinstance(x, str)`` says it is."""

    __class__ = property(lambda self: str)

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"hello"

    def __len__(self) -> int:
        return 5

    def __str__(self) -> str:
        return "hello"


class FakeBytes:
    """Not bytes, but ``isinstance(x, bytes)`` says it is."""

    __class__ = property(lambda self: bytes)

    def __len__(self) -> int:
        return 5

    def __bytes__(self) -> bytes:
        return b"hello"


def buffer_liar(data: bytes, length: int) -> Any:
    """An object whose buffer (``__buffer__``, Python 3.12+) holds ``data``
    but whose ``len`` says ``length``."""

    class BufferLiar:
        def __buffer__(self, flags: int) -> memoryview:
            return memoryview(bytearray(data))

        def __len__(self) -> int:
            return length

        def __bytes__(self) -> bytes:
            return b"a lie"

    return BufferLiar()


def fnv1a(data: bytes) -> int:
    """The FNV-1a hash the fixture computes."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) % 2**64
    return h
