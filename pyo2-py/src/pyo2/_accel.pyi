"""pyo2's optional compiled accelerator (``pyo2-py/rust``): see :mod:`pyo2._accelerate`."""

from typing import Any

#: The most parameters a plan may have.
MAX_PARAMS: int

class FunctionBase:
    """The class ``Function`` and ``Method`` extend (which CPython calls with vectorcall)."""

    def __new__(
        cls,
        entry: int,
        params: list[str],
        ret: str,
        names: list[str] | None,
        fallback: Any,
        failure: Any,
        release_gil: bool,
        name: str,
        repr: str,
        attrs: dict[str, Any],
        /,
    ) -> FunctionBase: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def __copy__(self) -> FunctionBase: ...
    def __deepcopy__(self, memo: Any, /) -> FunctionBase: ...
    #: The pure-Python function it falls back to.
    @property
    def fallback(self) -> Any: ...
    #: Whether calls release the GIL while Rust runs.
    @property
    def releases_gil(self) -> bool: ...
    @property
    def __dict__(self) -> dict[str, Any]: ...  # type: ignore[override]
    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...
    def __delattr__(self, name: str) -> None: ...

class Function(FunctionBase):
    """An exported Rust function called through its uniform entry point."""

class Method(Function):
    """A method of an exported class (a method descriptor: binds as a Python function)."""

def release_gil_always() -> None:
    """From now on every call releases the GIL (Rust may call Python from its threads)."""

def install_callbacks(table: dict[int, Any], report: Any, converters: dict[str, Any]) -> None:
    """Hands the compiled trampolines ``_callbacks._TABLE``, ``_report`` and the result converters."""

def trampoline(key: str) -> tuple[int, int] | None:
    """``(call, release)`` addresses of the compiled trampoline for ``"a1,a2->r"``, or None."""
