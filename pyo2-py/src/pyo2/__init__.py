"""pyo2: call the ``extern "C"`` functions of a Rust ``cdylib`` from Python.

Lists, ``str``, ``bytes`` and buffers cross as ``repr(C)`` views
(``PyVec<T>`` / ``PyStr`` in the Rust crate ``pyo2``), and what Rust writes
through a ``&mut PyVec`` is written back into the Python lists::

    from pyo2 import RustDLL
    dll = RustDLL('./libmylib.so')
    lst = [1, 2, 3, 4, 5]
    dll.test('World', lst)
    print(lst)          # [6, 2, 3, 4, 5]

Every attribute of a ``RustDLL`` may be a library function (one named
``declare``, ``path`` or ``reload`` wins over pyo2's): :func:`declare`,
:func:`library_path` and :func:`reload` always reach pyo2's.
"""

from ._dll import RustDLL, declare, library_path, reload, types
from ._errors import Pyo2Error, RustError, RustPanic, SignatureError
from ._signature import parse_signature
from ._types import Signature

__all__ = [
    "Pyo2Error",
    "RustDLL",
    "RustError",
    "RustFunction",
    "RustPanic",
    "Signature",
    "SignatureError",
    "declare",
    "library_path",
    "parse_signature",
    "reload",
    "types",
]

__version__ = "0.2.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._protocol import RustFunction
del TYPE_CHECKING  # not a name of pyo2's

# The public API has one home: report every name as pyo2's, not a private module's.
for _name in __all__:
    if _name != "RustFunction":
        globals()[_name].__module__ = __name__
del _name


def __getattr__(name: str) -> "Any":
    # RustFunction is a typing.Protocol: typing is imported only when it is used.
    if name == "RustFunction":
        from ._protocol import RustFunction

        RustFunction.__module__ = __name__
        globals()[name] = RustFunction
        return RustFunction
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
