"""Calls without a declaration: the signature is inferred from the values."""

from __future__ import annotations

import math
import platform
import shutil
import subprocess
import sys
from array import array
from pathlib import Path

import pytest

import pyo2
from support import ROOT, library


def test_seed_example_prints_exactly_what_design_md_says(tmp_path: Path) -> None:
    # examples/hello/hello.py verbatim, next to its freshly built library, as scripts/hello runs it.
    shutil.copy(library("hello", "mylib"), tmp_path / "libmylib.so")
    shutil.copy(ROOT / "examples" / "hello" / "hello.py", tmp_path)
    out = subprocess.run(
        [sys.executable, "hello.py"], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out == "Hello, World!\nSum of numbers: 15\n[6, 2, 3, 4, 5]\n"


def test_seed_example_from_python(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    dll = pyo2.RustDLL(library("hello", "mylib"))
    lst = [1, 2, 3, 4, 5]
    assert dll.test("World", lst) is None
    assert lst == [6, 2, 3, 4, 5]
    assert capfd.readouterr().out == "Hello, World!\nSum of numbers: 15\n"


def test_seed_example_is_checked_by_its_descriptor() -> None:
    """The seed's extern "C" fn carries #[pyo2::export]: a wrong value is refused, not reinterpreted."""
    dll = pyo2.RustDLL(library("hello", "mylib"))
    assert str(dll.test.signature) == "fn test(name: &PyStr, numbers: &mut PyVec<i64>)"
    lst = [1.5, 2.5]
    with pytest.raises(TypeError, match=r"parameter 'numbers' \(&mut PyVec<i64>\): item \[0\]"):
        dll.test("World", lst)
    assert lst == [1.5, 2.5]


def test_int_list_is_mut_pyvec_i64_written_back_in_place(dll: pyo2.RustDLL) -> None:
    lst = [1, -2, 3, 2**62]
    before = id(lst)
    dll.double_i64(lst)
    assert lst == [2, -4, 6, -(2**63)]  # Rust's wrapping_mul, as Rust computed it
    assert id(lst) == before


def test_float_and_bool_lists(dll: pyo2.RustDLL) -> None:
    floats = [1.5, -0.0, float("inf")]
    dll.double_f64(floats)
    assert floats == [3.0, -0.0, float("inf")]
    flags = [True, False, False]
    dll.double_bool(flags)  # double_bool negates
    assert flags == [False, True, True]
    assert all(type(b) is bool for b in flags)


def test_empty_list_is_a_null_view(dll: pyo2.RustDLL) -> None:
    lst: list[int] = []
    dll.double_i64(lst)
    assert lst == []
    is_null = dll.declare("fn is_null(v: &PyVec<i64>) -> bool")
    assert is_null([]) is True
    assert is_null([1]) is False


def test_str_crosses_as_utf8(dll: pyo2.RustDLL) -> None:
    count = dll.declare("fn char_count(s: &PyStr) -> i64")
    byte_len = dll.declare("fn byte_len(s: &PyStr) -> u64")
    for text in ["", "a", "héllo", "日本語", "🦀 crab", "\0nul\0"]:
        assert count(text) == len(text)
        assert byte_len(text) == len(text.encode())


def test_bytes_and_str_are_never_mutated_under_inference(dll: pyo2.RustDLL) -> None:
    # bump_bytes takes &mut PyVec<u8> and writes; inference can't know, so it copies.
    data = b"abc"
    single = b"a"  # CPython caches one-byte bytes objects: writing it would corrupt every b"a"
    text = "xyz"
    dll.bump_bytes(data)
    dll.bump_bytes(single)
    dll.bump_bytes(text)
    dll.bump_bytes("a")
    assert data == b"abc"
    assert single == b"a" and bytes([97]) == b"a"
    assert text == "xyz" and "a" + "" == "a"


def test_nested_lists_written_back_recursively_with_identity(dll: pyo2.RustDLL) -> None:
    rows = [[1, 2], [], [3]]
    inner = [id(r) for r in rows]
    dll.nested_bump(rows)
    assert rows == [[2, 3], [], [24]]
    assert [id(r) for r in rows] == inner


def test_rust_moving_inner_lists_moves_the_same_objects(dll: pyo2.RustDLL) -> None:
    a, b, c = [1], [2, 2], [3, 3, 3]
    outer = [a, b, c]
    dll.nested_swap_ends(outer)
    assert outer == [[3, 3, 3], [2, 2], [1]]
    assert outer[0] is c and outer[1] is b and outer[2] is a


def test_three_levels_deep(dll: pyo2.RustDLL) -> None:
    cube = [[[1.0, -2.0], []], [[3.5]]]
    leaf = cube[1][0]
    dll.deep_negate(cube)
    assert cube == [[[-1.0, 2.0], []], [[-3.5]]]
    assert cube[1][0] is leaf


def test_list_of_str_and_bytes(dll: pyo2.RustDLL) -> None:
    words: list[str | bytes] = ["ab", b"cde", "", "é"]
    dll.reverse_strs(words)
    assert words == ["é", "", b"cde", "ab"]


def test_rust_swapping_two_views_swaps_the_lists(dll: pyo2.RustDLL) -> None:
    a, b = [1, 2, 3], [9]
    dll.swap_views(a, b)
    assert a == [9] and b == [1, 2, 3]


def test_bytearray_is_zero_copy_and_written_in_place(dll: pyo2.RustDLL) -> None:
    buf = bytearray(b"abc")
    dll.bump_bytes(buf)
    assert buf == bytearray(b"bcd")
    buf.extend(b"!")  # the export was released after the call
    assert buf == bytearray(b"bcd!")


def test_array_and_memoryview_are_zero_copy(dll: pyo2.RustDLL) -> None:
    arr = array("d", [1.0, 2.0])
    dll.double_f64(arr)
    assert arr == array("d", [2.0, 4.0])
    words = array("H", [0, 0, 0])
    dll.iota_u16(memoryview(words))
    assert words.tolist() == [0, 1, 2]
    raw = bytearray(8)
    dll.iota_u16(memoryview(raw).cast("H")[1:3])
    assert array("H", bytes(raw)).tolist() == [0, 0, 1, 0]


def test_misaligned_buffer_is_copied_in_and_out(dll: pyo2.RustDLL) -> None:
    raw = bytearray(17)
    view = memoryview(raw)[1:].cast("q")  # 8-byte items at an odd address
    view[0], view[1] = 5, -7
    dll.double_i64(view)
    assert view.tolist() == [10, -14]


def test_read_only_buffer_is_copied_not_written(dll: pyo2.RustDLL) -> None:
    data = bytes(array("d", [1.0, 2.0]))
    view = memoryview(data).cast("d")
    dll.double_f64(view)
    assert view.tolist() == [1.0, 2.0]


def test_list_of_buffers(dll: pyo2.RustDLL) -> None:
    a, b = array("q", [1, 2]), array("q", [3])
    outer = [a, b]
    dll.nested_bump(outer)
    assert a.tolist() == [2, 3] and b.tolist() == [14]
    assert outer[0] is a and outer[1] is b


def test_scalar_arguments(dll: pyo2.RustDLL) -> None:
    # Inferred calls return None (the return type is unknown); declared ones return it.
    assert dll.mix(1, 2.5, False) is None
    mix = dll.declare("fn mix(a: i64, b: f64, negate: bool) -> f64")
    assert mix(1, 2.5, True) == -3.5


def test_int_subclass_and_float_subclass(dll: pyo2.RustDLL) -> None:
    class Count(int):
        pass

    values = [Count(3), Count(4)]
    dll.double_i64(values)
    assert values == [6, 8]


def test_each_call_infers_afresh(dll: pyo2.RustDLL) -> None:
    ints = [1, 2]
    floats = [1.5]
    dll.double_i64(ints)
    dll.double_f64(floats)
    assert ints == [2, 4] and floats == [3.0]


def test_threads_call_concurrently(dll: pyo2.RustDLL) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def work(k: int) -> list[int]:
        lst = list(range(k, k + 100))
        for _ in range(50):
            dll.double_i64(lst)
            lst[:] = [x // 2 for x in lst]
        return lst

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(16)))
    assert results == [list(range(k, k + 100)) for k in range(16)]


def lent_address(dll: pyo2.RustDLL, value: object) -> int:
    out = [0]
    dll.data_address(value, out)
    return out[0]


def test_buffers_are_lent_in_place_and_immutables_are_copied(dll: pyo2.RustDLL) -> None:
    import ctypes

    buf = bytearray(b"zero copy")
    arr = array("q", [1, 2, 3])
    if platform.python_implementation() == "CPython":
        assert lent_address(dll, buf) == ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
        assert lent_address(dll, arr) == arr.buffer_info()[0]
        assert lent_address(dll, memoryview(arr)[1:]) == arr.buffer_info()[0] + 8
    else:  # PyPy: buffers are lent as a private copy (see the README's limits)
        assert lent_address(dll, buf) != ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
        assert lent_address(dll, arr) != arr.buffer_info()[0]
    data = b"immutable"
    inside = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
    assert lent_address(dll, data) != inside  # inference copies
    declared = dll.declare("fn data_address(v: &PyStr, out: &mut PyVec<usize>)")
    out = [0]
    declared(data, out)
    if platform.python_implementation() == "CPython":
        assert out[0] == inside  # a declared & lends bytes in place
    else:
        # PyPy's GC moves objects, so ctypes hands C a copy of the bytes, every time.
        assert declared(data, out) is None and out[0] != 0


# -- lists of lists and long lists: converted in one block, written back per list ----------------


def test_rows_of_every_length_are_written_back_each_in_its_place(dll: pyo2.RustDLL) -> None:
    """The rows of a list of lists share one block and one run of headers:
    each row (empty ones are null views, long ones are packed a chunk at a
    time) gets its own items back, and stays the same object."""
    lengths = [0, 1, 3, 0, 4097, 2, 0, 9000, 5, 0]
    rows = [[i * 100_000 + j for j in range(n)] for i, n in enumerate(lengths)]
    ids = list(map(id, rows))
    expected = [[x + 10 * i + 1 for x in row] for i, row in enumerate(rows)]
    assert dll.nested_bump(rows) is None
    assert list(map(len, rows)) == lengths
    assert rows == expected
    assert list(map(id, rows)) == ids
    assert dll.nested_sum(rows) is None  # read only: nothing written back
    assert rows == expected and list(map(id, rows)) == ids


def test_rows_moved_between_two_arguments_are_the_same_objects(dll: pyo2.RustDLL) -> None:
    """Rust swapping two whole lists of rows (swap_views swaps the two views,
    whatever their elements): each list gets the other's row objects."""
    a0, a1, b0 = [1], [2, 3], [4, 5, 6]
    a, b = [a0, a1], [b0]
    dll.swap_views(a, b)
    assert a == [[4, 5, 6]] and b == [[1], [2, 3]]
    assert a[0] is b0 and b[0] is a0 and b[1] is a1


@pytest.mark.parametrize("mutable", [False, True])
def test_a_row_resized_while_the_rows_are_converted_is_refused(dll: pyo2.RustDLL, mutable: bool) -> None:
    """A later row's item that grows an earlier, already converted, row:
    RuntimeError before Rust runs, the item it added kept."""
    rows: list[list[object]] = [[1, 2], []]

    class Grows:
        def __index__(self) -> int:
            rows[0].append(3)
            return 4

    rows[1].append(Grows())
    f = (
        dll.declare("fn nested_bump(v: &mut PyVec<&mut PyVec<i64>>)")
        if mutable
        else dll.declare("fn nested_sum(v: &PyVec<&PyVec<i64>>) -> i64")
    )
    with pytest.raises(RuntimeError, match=r"changed size while it was converted \(from 2 to 3 items"):
        f(rows)
    assert rows[0] == [1, 2, 3]


def test_a_long_list_changed_only_at_its_end_is_written_back(dll: pyo2.RustDLL) -> None:
    """A long list's snapshot is kept in pieces: a change in the last one counts."""
    values = [0] * 5000 + [21]
    dll.double_i64(values)
    assert values[-1] == 42 and values[:-1] == [0] * 5000
    rows = [[0] * 4096, [0, 0, 21]]
    dll.nested_bump(rows)
    assert rows == [[1] * 4096, [11, 11, 32]]


def test_long_float_lists_compare_by_bits(dll: pyo2.RustDLL) -> None:
    """A long float list's snapshot is its bytes (in pieces): 0.0 turned to
    -0.0 is written back, and a NaN Rust left alone leaves the list as it was."""
    zeros = [0.0] * 5000
    dll.scale(zeros, -1.0)
    assert all(math.copysign(1.0, x) == -1.0 for x in zeros)
    nan = float("nan")
    same = [1.5] * 5000 + [nan]
    items = list(same)
    dll.scale(same, 1.0)
    assert all(a is b for a, b in zip(same, items))
    cube = [[[0.0] * 4097, []], [[2.5, -0.0]]]
    leaf = cube[0][0]
    dll.deep_negate(cube)
    assert cube[0][0] is leaf and len(leaf) == 4097
    assert all(math.copysign(1.0, x) == -1.0 for x in leaf)
    assert cube[1] == [[-2.5, 0.0]] and math.copysign(1.0, cube[1][0][1]) == 1.0
