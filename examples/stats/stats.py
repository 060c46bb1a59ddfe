"""Call examples/stats from Python: signatures come from the library itself.

Build it first (from the repository root):

    cargo build --release -p stats
    python examples/stats/stats.py
"""

from pathlib import Path

import pyo2

HERE = Path(__file__).resolve().parent
CANDIDATES = [HERE / "libstats.so", HERE.parents[1] / "target" / "release" / "libstats.so"]
dll = pyo2.RustDLL(next((p for p in CANDIDATES if p.exists()), CANDIDATES[-1]))

print(dll.parse_numbers.signature)
values = dll.parse_numbers("3, 1, 4, 1, 5")  # Vec<f64> -> list
print("parsed:", values)
print("mean:", dll.mean(values))  # Option<f64> -> float
print("mean of nothing:", dll.mean([]))  # None -> None
print("summary:", dll.summary(values))  # String -> str

try:
    dll.parse_numbers("3, x")
except pyo2.RustError as e:  # Err(e) -> RustError, with e's Display
    print("RustError:", e)

weights = [2.0, 6.0]
dll.normalize(weights)  # &mut [f64]: written back into the list
print("normalized:", weights)
try:
    dll.normalize([0.0, 0.0])
except pyo2.RustError as e:
    print("RustError:", e)

try:
    dll.percentile(values, 300)
except OverflowError as e:  # checked in Python against the real type (u8) before the call
    print("OverflowError:", e)
try:
    dll.percentile(values, 101)
except pyo2.RustPanic as e:  # a panic -> RustPanic; the interpreter lives on
    print("RustPanic:", e)
print("median:", dll.percentile(values, p=50))
