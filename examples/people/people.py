"""A Person between Python and Rust, twice: JSON strings by hand, then records.

Build it first (from the repository root):

    cargo build --release -p people
    python examples/people/people.py
"""

import json
from pathlib import Path

import pyo2

HERE = Path(__file__).resolve().parent
CANDIDATES = [HERE / "libpeople.so", HERE.parents[1] / "target" / "release" / "libpeople.so"]
dll = pyo2.RustDLL(next((p for p in CANDIDATES if p.exists()), CANDIDATES[-1]))

people = [
    {"name": "Ada", "age": 36, "tags": ["maths", "engines"]},
    {"name": "Grace", "age": 85, "tags": ["navy", "cobol"]},
    {"name": "Linus", "age": 85, "tags": []},
]

# Before records: serialize, call a function that takes and returns a string,
# parse the answer, and turn it back into something with fields.
print("-- JSON by hand --")
answer = json.loads(dll.oldest_json(json.dumps(people)))
print("oldest:", answer["name"], answer["age"], answer["tags"])
print("nobody:", json.loads(dll.oldest_json("[]")))
print("bad input:", json.loads(dll.oldest_json('[{"name": "Ada"}]'))["error"])

# With records: the library describes Person; dll.types.Person is its class,
# and any object with the fields (a dict here) is accepted as one.
print("-- records --")
Person = dll.types.Person
print(dll.oldest.signature)
oldest = dll.oldest(people)
print("oldest:", oldest.name, oldest.age, oldest.tags)
print("repr:", oldest)
print("nobody:", dll.oldest([]))
try:
    dll.oldest([{"name": "Ada"}])
except TypeError as e:  # checked in Python, before the call
    print("bad input:", e)
print("same answer:", oldest == Person(**answer))

# A plain #[repr(C)] record: &mut [Point] is written back into the list
# (the same objects), and a numpy structured array is passed without a copy.
print("-- plain records --")
Point = dll.types.Point
points = [Point(3.0, 4.0), Point(0.0, 2.0)]
print("longest:", dll.normalize(points))
print("normalized:", points)
try:
    import numpy as np
except ImportError:
    print("numpy: not installed")
else:
    arr = np.array([(3.0, 4.0), (0.0, 2.0)], dtype=Point.dtype)
    dll.normalize(arr)
    print("numpy:", arr.tolist())
