"""Hostile arguments for property tests, described by plain data.

:data:`KINDS` maps a name to a builder that turns a list of ints into a
hostile object: a list subclass with lying dunders, a fake list, items that
lie, or a list an item's conversion changes. A spec (kind + items) crosses
to the worker process as JSON and is built there (``strategies.hostile_objects``
builds it in place).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adversarial import liars as L


class Appends:
    """An item that claims to be an int and appends ``sentinel`` to ``target`` when converted."""

    __class__ = property(lambda self: int)

    def __init__(self, target: list[Any], value: int) -> None:
        self.target: list[Any] | None = target
        self.value = value

    def __index__(self) -> int:
        target, self.target = self.target, None
        if target is not None:
            target.append(SENTINEL)
        return self.value


class SetRaises(list):  # type: ignore[type-arg]
    def __setitem__(self, i: Any, value: Any) -> None:
        raise RuntimeError("__setitem__ refuses")


#: What an :class:`Appends` item appends.
SENTINEL = 4242


def _appending(items: list[int]) -> list[Any]:
    lst: list[Any] = list(items)
    lst.append(Appends(lst, 1))
    return lst


KINDS: dict[str, Callable[[list[int]], Any]] = {
    "long-len": L.LongLen,
    "huge-len": L.HugeLen,
    "short-len": L.ShortLen,
    "looks-empty": L.ZeroLen,
    "other-iter": L.OtherIter,
    "other-items": L.OtherItems,
    "len-raises": L.RaisingLen,
    "all-lies": L.EverythingLies,
    "honest-subclass": L.Honest,
    "setitem-raises": SetRaises,
    "fake-list": L.FakeList,
    "fake-list-long": lambda items: L.FakeList(items, 10**6),
    "int-lie-items": lambda items: [L.IntLie(x) for x in items],
    "appends-while-converted": _appending,
}

#: Kinds that change themselves while converted: their result isn't one list's.
MUTATORS = {"appends-while-converted"}


def build(kind: str, items: list[int]) -> Any:
    """The hostile object ``kind`` holding ``items``."""
    return KINDS[kind](items)


def real_items(obj: Any) -> list[Any] | None:
    """The items ``obj`` really holds (None for an object that is no list)."""
    if isinstance(obj, L.FakeList):
        return list(obj.items)
    if issubclass(type(obj), list):
        return [int.__int__(x) if issubclass(type(x), int) else x for x in list.copy(obj)]
    return None
