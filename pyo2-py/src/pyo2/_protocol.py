"""The type of what :class:`pyo2.RustDLL` returns for a function name.

Imports point down: :mod:`pyo2._dll` uses this module (for its annotations);
it uses :mod:`pyo2._types` (for its own), and nothing above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._types import Signature

__all__ = ["RustFunction"]


@runtime_checkable
class RustFunction(Protocol):
    """A Rust function as Python sees it: a plain Python function with these
    attributes. ``isinstance(f, pyo2.RustFunction)`` checks for them.

    It introspects as the Rust function: ``inspect.signature(f)`` (and so
    ``help(f)``) shows the Rust parameter names annotated with the Python
    types each accepts, as ``python -m pyo2 stubgen`` writes them
    (``(v: list[float] | bytearray | memoryview | array.array[typing.Any],
    k: float) -> float``); ``f.__module__`` names the library
    (``pyo2.lib.mylib`` for ``libmylib.so``) and ``f.__qualname__`` is the
    Rust name; ``f.__doc__`` is the Rust signature and doc comment. A wrong
    call raises ``TypeError`` in Python's own words, followed by the Rust
    signature: ``scale() missing 1 required positional argument: 'k' (fn
    scale(v: &mut PyVec<f64>, k: f64) -> f64)``. Its generated source is in
    :mod:`linecache`, so tracebacks, ``pdb`` and
    ``inspect.getsource(f)`` show it.

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
    #: The Rust name too (``__module__`` names the library: ``pyo2.lib.mylib``).
    __qualname__: str
    #: The library the function lives in: a :class:`pyo2.RustDLL`.
    dll: Any
    #: The symbol name.
    name: str
    #: The signature (exported or declared), or ``None`` when each call infers one.
    signature: Signature | None
    #: The doc comment of an exported function ("" otherwise).
    doc: str
    #: The raw ctypes function at the symbol's address, with ``argtypes`` and
    #: ``restype`` from the signature: no argument checks, no conversion, no
    #: write-back. A 64-bit integer parameter is a ``c_void_p``; a ``PyVec``
    #: is a pointer to its header; an exported function takes one more
    #: pointer, to a 32-byte result slot, and returns a status (see
    #: ``pyo2::abi``). Without a signature: ``restype`` ``c_int`` and no
    #: ``argtypes``, as ``ctypes.CDLL`` gives it.
    #:
    #: .. versionadded:: 0.2
    c_function: Any

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
