"""Word tools written in Rust, shipped in this package's wheel and called with pyo2."""

from pyo2 import RustDLL

_dll = RustDLL.find("wordtools_rs", package=__name__)

word_count = _dll.word_count
longest_word = _dll.longest_word

__all__ = ["longest_word", "word_count"]
