"""The type of what :class:`pyo2.RustDLL` returns for a function name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._dll import RustDLL
    from ._types import Signature

__all__ = ["RustFunction"]


@runtime_checkable
class RustFunction(Protocol):
    """A Rust function as Python sees it: a plain Python function (so
    ``inspect.signature`` and ``help`` show the Rust parameter names) with
    these attributes. ``isinstance(f, pyo2.RustFunction)`` checks for them.

    Its signature comes from the first source that has one:

    1. the library, for a function exported with ``#[pyo2::export]``: calls
       are checked against the real Rust types, take keyword arguments, return
       owned values (``String`` → ``str``, ``Vec<T>`` → ``list``, ``None``),
       and raise :class:`pyo2.RustError` / :class:`pyo2.RustPanic`;
    2. :func:`pyo2.declare` (``dll.declare``): calls are checked against the declaration,
       take keyword arguments, and return the declared type;
    3. otherwise each call infers one from the values passed (``int`` →
       ``i64``, ``float`` → ``f64``, ``str``/``bytes`` → ``&PyStr``, ``list``
       → ``&mut PyVec<T>``) and returns ``None``.

    .. versionadded:: 0.2
    """

    #: The Rust name, as for any Python function.
    __name__: str
    #: The library the function lives in.
    dll: RustDLL
    #: The symbol name.
    name: str
    #: The signature (exported or declared), or ``None`` when each call infers one.
    signature: Signature | None
    #: The doc comment of an exported function ("" otherwise).
    doc: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
