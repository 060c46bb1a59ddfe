"""The exceptions pyo2 raises.

Every exception specific to pyo2 derives from :class:`Pyo2Error`; errors in
the values a caller passes are the builtin ``TypeError``, ``OverflowError``
and ``ValueError``, whose messages name the function, the parameter and the
Rust type it wanted::

    Exception
     ├── Pyo2Error
     │    ├── SignatureError  (also a ValueError)
     │    ├── RustPanic
     │    └── RustError
     ├── TypeError / OverflowError / ValueError / UnicodeError  (bad arguments)
     ├── AttributeError  (unknown function, with close names)
     └── OSError  (library missing or not a library, with the path tried)
"""

from __future__ import annotations

__all__ = ["Pyo2Error", "RustError", "RustPanic", "SignatureError"]


class Pyo2Error(Exception):
    """Base class of every exception specific to pyo2.

    .. versionadded:: 0.2
    """


class SignatureError(Pyo2Error, ValueError):
    """A declaration given to :meth:`RustDLL.declare` does not parse.

    The message points at the bad token; the attributes carry the details.

    Example::

        >>> import pyo2
        >>> try:
        ...     pyo2.parse_signature("fn f(x: i65)")
        ... except pyo2.SignatureError as e:
        ...     print(e.column, e.token)
        9 i65

    .. versionadded:: 0.2
    """

    def __init__(self, message: str, text: str, column: int, token: str) -> None:
        #: The full declaration text.
        self.text = text
        #: 1-based column of the bad token in the (single-line) text.
        self.column = column
        #: The bad token, or ``""`` at the end of the text.
        self.token = token
        self.reason = message
        caret = " " * (column - 1) + "^" * max(1, len(token))
        super().__init__(f"{message}, at column {column}\n    {text}\n    {caret}")


class RustPanic(Pyo2Error):
    """A Rust function exported with ``#[pyo2::export]`` panicked.

    The message is the panic's message; the interpreter keeps running.

    .. versionadded:: 0.2
    """


class RustError(Pyo2Error):
    """A Rust function exported with ``#[pyo2::export]`` returned ``Err(e)``.

    The message is ``e``'s ``Display``.

    .. versionadded:: 0.2
    """
