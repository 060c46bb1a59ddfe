"""PyO3's MyClass and PyClassIter, and two callbacks, through pyo2.

Build it first (from the repository root):

    cargo build --release -p objects
    python examples/objects/objects.py
"""

import gc
import weakref
from pathlib import Path

import pyo2

HERE = Path(__file__).resolve().parent
CANDIDATES = [HERE / "libobjects.so", HERE.parents[1] / "target" / "release" / "libobjects.so"]
dll = pyo2.RustDLL(next((p for p in CANDIDATES if p.exists()), CANDIDATES[-1]))
MyClass = dll.types.MyClass
PyClassIter = dll.types.PyClassIter

print("-- MyClass --")
obj = MyClass(32, "answer")  # #[new]
print("num:", obj.num, "name:", obj.name)  # #[getter]s are properties
print("method:", obj.method())
print("default_num:", MyClass.default_num())  # a static method
try:
    MyClass(1, "")
except pyo2.RustError as e:  # #[new] returned Err(e)
    print("RustError:", e)
with MyClass(7, "scratch") as tmp:  # `with` drops the Rust value at the end
    print("in with:", tmp.method())
try:
    tmp.method()
except ValueError as e:  # closed
    print("ValueError:", e)

print("-- PyClassIter --")
it = PyClassIter()
print("next:", it.next(), it.next())  # PyO3's __next__ body: Option<usize>
print("rest:", list(it.rest()))  # a pyo2::Iter<usize> is a Python iterator
print("until None:", list(iter(PyClassIter().next, None)))
print("count_to:", [n * n for n in dll.count_to(5)])

print("-- callbacks --")
hits = []


def on_hit(index: int, word: str) -> bool:
    hits.append((index, word))
    return word != "jumps"  # False stops the scan


print("scan:", dll.scan("the quick brown fox jumps over the lazy dog", 4, on_hit), hits)


def fails(index: int, word: str) -> bool:
    raise KeyError(word)


try:
    dll.scan("a longword", 3, fails)
except KeyError as e:  # the callback's own exception, out of the outer call
    print("KeyError from the callback:", e)

messages: list[str] = []
dll.set_logger(messages.append)  # a stored pyo2::Callback: Rust keeps it
obj.increment(10)  # Rust logs through it
dll.log_from_threads("hello", 3)  # from 3 Rust threads at once
print("logged:", messages[0])
print("from threads:", sorted(messages[1:]))


class Sink:
    def __call__(self, message: str) -> None:
        pass


sink = Sink()
alive = weakref.ref(sink)
dll.set_logger(sink)  # releases the list's append
del sink
gc.collect()
print("kept by Rust:", alive() is not None)
dll.clear_logger()  # Rust drops it: Python's reference goes too
gc.collect()  # (PyPy frees objects only when it collects)
print("released:", alive() is None)
obj.close()
obj.close()  # idempotent
