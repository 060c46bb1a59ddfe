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


class _RustFailure(Pyo2Error):
    """A call into Rust that failed on the Rust side."""

    def __init__(self, message: str, function: str) -> None:
        #: The message: the panic's, or the error's ``Display``.
        self.message = message
        #: The name of the Rust function.
        self.function = function
        super().__init__(message)

    def __reduce__(self) -> tuple[type[_RustFailure], tuple[object, ...]]:
        return (type(self), (self.message, self.function))


class RustPanic(_RustFailure):
    """A Rust function exported with ``#[pyo2::export]`` panicked.

    ``e.message`` is the panic's message, ``e.function`` the function's name,
    and ``e.file``, ``e.line`` and ``e.column`` where the panic happened (as
    Rust reports it: the file relative to the crate's workspace, a 1-based
    line and column); ``e.location`` is ``"file:line:column"``. ``str(e)`` is
    the message followed by `` (at file:line:column)``. The location is None
    when Rust didn't report one (a library built with an older pyo2, or a
    panic hook set by the library that replaced pyo2's).

    The panic was caught at the boundary: the interpreter keeps running, the
    next call works, and lists passed to the call are left as they were
    (buffers lent in place keep what Rust wrote before panicking). Rust's
    panic hook prints nothing for it unless the environment variable
    ``PYO2_PANIC_OUTPUT`` is ``1`` when the library's first call runs.

    Example::

        >>> try:
        ...     dll.ex_index([7], 5)  # fn ex_index(v: &[i64], i: usize) -> i64 { v[i] }
        ... except pyo2.RustPanic as e:
        ...     print(e.function, "panicked:", e.message)
        ...     print(e.location)
        ex_index panicked: index out of bounds: the len is 1 but the index is 5
        tests/fixture/src/exported.rs:180:5

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        message: str,
        function: str,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, function)
        #: The source file of the panic, or None if unknown.
        self.file = file
        #: Its 1-based line, or None.
        self.line = line
        #: Its 1-based column, or None.
        self.column = column
        if file is not None:
            self.args = (f"{message} (at {self.location})",)

    @property
    def location(self) -> str | None:
        """``"file:line:column"``, or None if unknown."""
        if self.file is None:
            return None
        return f"{self.file}:{self.line}:{self.column}"

    def __reduce__(self) -> tuple[type[_RustFailure], tuple[object, ...]]:
        return (type(self), (self.message, self.function, self.file, self.line, self.column))


class RustError(_RustFailure):
    """A Rust function exported with ``#[pyo2::export]`` returned ``Err(e)``.

    ``str(err)`` and ``err.message`` are ``e``'s ``Display``, ``err.function``
    the function's name. The call returned normally, so lists passed as
    ``&mut`` do get what Rust wrote.

    Example::

        >>> try:
        ...     dll.ex_parse("x")  # fn ex_parse(s: &str) -> Result<i64, ParseIntError>
        ... except pyo2.RustError as e:
        ...     print(e)
        invalid digit found in string

    .. versionadded:: 0.2
    """
