//! `pyo2._accel`: pyo2's optional compiled accelerator.
//!
//! A [`Function`] calls one `#[pyo2::export]` function through its uniform
//! entry point (see `pyo2::abi`, "The uniform entry point"):
//!
//! ```c
//! typedef union { int64_t i64; uint64_t u64; double f64; const void *ptr; } Pyo2Arg;
//! int32_t __pyo2_call__NAME(const Pyo2Arg *args, size_t nargs, Pyo2Slot *slot);
//! ```
//!
//! The Python side (`pyo2/_accelerate.py`) builds it from a *plan*: one code
//! per parameter and one for the return. The object is the callable itself:
//! it binds positional and keyword arguments, converts exactly the values it
//! knows (exact `int`, `float`, `bool`, `str`, `bytes` and `list` objects,
//! in range), calls, and converts the result. Anything else, and every
//! argument it is unsure of, goes to the pure-Python function (`fallback`)
//! with the original arguments, so every refusal and its message are the
//! pure path's. A status other than `OK` / `NONE` is turned into the pure
//! path's exception by a Python helper (`failure`), which also frees the
//! message buffer.
//!
//! Ownership rules are those of the pure path: every `OwnedBuf` is freed
//! once through its own `drop`; lists lent to a `&mut` parameter are packed
//! into private buffers, and written back (all or nothing) only when Rust
//! changed them, after checking the lists still hold what they held.
//!
//! This crate mirrors the few `pyo2::abi` types it needs (it can't depend on
//! the `pyo2` crate: the Python package is built on its own).

mod callbacks;

use std::ffi::{c_char, c_void};
use std::mem::{align_of, size_of, MaybeUninit};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit};

// ---------------------------------------------------------------------------
// The ABI (mirrors of pyo2::abi).

/// `Pyo2Arg`: one argument, at offset 0 of 8 bytes, in native representation.
#[repr(C)]
#[derive(Clone, Copy)]
union Arg {
    u64: u64,
    ptr: *const c_void,
}

const _: () = assert!(size_of::<Arg>() == 8 && align_of::<Arg>() == 8);

/// `pyo2::abi::Slot`: 32 bytes aligned to 8.
#[repr(C, align(8))]
struct Slot {
    _bytes: [MaybeUninit<u8>; 32],
}

/// `pyo2::abi::OwnedBuf`.
#[repr(C)]
struct OwnedBuf {
    ptr: *const u8,
    len: usize,
    cap: usize,
    drop: Option<unsafe extern "C" fn(*mut OwnedBuf)>,
}

const _: () = assert!(size_of::<OwnedBuf>() <= size_of::<Slot>());

/// A `PyVec` / `PyStr` header: `{ ptr, len }`.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
struct Header {
    ptr: *const c_void,
    len: usize,
}

const NO_HEADER: Header = Header {
    ptr: ptr::null(),
    len: 0,
};

/// The uniform entry point of an exported function.
type Entry = unsafe extern "C" fn(*const Arg, usize, *mut Slot) -> i32;

/// A vectorcall function (PEP 590): how CPython calls a [`Function`].
type Vectorcall = ffi::vectorcallfunc;

/// `Py_TPFLAGS_HAVE_VECTORCALL`: the type's instances hold a [`Vectorcall`]
/// at its `tp_vectorcall_offset`. The bit is part of the stable ABI since
/// Python 3.8; it is named in the limited API only from 3.12 (as pyo3-ffi
/// mirrors), so spelled out here.
const HAVE_VECTORCALL: std::ffi::c_ulong = 1 << 11;

/// `PY_VECTORCALL_ARGUMENTS_OFFSET`: a flag in `nargsf`, not a count.
const ARGUMENTS_OFFSET: usize = 1 << (usize::BITS - 1);

const OK: i32 = 0;
const NONE: i32 = 1;

/// Set once Python has handed Rust a callable (see [`release_gil_always`]):
/// from then on every call releases the GIL.
static RELEASE_ALWAYS: AtomicBool = AtomicBool::new(false);

/// The most parameters a plan may have (the Python side doesn't accelerate more).
const MAX_PARAMS: usize = 16;

// ---------------------------------------------------------------------------
// Scalars.

/// A scalar type, in parameters, list elements and returns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scalar {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    Bool,
}

/// The largest finite `f32`, as an `f64`.
const F32_MAX: f64 = f32::MAX as f64;

impl Scalar {
    fn parse(name: &str) -> Option<Scalar> {
        Some(match name {
            "i8" => Scalar::I8,
            "i16" => Scalar::I16,
            "i32" => Scalar::I32,
            "i64" => Scalar::I64,
            "u8" => Scalar::U8,
            "u16" => Scalar::U16,
            "u32" => Scalar::U32,
            "u64" => Scalar::U64,
            #[cfg(target_pointer_width = "64")]
            "isize" => Scalar::I64,
            #[cfg(target_pointer_width = "64")]
            "usize" => Scalar::U64,
            #[cfg(target_pointer_width = "32")]
            "isize" => Scalar::I32,
            #[cfg(target_pointer_width = "32")]
            "usize" => Scalar::U32,
            "f32" => Scalar::F32,
            "f64" => Scalar::F64,
            "bool" => Scalar::Bool,
            _ => return None,
        })
    }

    const fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 | Scalar::Bool => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::I64 | Scalar::U64 | Scalar::F64 => 8,
        }
    }

    /// Writes `obj`'s value as a `self` at `dst`, or returns false (with no
    /// Python error set) for any value that isn't exactly what the pure
    /// path's fast path takes: an exact `int` in range, an exact `float`
    /// (`f32`: finite ones within its range; `f64` also takes an exact
    /// `int` when `ints` is set, converted as ctypes and `struct` do), `True`
    /// or `False`.
    ///
    /// # Safety
    ///
    /// The GIL is held; `obj` is a valid object; `dst` is valid for writes
    /// of `self.size()` bytes, aligned for the type.
    #[inline(always)]
    unsafe fn put(self, obj: *mut ffi::PyObject, dst: *mut u8, ints: bool) -> bool {
        // SAFETY: the caller's guarantees; the checks below run no Python code.
        unsafe {
            match self {
                Scalar::Bool => {
                    let v = if obj == ffi::Py_True() {
                        1
                    } else if obj == ffi::Py_False() {
                        0
                    } else {
                        return false;
                    };
                    dst.write(v);
                }
                Scalar::F64 | Scalar::F32 => {
                    let v = if ffi::PyFloat_CheckExact(obj) != 0 {
                        ffi::PyFloat_AsDouble(obj)
                    } else if ints && self == Scalar::F64 && ffi::PyLong_CheckExact(obj) != 0 {
                        let v = ffi::PyLong_AsDouble(obj);
                        if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
                            ffi::PyErr_Clear();
                            return false;
                        }
                        v
                    } else {
                        return false;
                    };
                    if self == Scalar::F64 {
                        dst.cast::<f64>().write(v);
                    } else {
                        if v.is_finite() && v.abs() > F32_MAX {
                            return false; // the pure path explains (or rounds) it
                        }
                        dst.cast::<f32>().write(v as f32);
                    }
                }
                Scalar::U64 => {
                    if ffi::PyLong_CheckExact(obj) == 0 {
                        return false;
                    }
                    let v = as_u64(obj);
                    if v == u64::MAX && !ffi::PyErr_Occurred().is_null() {
                        ffi::PyErr_Clear();
                        return false;
                    }
                    dst.cast::<u64>().write(v);
                }
                _ => {
                    if ffi::PyLong_CheckExact(obj) == 0 {
                        return false;
                    }
                    let v = as_i64(obj);
                    if v == -1 && !ffi::PyErr_Occurred().is_null() {
                        ffi::PyErr_Clear();
                        return false;
                    }
                    match self {
                        Scalar::I64 => dst.cast::<i64>().write(v),
                        Scalar::I32 => match i32::try_from(v) {
                            Ok(x) => dst.cast::<i32>().write(x),
                            Err(_) => return false,
                        },
                        Scalar::I16 => match i16::try_from(v) {
                            Ok(x) => dst.cast::<i16>().write(x),
                            Err(_) => return false,
                        },
                        Scalar::I8 => match i8::try_from(v) {
                            Ok(x) => dst.cast::<i8>().write(x),
                            Err(_) => return false,
                        },
                        Scalar::U32 => match u32::try_from(v) {
                            Ok(x) => dst.cast::<u32>().write(x),
                            Err(_) => return false,
                        },
                        Scalar::U16 => match u16::try_from(v) {
                            Ok(x) => dst.cast::<u16>().write(x),
                            Err(_) => return false,
                        },
                        Scalar::U8 => match u8::try_from(v) {
                            Ok(x) => dst.write(x),
                            Err(_) => return false,
                        },
                        _ => return false,
                    }
                }
            }
        }
        true
    }

    /// The Python value of the `self` at `src` (a new reference; null with
    /// an exception set on failure). `bool`: any nonzero byte is `True`.
    ///
    /// # Safety
    ///
    /// The GIL is held; `src` is valid for reads of an initialised `self`,
    /// aligned for it.
    #[inline(always)]
    unsafe fn get(self, src: *const u8) -> *mut ffi::PyObject {
        // SAFETY: the caller's guarantees.
        unsafe {
            match self {
                Scalar::I8 => ffi::PyLong_FromLong(src.cast::<i8>().read().into()),
                Scalar::I16 => ffi::PyLong_FromLong(src.cast::<i16>().read().into()),
                Scalar::I32 => ffi::PyLong_FromLong(src.cast::<i32>().read().into()),
                Scalar::I64 => ffi::PyLong_FromLongLong(src.cast::<i64>().read()),
                Scalar::U8 => ffi::PyLong_FromLong(src.read().into()),
                Scalar::U16 => ffi::PyLong_FromLong(src.cast::<u16>().read().into()),
                Scalar::U32 => ffi::PyLong_FromLongLong(src.cast::<u32>().read().into()),
                Scalar::U64 => ffi::PyLong_FromUnsignedLongLong(src.cast::<u64>().read()),
                Scalar::F32 => ffi::PyFloat_FromDouble(src.cast::<f32>().read().into()),
                Scalar::F64 => ffi::PyFloat_FromDouble(src.cast::<f64>().read()),
                Scalar::Bool => ffi::PyBool_FromLong((src.read() != 0).into()),
            }
        }
    }

    /// Whether `obj` is exactly the value at `src`: an exact `int` / `float`
    /// of that value (floats bit for bit), or the `bool` singleton. Runs no
    /// Python code; leaves no exception set.
    ///
    /// # Safety
    ///
    /// The GIL is held; `obj` is valid; `src` holds an initialised `self`, aligned.
    unsafe fn holds(self, obj: *mut ffi::PyObject, src: *const u8) -> bool {
        let mut word = Arg { u64: 0 };
        let dst = (&mut word as *mut Arg).cast::<u8>();
        // SAFETY: the caller's guarantees; `dst` is 8 bytes aligned to 8,
        // room for any scalar; `put` runs no Python code and clears errors.
        unsafe {
            if self == Scalar::F32 || !self.put(obj, dst, false) {
                return false;
            }
            same_bits(dst, src, self.size())
        }
    }

    /// A new `list` of the `n` values of `self` at `src`.
    ///
    /// # Safety
    ///
    /// The GIL is held; when `n > 0`, `src` is valid for reads of `n`
    /// initialised `self`s, aligned for them.
    unsafe fn list(self, py: Python<'_>, src: *const u8, n: usize) -> PyResult<Bound<'_, PyAny>> {
        let Ok(len) = ffi::Py_ssize_t::try_from(n) else {
            return Err(PyValueError::new_err("too many items"));
        };
        // SAFETY: the GIL is held (`py`); PyList_New returns a new reference or null.
        let list = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(len))? };
        for i in 0..n {
            // SAFETY: `i < n`, so the element is in the buffer the caller vouches for.
            let item = unsafe { self.get(src.add(i * self.size())) };
            if item.is_null() {
                return Err(PyErr::fetch(py));
            }
            // SAFETY: `list` is a new list of `len` slots; PyList_SetItem steals
            // `item` and fills slot `i` (< len), which is empty.
            unsafe { ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, item) };
        }
        Ok(list)
    }
}

/// `PyLong_AsUnsignedLongLong`, through `PyLong_AsUnsignedLong` where a
/// C `long` has 64 bits: the same value and errors, but CPython (3.11)
/// converts an int of more than one digit (a handle, any value from 2^30)
/// with a loop over its digits instead of a generic byte conversion.
///
/// # Safety
///
/// The GIL is held; `obj` is a valid `int`.
unsafe fn as_u64(obj: *mut ffi::PyObject) -> u64 {
    // SAFETY: the caller's guarantees.
    unsafe {
        if size_of::<std::ffi::c_ulong>() == 8 {
            ffi::PyLong_AsUnsignedLong(obj) as u64
        } else {
            ffi::PyLong_AsUnsignedLongLong(obj)
        }
    }
}

/// `PyLong_AsLongLong`, through `PyLong_AsLong` where a C `long` has 64
/// bits (see [`as_u64`]).
///
/// # Safety
///
/// The GIL is held; `obj` is a valid `int`.
unsafe fn as_i64(obj: *mut ffi::PyObject) -> i64 {
    // SAFETY: the caller's guarantees.
    unsafe {
        if size_of::<std::ffi::c_long>() == 8 {
            ffi::PyLong_AsLong(obj) as i64
        } else {
            ffi::PyLong_AsLongLong(obj)
        }
    }
}

/// Whether the `size`-byte scalars at `a` and `b` have the same bits.
///
/// # Safety
///
/// Both are valid for reads of `size` (1, 2, 4 or 8) bytes, aligned to `size`.
unsafe fn same_bits(a: *const u8, b: *const u8, size: usize) -> bool {
    // SAFETY: the caller's guarantees.
    unsafe {
        match size {
            8 => a.cast::<u64>().read() == b.cast::<u64>().read(),
            4 => a.cast::<u32>().read() == b.cast::<u32>().read(),
            2 => a.cast::<u16>().read() == b.cast::<u16>().read(),
            _ => a.read() == b.read(),
        }
    }
}

// ---------------------------------------------------------------------------
// Plans.

/// How one parameter is passed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Param {
    /// A scalar by value.
    Scalar(Scalar),
    /// `&str` (`utf8`) or `&PyStr` / `&[u8]`: an exact `str` (as UTF-8) or
    /// `bytes` (UTF-8 checked for `&str`), lent read-only.
    Text { utf8: bool },
    /// `&[T]` / `&PyVec<T>` (`&mut` when `mutable`): an exact `list` of
    /// scalars, packed into a private buffer (written back for `&mut`).
    List { elem: Scalar, mutable: bool },
    /// A method's `self` (`&self` / `&mut self`): an instance of exactly the
    /// function's class whose `_pyo2_h` is an exact `int`, passed as the `u64`
    /// handle (Rust checks it); anything else (a subclass, a closed object,
    /// another class's) falls back, and the pure method explains.
    Handle,
}

impl Param {
    fn parse(code: &str) -> Option<Param> {
        if let Some(elem) = code.strip_prefix("ref:") {
            return Some(Param::List {
                elem: Scalar::parse(elem)?,
                mutable: false,
            });
        }
        if let Some(elem) = code.strip_prefix("mut:") {
            return Some(Param::List {
                elem: Scalar::parse(elem)?,
                mutable: true,
            });
        }
        match code {
            "self" => Some(Param::Handle),
            "str" => Some(Param::Text { utf8: true }),
            "text" => Some(Param::Text { utf8: false }),
            _ => Scalar::parse(code).map(Param::Scalar),
        }
    }
}

/// What the slot holds after `OK`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ret {
    /// `()`: nothing (`None`).
    Unit,
    /// A scalar.
    Scalar(Scalar),
    /// `String`: an `OwnedBuf` of UTF-8 (a `str`).
    Str,
    /// `Vec<u8>`: an `OwnedBuf` of bytes (`bytes`).
    Bytes,
    /// `Vec<T>`: an `OwnedBuf` of `T`s (a `list`).
    Vec(Scalar),
}

impl Ret {
    fn parse(code: &str) -> Option<Ret> {
        if let Some(elem) = code.strip_prefix("vec:") {
            return Some(Ret::Vec(Scalar::parse(elem)?));
        }
        match code {
            "()" => Some(Ret::Unit),
            "String" => Some(Ret::Str),
            "bytes" => Some(Ret::Bytes),
            _ => Scalar::parse(code).map(Ret::Scalar),
        }
    }

    /// The Python value of an `OK` slot; frees an owned buffer exactly once.
    ///
    /// # Safety
    ///
    /// The GIL is held; `slot` holds what a call with this return type
    /// wrote after returning `OK`, not taken before.
    unsafe fn take(self, py: Python<'_>, slot: *mut Slot) -> PyResult<Py<PyAny>> {
        let elem = match self {
            Ret::Unit => return Ok(py.None()),
            Ret::Scalar(s) => {
                // SAFETY: the slot holds an `s` at offset 0 (aligned to 8).
                let obj = unsafe { s.get(slot.cast::<u8>()) };
                // SAFETY: a new reference, or null with an exception set.
                return unsafe { Bound::from_owned_ptr_or_err(py, obj) }.map(Bound::unbind);
            }
            Ret::Str | Ret::Bytes => Scalar::U8,
            Ret::Vec(elem) => elem,
        };
        let buf = slot.cast::<OwnedBuf>();
        // SAFETY: the slot holds an OwnedBuf Rust handed over (`OK` with an
        // owned return); its ptr/len describe `len` initialised elements.
        let (data, len) = unsafe { ((*buf).ptr, (*buf).len) };
        let value = if len == 0 {
            match self {
                Ret::Str => Ok(PyString::new(py, "").into_any()),
                // SAFETY: the GIL is held; a new reference or null.
                Ret::Bytes => unsafe {
                    Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(ptr::null(), 0))
                },
                // SAFETY: no element is read.
                _ => unsafe { elem.list(py, ptr::null(), 0) },
            }
        } else {
            match (self, ffi::Py_ssize_t::try_from(len)) {
                (_, Err(_)) => Err(PyValueError::new_err("a returned buffer is too large")),
                // SAFETY: `data` holds `len` bytes (UTF-8, from a Rust String);
                // the decoder checks them anyway, as the pure path's does.
                (Ret::Str, Ok(n)) => unsafe {
                    Bound::from_owned_ptr_or_err(
                        py,
                        ffi::PyUnicode_DecodeUTF8(data.cast::<c_char>(), n, c"strict".as_ptr()),
                    )
                },
                // SAFETY: `data` holds `len` bytes.
                (Ret::Bytes, Ok(n)) => unsafe {
                    Bound::from_owned_ptr_or_err(
                        py,
                        ffi::PyBytes_FromStringAndSize(data.cast::<c_char>(), n),
                    )
                },
                // SAFETY: `data` holds `len` initialised `elem`s (a Rust Vec's, aligned).
                (_, Ok(_)) => unsafe { elem.list(py, data, len) },
            }
        };
        // SAFETY: the buffer is read; its own drop frees it, once (it resets
        // the buffer, which nothing reads again).
        unsafe {
            if let Some(drop) = (*buf).drop {
                drop(buf);
            }
        }
        value.map(Bound::unbind)
    }
}

// ---------------------------------------------------------------------------
// One call.

/// A list packed for one call.
struct Packed {
    /// The parameter it was passed for.
    param: usize,
    /// The list (borrowed from the call's arguments, which outlive the call).
    list: *mut ffi::PyObject,
    elem: Scalar,
    mutable: bool,
    /// The packed elements (in 8-byte words, so aligned for any scalar).
    data: Vec<u64>,
    /// `&mut`: the elements as packed, to tell whether Rust changed them.
    orig: Vec<u64>,
    /// `&mut` `f32`s (or `f64`s packed from ints): a copy of the list's items when packed (`list[:]`).
    snap: Option<Py<PyAny>>,
    /// The header as lent.
    header: Header,
}

/// The entry's arguments, for the thread that calls without the GIL.
struct Call {
    entry: Entry,
    args: *const Arg,
    nargs: usize,
    slot: *mut Slot,
}

// SAFETY: the pointers are to memory the calling frame owns and keeps alive
// (and doesn't touch) until the call returns; the lists' and strings' data
// they point to is private to the call or immutable (str, bytes).
unsafe impl Send for Call {}

impl Call {
    /// # Safety
    ///
    /// `entry` is a uniform entry point whose parameters match the arguments.
    unsafe fn run(self) -> i32 {
        // SAFETY: the caller's guarantee; args/slot are valid (see `Send`).
        unsafe { (self.entry)(self.args, self.nargs, self.slot) }
    }
}

/// The text a `str` / `bytes` lends, or `None` to fall back.
///
/// # Safety
///
/// The GIL is held; `obj` is valid and stays alive (and so its UTF-8 or
/// bytes) while the header is used.
unsafe fn text(obj: *mut ffi::PyObject, utf8: bool) -> Option<Header> {
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: the caller's guarantees; the exact types run no Python code.
    let data = unsafe {
        if ffi::PyUnicode_CheckExact(obj) != 0 {
            let data = ffi::PyUnicode_AsUTF8AndSize(obj, &mut len);
            if data.is_null() {
                ffi::PyErr_Clear(); // a lone surrogate: the pure path explains
                return None;
            }
            data
        } else if ffi::PyBytes_CheckExact(obj) != 0 {
            let mut data: *mut c_char = ptr::null_mut();
            if ffi::PyBytes_AsStringAndSize(obj, &mut data, &mut len) != 0 {
                ffi::PyErr_Clear();
                return None;
            }
            if utf8
                && std::str::from_utf8(std::slice::from_raw_parts(data.cast::<u8>(), len as usize))
                    .is_err()
            {
                return None;
            }
            data
        } else {
            return None;
        }
    };
    Some(if len == 0 {
        NO_HEADER
    } else {
        Header {
            ptr: data.cast(),
            len: len as usize,
        }
    })
}

/// Converts the `n` items of the exact list `obj` into `elem`s at `base`;
/// `false` (some written) if one can't be: the caller falls back. Sets
/// `saw_int` if an `f64` came from an `int`.
///
/// # Safety
///
/// The GIL is held; `obj` is a valid exact list of `n` items; `base` is
/// valid for writes of `n` elements of `elem`, aligned for it.
#[inline(always)]
unsafe fn fill(
    obj: *mut ffi::PyObject,
    n: usize,
    elem: Scalar,
    base: *mut u8,
    saw_int: &mut bool,
) -> bool {
    let ints = elem == Scalar::F64;
    for i in 0..n {
        // SAFETY: `i < n`, the list's size, which nothing changes meanwhile:
        // the conversions run no Python code. A borrowed reference.
        let item = unsafe { ffi::PyList_GetItem(obj, i as ffi::Py_ssize_t) };
        if item.is_null() {
            return false;
        }
        // SAFETY: a valid object.
        *saw_int |= ints && unsafe { ffi::PyFloat_CheckExact(item) } == 0;
        // SAFETY: element `i` lies inside the buffer (the caller's guarantee), aligned.
        if !unsafe { elem.put(item, base.add(i * elem.size()), ints) } {
            return false;
        }
    }
    true
}

/// `obj` packed as a list of `elem`, or `None` to fall back.
///
/// # Safety
///
/// The GIL is held; `obj` is valid and outlives the result.
unsafe fn pack(
    py: Python<'_>,
    obj: *mut ffi::PyObject,
    param: usize,
    elem: Scalar,
    mutable: bool,
) -> Option<Packed> {
    // SAFETY: the GIL is held; `obj` is valid.
    if unsafe { ffi::PyList_CheckExact(obj) } == 0 {
        return None;
    }
    // SAFETY: as above; an exact list.
    let n = unsafe { ffi::PyList_Size(obj) };
    let n = usize::try_from(n).ok()?;
    let words = (n * elem.size()).div_ceil(8);
    let mut data: Vec<u64> = Vec::with_capacity(words);
    let base = data.as_mut_ptr().cast::<u8>();
    if words > 0 {
        // The last word's bytes past the last element stay zero (the
        // buffers are compared word by word).
        // SAFETY: `words - 1 < capacity`.
        unsafe { data.as_mut_ptr().add(words - 1).write(0) };
    }
    // An int in a list of f64 (converted, maybe rounded): the float can't
    // tell whether the list still holds that int.
    let mut saw_int = false;
    // One loop per element type, each with `put` specialised for it.
    // SAFETY: the GIL is held; `obj` is an exact list of `n` items; `base`
    // has room for `n` elements of `elem`, aligned.
    let packed = unsafe {
        match elem {
            Scalar::I64 => fill(obj, n, Scalar::I64, base, &mut saw_int),
            Scalar::F64 => fill(obj, n, Scalar::F64, base, &mut saw_int),
            Scalar::I32 => fill(obj, n, Scalar::I32, base, &mut saw_int),
            Scalar::U8 => fill(obj, n, Scalar::U8, base, &mut saw_int),
            other => fill(obj, n, other, base, &mut saw_int),
        }
    };
    if !packed {
        return None;
    }
    // SAFETY: every element (and the last word's tail) is written.
    unsafe { data.set_len(words) };
    let (orig, snap) = if !mutable {
        (Vec::new(), None)
    } else if elem == Scalar::F32 || saw_int {
        // An f32 can't tell whether the list still holds the float it was
        // packed from (nor an f64 the int): keep the items themselves (`list[:]`).
        // SAFETY: an exact list; a new reference or null.
        let snap = unsafe {
            Bound::from_owned_ptr_or_opt(py, ffi::PyList_GetSlice(obj, 0, n as ffi::Py_ssize_t))
        };
        let Some(snap) = snap else {
            // SAFETY: the GIL is held.
            unsafe { ffi::PyErr_Clear() };
            return None;
        };
        (data.clone(), Some(snap.unbind()))
    } else {
        (data.clone(), None)
    };
    let header = if n == 0 {
        NO_HEADER
    } else {
        Header {
            // `as_mut_ptr`: Rust writes through it for a `&mut` parameter
            // (which `as_ptr`'s pointer must not be used for).
            ptr: data.as_mut_ptr().cast_const().cast(),
            len: n,
        }
    };
    Some(Packed {
        param,
        list: obj,
        elem,
        mutable,
        data,
        orig,
        snap,
        header,
    })
}

// ---------------------------------------------------------------------------
// The callable.

// A Rust function exported with `#[pyo2::export]`, called through its
// uniform entry point; what pyo2 returns for it when this module is built.
// (No doc comment: the type's `__doc__` would hide the instance's, the Rust
// function's signature and doc, which the `__doc__` getter returns.)
#[pyclass(
    frozen,
    subclass,
    weakref,
    module = "pyo2._accel",
    name = "FunctionBase"
)]
struct Function {
    /// What CPython calls (the vectorcall protocol): [`vectorcall`], at the
    /// offset [`function_types`] gives the `Function` and `Method` types.
    vectorcall: Vectorcall,
    entry: Entry,
    name: String,
    params: Box<[Param]>,
    /// How many of `params` are lists.
    lists: usize,
    /// The parameter names for keyword binding (`None`: keywords fall back).
    names: Option<Box<[Py<PyString>]>>,
    ret: Ret,
    fallback: Py<PyAny>,
    failure: Py<PyAny>,
    release_gil: bool,
    repr: String,
    attrs: Py<PyDict>,
    /// A method's class (its `self` parameter, [`Param::Handle`]), or `None`.
    cls: Option<Py<PyType>>,
    /// A method's way to the handle: the class's `_pyo2_h` slot descriptor
    /// (a `member_descriptor`) and its `__get__`, called directly rather
    /// than through attribute lookup; `None`: look the attribute up.
    handle_slot: Option<(Py<PyAny>, ffi::descrgetfunc)>,
}

/// The new items of a `&mut` list whose view Rust kept: at each index, a
/// new reference to the item to write there, or null where the element
/// didn't change. Released on drop, unless written (each written entry is
/// nulled). Lives in `write_back` only, which holds the GIL.
struct NewItems(Vec<*mut ffi::PyObject>);

impl NewItems {
    /// The items for the elements of `data` that differ from `orig`, or
    /// `None` (with a Python exception set) if one can't be made.
    ///
    /// # Safety
    ///
    /// The GIL is held; `data` and `orig` hold `len` initialised elements
    /// of `elem` each, aligned.
    #[inline(always)]
    unsafe fn of_changed(
        elem: Scalar,
        data: *const u8,
        orig: *const u8,
        len: usize,
    ) -> Option<NewItems> {
        let size = elem.size();
        let mut items = NewItems(Vec::with_capacity(len));
        for i in 0..len {
            // SAFETY: `i < len`: inside both buffers, initialised and aligned.
            let (new, old) = unsafe { (data.add(i * size), orig.add(i * size)) };
            // SAFETY: as above.
            let item = if unsafe { same_bits(new, old, size) } {
                ptr::null_mut()
            } else {
                // SAFETY: an initialised element; a new reference or null.
                let item = unsafe { elem.get(new) };
                if item.is_null() {
                    return None; // `items` releases the ones made
                }
                item
            };
            items.0.push(item);
        }
        Some(items)
    }
}

impl Drop for NewItems {
    fn drop(&mut self) {
        for &item in &self.0 {
            if !item.is_null() {
                // SAFETY: a new reference this owns; the GIL is held (see the type).
                unsafe { ffi::Py_DecRef(item) };
            }
        }
    }
}

impl Function {
    /// A vectorcall (see [`vectorcall`]): binds the arguments as [`fast`](Self::fast)
    /// does (all of them, positionally then by keyword), calls, and hands
    /// anything it doesn't take to the pure-Python function, with the
    /// original arguments.
    ///
    /// # Safety
    ///
    /// The GIL is held; `args` holds `nargs` positional arguments followed
    /// by one value per name in `kwnames` (null, or a tuple of `str`), all
    /// valid for the call.
    unsafe fn vcall(
        &self,
        py: Python<'_>,
        args: *const *mut ffi::PyObject,
        nargs: usize,
        kwnames: *mut ffi::PyObject,
    ) -> PyResult<Py<PyAny>> {
        let n = self.params.len();
        let nkw = if kwnames.is_null() {
            0
        } else {
            // SAFETY: a tuple (the caller's guarantee).
            usize::try_from(unsafe { ffi::PyTuple_Size(kwnames) }).unwrap_or(0)
        };
        if nargs <= n && nargs + nkw == n {
            let mut objs: [*mut ffi::PyObject; MAX_PARAMS] = [ptr::null_mut(); MAX_PARAMS];
            // SAFETY: `args` holds `nargs + nkw` valid objects (the caller's guarantee).
            unsafe { ptr::copy_nonoverlapping(args, objs.as_mut_ptr(), nargs) };
            // SAFETY: as above; `kwnames` holds `nkw` str objects.
            let bound =
                nkw == 0 || unsafe { self.bind_keywords(&mut objs, args, nargs, kwnames, nkw) };
            if bound {
                // SAFETY: every objs[i] (i < n) is one of the call's arguments,
                // alive until it returns.
                if let Some(value) = unsafe { self.call(py, &objs[..n])? } {
                    return Ok(value);
                }
            }
        }
        // The pure-Python function, with the original arguments.
        // SAFETY: `args[..nargs]` are valid objects (borrowed: the tuple takes new references).
        let positional = unsafe {
            PyTuple::new(
                py,
                (0..nargs).map(|i| Bound::from_borrowed_ptr(py, *args.add(i))),
            )?
        };
        let keywords = if nkw == 0 {
            None
        } else {
            let dict = PyDict::new(py);
            for j in 0..nkw {
                // SAFETY: `j < len(kwnames)`; the value follows the positionals
                // (the caller's guarantee); borrowed references.
                let (key, value) = unsafe {
                    (
                        Bound::from_borrowed_ptr(
                            py,
                            ffi::PyTuple_GetItem(kwnames, j as ffi::Py_ssize_t),
                        ),
                        Bound::from_borrowed_ptr(py, *args.add(nargs + j)),
                    )
                };
                dict.set_item(key, value)?;
            }
            Some(dict)
        };
        self.fallback.call(py, positional, keywords.as_ref())
    }

    /// Puts the keyword arguments of a vectorcall in `objs[nargs..n]`, by
    /// parameter name; `false` (`objs` then unusable) unless each is an
    /// exact `str` naming a parameter after the positional ones, once: the
    /// pure-Python function binds (or explains) the rest.
    ///
    /// # Safety
    ///
    /// As [`vcall`](Self::vcall)'s, with `nargs + nkw == self.params.len()`
    /// and `kwnames` a tuple of `nkw` objects.
    unsafe fn bind_keywords(
        &self,
        objs: &mut [*mut ffi::PyObject; MAX_PARAMS],
        args: *const *mut ffi::PyObject,
        nargs: usize,
        kwnames: *mut ffi::PyObject,
        nkw: usize,
    ) -> bool {
        let Some(names) = &self.names else {
            return false;
        };
        for j in 0..nkw {
            // SAFETY: `j < len(kwnames)`: a borrowed `str`.
            let key = unsafe { ffi::PyTuple_GetItem(kwnames, j as ffi::Py_ssize_t) };
            if key.is_null() {
                // SAFETY: the GIL is held.
                unsafe { ffi::PyErr_Clear() };
                return false;
            }
            // A `str` subclass (`f(**{S("a"): 1})` passes it as is): a Python
            // function binds it with its own `__eq__`, which may disagree
            // with its text or raise. The pure-Python function decides.
            // SAFETY: a valid object.
            if unsafe { ffi::PyUnicode_CheckExact(key) } == 0 {
                return false;
            }
            let found = (nargs..names.len()).find(|&i| {
                let name = names[i].as_ptr();
                // SAFETY: both are valid exact `str` objects; comparing runs
                // no Python code and can't fail.
                name == key || unsafe { ffi::PyUnicode_Compare(name, key) } == 0
            });
            match found {
                Some(i) if objs[i].is_null() => {
                    // SAFETY: the value follows the positionals (the caller's guarantee).
                    objs[i] = unsafe { *args.add(nargs + j) };
                }
                _ => return false,
            }
        }
        true
    }

    /// Convert `objs`, call, convert back (or `Ok(None)` to fall back before calling).
    ///
    /// # Safety
    ///
    /// Every object in `objs` is valid and alive until this returns.
    unsafe fn call(
        &self,
        py: Python<'_>,
        objs: &[*mut ffi::PyObject],
    ) -> PyResult<Option<Py<PyAny>>> {
        let n = objs.len();
        let mut cargs = [Arg { u64: 0 }; MAX_PARAMS];
        let mut headers = [NO_HEADER; MAX_PARAMS];
        let mut packed: Vec<Packed> = Vec::with_capacity(self.lists);
        for (i, (&param, &obj)) in self.params.iter().zip(objs).enumerate() {
            match param {
                Param::Scalar(s) => {
                    let dst = (&mut cargs[i] as *mut Arg).cast::<u8>();
                    // SAFETY: the GIL is held, `obj` is valid, `dst` is 8 bytes aligned to 8.
                    if !unsafe { s.put(obj, dst, true) } {
                        return Ok(None);
                    }
                }
                Param::Handle => {
                    // SAFETY: `obj` is valid (the caller's guarantee).
                    let Some(handle) = (unsafe { self.handle(py, obj) }) else {
                        return Ok(None);
                    };
                    cargs[i].u64 = handle;
                }
                Param::Text { utf8 } => {
                    // SAFETY: `obj` is alive until the call returns.
                    let Some(header) = (unsafe { text(obj, utf8) }) else {
                        return Ok(None);
                    };
                    headers[i] = header;
                }
                Param::List { elem, mutable } => {
                    // The same list twice where either is `&mut`: the pure path refuses it.
                    if packed
                        .iter()
                        .any(|p| p.list == obj && (p.mutable || mutable))
                    {
                        return Ok(None);
                    }
                    // SAFETY: `obj` is alive until the call returns.
                    let Some(p) = (unsafe { pack(py, obj, i, elem, mutable) }) else {
                        return Ok(None);
                    };
                    headers[i] = p.header;
                    packed.push(p);
                }
            }
        }
        for (i, param) in self.params.iter().enumerate() {
            if !matches!(param, Param::Scalar(_) | Param::Handle) {
                cargs[i].ptr = (&headers[i] as *const Header).cast();
            }
        }
        let mut slot = MaybeUninit::<Slot>::uninit();
        let call = Call {
            entry: self.entry,
            args: cargs.as_ptr(),
            nargs: n,
            slot: slot.as_mut_ptr(),
        };
        let status = if self.release_gil || RELEASE_ALWAYS.load(Ordering::Relaxed) {
            // SAFETY: the entry takes these arguments (the plan is its signature's).
            py.detach(move || unsafe { call.run() })
        } else {
            // SAFETY: as above.
            unsafe { call.run() }
        };
        let slot = slot.as_mut_ptr();
        match status {
            OK | NONE => {
                let value = if status == OK {
                    // SAFETY: `OK` with this plan's return type; taken once.
                    unsafe { self.ret.take(py, slot)? }
                } else {
                    py.None()
                };
                if packed.iter().any(|p| p.mutable) {
                    self.write_back(py, &packed, &headers)?;
                }
                Ok(Some(value))
            }
            _ => {
                let outcome = self.failure.call1(py, (status, slot as usize))?;
                let (exc, write_back): (Bound<'_, PyAny>, bool) = outcome.extract(py)?;
                let err = PyErr::from_value(exc);
                if write_back {
                    if let Err(late) = self.write_back(py, &packed, &headers) {
                        let context = err.into_value(py).into_ptr();
                        // SAFETY: both are exception instances; SetContext steals `context`.
                        unsafe { ffi::PyException_SetContext(late.value(py).as_ptr(), context) };
                        return Err(late);
                    }
                }
                Err(err)
            }
        }
    }

    /// Put what Rust wrote into the `&mut` lists, by the pure path's rule
    /// (`pyo2._marshal.apply`): only the lists whose data Rust changed (or
    /// whose view it swapped), all or nothing, after checking that each
    /// still holds the items it held (`RuntimeError` otherwise).
    ///
    /// A list whose view stayed put gets the changed items only (each a
    /// new `int`/`float`/`bool`), plus any item that another thread
    /// replaced by an equal object of another type (which the pure path's
    /// whole-list write would replace too); a swapped view, or a snapshot
    /// list, gets all its items, as the pure path writes them.
    fn write_back(
        &self,
        py: Python<'_>,
        packed: &[Packed],
        headers: &[Header; MAX_PARAMS],
    ) -> PyResult<()> {
        enum Update<'py> {
            /// The whole list's new items.
            Whole(Bound<'py, PyAny>),
            /// The new item for each index whose element changed (null elsewhere).
            Items(NewItems),
        }
        let mut updates: Vec<(&Packed, Update<'_>)> = Vec::new();
        for p in packed.iter().filter(|p| p.mutable) {
            let now = headers[p.param];
            if now == p.header && p.snap.is_none() {
                if p.data == p.orig {
                    continue;
                }
                let (data, orig) = (p.data.as_ptr().cast::<u8>(), p.orig.as_ptr().cast::<u8>());
                // SAFETY: both buffers hold `len` initialised elements of `elem`.
                let items = unsafe {
                    match p.elem {
                        Scalar::I64 => NewItems::of_changed(Scalar::I64, data, orig, p.header.len),
                        Scalar::F64 => NewItems::of_changed(Scalar::F64, data, orig, p.header.len),
                        other => NewItems::of_changed(other, data, orig, p.header.len),
                    }
                }
                .ok_or_else(|| PyErr::fetch(py))?;
                updates.push((p, Update::Items(items)));
                continue;
            }
            let (src, len) = if now == p.header {
                if p.data == p.orig {
                    continue;
                }
                (p.data.as_ptr().cast::<u8>(), p.header.len)
            } else if now.len == 0 {
                (ptr::null(), 0)
            } else {
                // Rust swapped two views of one element type: read the other's buffer.
                match packed.iter().find(|q| q.header == now && q.elem == p.elem) {
                    Some(q) => (q.data.as_ptr().cast::<u8>(), q.header.len),
                    None => {
                        return Err(PyRuntimeError::new_err(format!(
                            "{}(): Rust left a view pyo2 did not lend in a &mut parameter; \
                             nothing was written back",
                            self.name
                        )))
                    }
                }
            };
            // SAFETY: `src` is one of this call's buffers, of `len` initialised elements.
            let items = unsafe { p.elem.list(py, src, len)? };
            updates.push((p, Update::Whole(items)));
        }
        if updates.is_empty() {
            return Ok(());
        }
        // The checks, before any write. Objects that replace equal items
        // stay alive (in `olds`) until every write is done, so no finalizer
        // runs half way, as in the pure path.
        let mut olds: Vec<Bound<'_, PyAny>> = Vec::new();
        // Whether Python code may have run during the checks (an item's
        // `__eq__`): it could have changed a list checked before.
        let mut ran_python = false;
        for (p, update) in &mut updates {
            // SAFETY: the list is alive (the call's argument) and an exact list.
            let now = unsafe { ffi::PyList_Size(p.list) };
            let was = p.header.len; // the size when packed (0 for an empty list)
            if usize::try_from(now).ok() != Some(was) {
                return Err(PyRuntimeError::new_err(format!(
                    "{}(): a list passed for a &mut parameter changed size during the call \
                     (from {was} to {now} items); nothing was written back",
                    self.name
                )));
            }
            // SAFETY: a borrowed reference to the list, alive for the call.
            let list = unsafe { Bound::from_borrowed_ptr(py, p.list) };
            let changed = || {
                PyRuntimeError::new_err(format!(
                    "{}(): a list passed for a &mut parameter was changed during the call \
                     (by another thread, or while its items were converted); nothing was written back",
                    self.name
                ))
            };
            if let Some(snap) = &p.snap {
                ran_python = true;
                if !list.eq(snap.bind(py))? {
                    return Err(changed());
                }
                continue;
            }
            let orig = p.orig.as_ptr().cast::<u8>();
            let mut forced = Vec::new();
            for i in 0..was {
                // SAFETY: `i < len(list)` (checked above; nothing ran since).
                // A borrowed reference, valid while the list holds it.
                let item = unsafe { ffi::PyList_GetItem(p.list, i as ffi::Py_ssize_t) };
                // SAFETY: `i < was`: an element of the packed copy.
                let src = unsafe { orig.add(i * p.elem.size()) };
                // SAFETY: the GIL is held; `item` is valid; `src` is initialised.
                if unsafe { p.elem.holds(item, src) } {
                    continue;
                }
                // Not the packed value as its exact type: compare as
                // `list == snapshot` would (the snapshot's item was an
                // exact int / float / bool of this value). Python code may
                // run, so hold the item and re-check the size after.
                // SAFETY: `item` is valid; a new reference.
                let item = unsafe { Bound::from_borrowed_ptr(py, item) };
                // SAFETY: as above; a new reference or null with an exception.
                let before = unsafe { Bound::from_owned_ptr_or_err(py, p.elem.get(src))? };
                ran_python = true;
                let equal = item.eq(&before)?;
                // SAFETY: an exact list.
                if !equal || unsafe { ffi::PyList_Size(p.list) } != now {
                    return Err(changed());
                }
                forced.push(i);
                olds.push(item);
            }
            if let Update::Items(items) = update {
                let data = p.data.as_ptr().cast::<u8>();
                for i in forced {
                    if !items.0[i].is_null() {
                        continue;
                    }
                    // SAFETY: `i < len`: an initialised element of the buffer.
                    let item = unsafe { p.elem.get(data.add(i * p.elem.size())) };
                    if item.is_null() {
                        return Err(PyErr::fetch(py));
                    }
                    items.0[i] = item;
                }
            }
        }
        // Every list's items held until all writes are done, as the pure
        // path does, where Python code may have run or a whole list is
        // replaced next to another list's items.
        let whole = updates
            .iter()
            .filter(|(_, u)| matches!(u, Update::Whole(_)))
            .count();
        let hold = ran_python || (updates.len() > 1 && whole > 0);
        if hold {
            for (p, _) in &updates {
                // SAFETY: an exact list; a new reference or null.
                olds.push(unsafe {
                    Bound::from_owned_ptr_or_err(
                        py,
                        ffi::PyList_GetSlice(p.list, 0, ffi::PY_SSIZE_T_MAX),
                    )?
                });
            }
            // Sizes again, after the last Python code that may have run:
            // the writes index the lists. (A slice is a new list, whose
            // allocation may start the garbage collector before Python
            // 3.12, and so any finalizer; the slices hold every item a
            // write replaces, so none runs during the writes.)
            for (p, _) in &updates {
                // SAFETY: an exact list, alive for the call.
                let now = unsafe { ffi::PyList_Size(p.list) };
                if usize::try_from(now).ok() != Some(p.header.len) {
                    return Err(PyRuntimeError::new_err(format!(
                        "{}(): a list passed for a &mut parameter changed size during the call \
                         (from {} to {now} items); nothing was written back",
                        self.name, p.header.len
                    )));
                }
            }
        }
        // The writes (none fails: the sizes are checked).
        for (p, update) in updates {
            match update {
                Update::Whole(items) => {
                    // SAFETY: an exact list and a list of the new items.
                    let status = unsafe {
                        ffi::PyList_SetSlice(p.list, 0, ffi::PY_SSIZE_T_MAX, items.as_ptr())
                    };
                    if status != 0 {
                        return Err(PyErr::fetch(py));
                    }
                }
                Update::Items(mut items) => {
                    for (i, item) in items.0.iter_mut().enumerate() {
                        if item.is_null() {
                            continue;
                        }
                        // SAFETY: `i` is inside the list (its size was checked
                        // after the last Python code ran); SetItem steals the
                        // new item (nulled here, so `items` won't release it).
                        // The item it replaces is an exact int, float or bool
                        // (checked, no Python code ran since), or held in
                        // `olds`: its release runs no Python code.
                        let status = unsafe {
                            ffi::PyList_SetItem(
                                p.list,
                                i as ffi::Py_ssize_t,
                                std::mem::replace(item, ptr::null_mut()),
                            )
                        };
                        if status != 0 {
                            return Err(PyErr::fetch(py)); // not reached: the index is in range
                        }
                    }
                }
            }
        }
        drop(olds);
        Ok(())
    }

    /// The handle of `obj`, a method's `self`, if `obj` is an instance of
    /// exactly [`Function::cls`] holding an exact `int` in `_pyo2_h` that
    /// fits a `u64`; `None` (no exception set) to fall back.
    ///
    /// # Safety
    ///
    /// `obj` is a valid object.
    unsafe fn handle(&self, py: Python<'_>, obj: *mut ffi::PyObject) -> Option<u64> {
        let cls = self.cls.as_ref()?;
        // SAFETY: `obj` is valid (the caller's guarantee); the GIL is held.
        if unsafe { ffi::Py_TYPE(obj) } != cls.as_ptr().cast::<ffi::PyTypeObject>() {
            return None;
        }
        let h = match &self.handle_slot {
            // SAFETY: the GIL is held; `get` is `descr`'s type's `__get__`,
            // called as attribute lookup would (`obj` is exactly `cls`, whose
            // slot it reads); a new reference or null with an exception set.
            Some((descr, get)) => unsafe { get(descr.as_ptr(), obj, cls.as_ptr().cast()) },
            None => {
                let name = pyo3::intern!(py, "_pyo2_h");
                // SAFETY: the GIL is held; `obj` and `name` are valid; a new
                // reference or null with an exception set.
                unsafe { ffi::PyObject_GetAttr(obj, name.as_ptr()) }
            }
        };
        if h.is_null() {
            // SAFETY: the GIL is held.
            unsafe { ffi::PyErr_Clear() };
            return None;
        }
        // SAFETY: a new reference, released when `h` drops.
        let h = unsafe { Bound::from_owned_ptr(py, h) };
        let mut word = Arg { u64: 0 };
        // SAFETY: the GIL is held; `h` is valid; `word` is 8 bytes aligned
        // to 8; `put` takes an exact int only and leaves no exception set
        // (`None`, a closed object's, falls back).
        if !unsafe { Scalar::U64.put(h.as_ptr(), (&mut word as *mut Arg).cast::<u8>(), false) } {
            return None;
        }
        // SAFETY: `put` wrote a `u64` at offset 0.
        Some(unsafe { word.u64 })
    }

    fn attr(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        match self.attrs.bind(py).get_item(name)? {
            Some(value) => Ok(value.unbind()),
            None => Err(PyAttributeError::new_err(name.to_owned())),
        }
    }
}

#[pymethods]
impl Function {
    /// `Function(entry, params, ret, names, fallback, failure, release_gil, name, repr, attrs)`.
    ///
    /// `entry` must be the address of the uniform entry point of a function
    /// whose parameters and return are `params` / `ret` (a wrong address or
    /// plan is undefined behaviour: only pyo2 constructs these).
    #[new]
    #[pyo3(text_signature = None, signature = (entry, params, ret, names, fallback, failure, release_gil, name, repr, attrs, cls = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        entry: usize,
        params: Vec<String>,
        ret: &str,
        names: Option<Vec<Bound<'_, PyString>>>,
        fallback: Py<PyAny>,
        failure: Py<PyAny>,
        release_gil: bool,
        name: String,
        repr: String,
        attrs: Py<PyDict>,
        cls: Option<Py<PyType>>,
    ) -> PyResult<Function> {
        if entry == 0 {
            return Err(PyValueError::new_err("a null entry point"));
        }
        if params.len() > MAX_PARAMS {
            return Err(PyValueError::new_err(format!(
                "at most {MAX_PARAMS} parameters"
            )));
        }
        let params = params
            .iter()
            .map(|code| {
                Param::parse(code).ok_or_else(|| {
                    PyValueError::new_err(format!("unknown parameter kind {code:?}"))
                })
            })
            .collect::<PyResult<Box<[Param]>>>()?;
        if cls.is_none() && params.contains(&Param::Handle) {
            return Err(PyValueError::new_err("a `self` parameter needs the class"));
        }
        let ret = Ret::parse(ret)
            .ok_or_else(|| PyValueError::new_err(format!("unknown return kind {ret:?}")))?;
        let names = match names {
            Some(names) if names.len() == params.len() => {
                Some(names.into_iter().map(Bound::unbind).collect())
            }
            Some(_) => return Err(PyValueError::new_err("one name per parameter")),
            None => None,
        };
        // SAFETY: the constructor's contract: `entry` is the address of a
        // function with the `Entry` signature (pyo2 read it from the library).
        let entry = unsafe { std::mem::transmute::<usize, Entry>(entry) };
        let handle_slot = match &cls {
            Some(cls) => handle_slot(cls.bind(py))?,
            None => None,
        };
        let vectorcall: Vectorcall = vectorcall;
        let lists = params
            .iter()
            .filter(|p| matches!(p, Param::List { .. }))
            .count();
        Ok(Function {
            vectorcall,
            entry,
            name,
            params,
            lists,
            names,
            ret,
            fallback,
            failure,
            release_gil,
            repr,
            attrs,
            cls,
            handle_slot,
        })
    }

    /// A method (made with `cls`) binds to an instance as a Python
    /// function does; anything else is itself wherever it is read from.
    fn __get__(
        slf: Bound<'_, Self>,
        obj: Option<Bound<'_, PyAny>>,
        _owner: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        match obj {
            Some(obj) if slf.get().cls.is_some() && !obj.is_none() => {
                static METHOD_TYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
                let method_type = METHOD_TYPE.get_or_try_init(py, || {
                    py.import("types")?.getattr("MethodType").map(Bound::unbind)
                })?;
                Ok(method_type.call1(py, (slf, obj))?)
            }
            _ => Ok(slf.into_any().unbind()),
        }
    }

    /// A call through `tp_call` (`f.__call__(...)`, or a Python subclass
    /// that doesn't inherit vectorcall): the arguments laid out as a
    /// vectorcall's and bound by [`vcall`](Self::vcall), the one binding.
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        // The keyword arguments, kept alive here for the call.
        let items: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> =
            kwargs.map(|kw| kw.iter().collect()).unwrap_or_default();
        let mut objs: Vec<*mut ffi::PyObject> = args.iter_borrowed().map(|a| a.as_ptr()).collect();
        objs.extend(items.iter().map(|(_, value)| value.as_ptr()));
        let kwnames = if items.is_empty() {
            None
        } else {
            Some(PyTuple::new(py, items.iter().map(|(key, _)| key))?)
        };
        let kwnames_ptr = kwnames.as_ref().map_or(ptr::null_mut(), |k| k.as_ptr());
        // SAFETY: the GIL is held; `objs` holds the positional arguments
        // (borrowed from `args`) then one value per name in `kwnames` (held
        // by `items`), all alive until the call returns.
        unsafe { self.vcall(py, objs.as_ptr(), args.len(), kwnames_ptr) }
    }

    fn __repr__(&self) -> &str {
        &self.repr
    }

    /// Itself, as `copy.copy` gives for a function.
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Itself, as `copy.deepcopy` gives for a function.
    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }

    /// The pure-Python function this one falls back to.
    #[getter]
    fn fallback(&self, py: Python<'_>) -> Py<PyAny> {
        self.fallback.clone_ref(py)
    }

    /// Whether calls release the GIL while Rust runs.
    #[getter]
    fn releases_gil(&self) -> bool {
        self.release_gil || RELEASE_ALWAYS.load(Ordering::Relaxed)
    }

    #[getter]
    fn __dict__(&self, py: Python<'_>) -> Py<PyDict> {
        self.attrs.clone_ref(py)
    }

    #[getter]
    fn __name__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.attr(py, "__name__")
    }

    #[getter]
    fn __qualname__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.attr(py, "__qualname__")
    }

    #[getter]
    fn __module__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.attr(py, "__module__")
    }

    #[getter]
    fn __doc__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.attr(py, "__doc__")
    }

    /// The function's own attributes, then the pure-Python function's
    /// (`__globals__`, `__code__`, `__defaults__`…).
    fn __getattr__(&self, py: Python<'_>, name: &Bound<'_, PyString>) -> PyResult<Py<PyAny>> {
        match self.attrs.bind(py).get_item(name)? {
            Some(value) => Ok(value.unbind()),
            None => self.fallback.getattr(py, name),
        }
    }

    fn __setattr__(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyString>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.attrs.bind(py).set_item(name, value)
    }

    fn __delattr__(&self, py: Python<'_>, name: &Bound<'_, PyString>) -> PyResult<()> {
        let attrs = self.attrs.bind(py);
        if attrs.contains(name)? {
            attrs.del_item(name)
        } else {
            Err(PyAttributeError::new_err(name.clone().unbind()))
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.fallback)?;
        visit.call(&self.failure)?;
        visit.call(&self.attrs)?;
        if let Some(cls) = &self.cls {
            visit.call(cls)?;
        }
        if let Some((descr, _)) = &self.handle_slot {
            visit.call(descr)?;
        }
        Ok(())
    }
}

/// The `_pyo2_h` slot descriptor of a method's class and its `__get__`, if
/// the class has one (pyo2's classes declare `__slots__`); `None` to look
/// the attribute up on each call.
fn handle_slot(cls: &Bound<'_, PyType>) -> PyResult<Option<(Py<PyAny>, ffi::descrgetfunc)>> {
    let py = cls.py();
    let Some(descr) = cls.getattr_opt(pyo3::intern!(py, "_pyo2_h"))? else {
        return Ok(None);
    };
    // `member_descriptor`, the type of a `__slots__` entry (and of
    // `type.__weakrefoffset__`).
    let member = py
        .get_type::<PyType>()
        .getattr("__dict__")?
        .get_item("__weakrefoffset__")?
        .get_type();
    let descr_type = descr.get_type();
    if !descr_type.is(&member) {
        return Ok(None);
    }
    // SAFETY: the GIL is held; a valid type object (member_descriptor is a
    // static type: PyType_GetSlot reads those since Python 3.10).
    let get = unsafe { ffi::PyType_GetSlot(descr_type.as_ptr().cast(), ffi::Py_tp_descr_get) };
    if get.is_null() {
        return Ok(None);
    }
    // SAFETY: the `tp_descr_get` slot holds a `descrgetfunc`.
    let get = unsafe { std::mem::transmute::<*mut c_void, ffi::descrgetfunc>(get) };
    Ok(Some((descr.unbind(), get)))
}

/// From now on, every call releases the GIL while Rust runs, scalar-only
/// calls included. pyo2 calls this when it first hands Rust a Python
/// callable: Rust may then call Python from its own threads while a call
/// runs, and a call that kept the GIL would deadlock waiting for them.
#[pyfunction]
fn release_gil_always() {
    RELEASE_ALWAYS.store(true, Ordering::Relaxed);
}

/// `Method.__doc__` and `Method.__module__`: [`Function`]'s value of the
/// attribute named by `closure`. (The type's own `__doc__` and `__module__`
/// entries would otherwise hide Function's getters.)
///
/// # Safety
///
/// Called by CPython as a getter (the GIL held, `obj` a valid object) with
/// one of the `'static` C strings of [`method_type`] as `closure`.
unsafe extern "C" fn method_attr(
    obj: *mut ffi::PyObject,
    closure: *mut c_void,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls getters with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: `closure` is a 'static NUL-terminated name (the caller's guarantee).
    let name = unsafe { std::ffi::CStr::from_ptr(closure.cast::<c_char>()) };
    let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `obj` is a valid object, borrowed for this call.
        let obj = unsafe { Bound::from_borrowed_ptr(py, obj) };
        let function = obj.cast::<Function>().map_err(PyErr::from)?;
        let name = name
            .to_str()
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        function.get().attr(py, name)
    }));
    match value {
        Ok(Ok(value)) => value.into_ptr(),
        Ok(Err(err)) => {
            err.restore(py);
            ptr::null_mut()
        }
        Err(_) => {
            PyRuntimeError::new_err("pyo2._accel: a getter panicked").restore(py);
            ptr::null_mut()
        }
    }
}

/// How CPython calls a `Function` or `Method` (PEP 590's vectorcall,
/// which `__call__` can't provide: it takes a tuple and a dict, built for
/// every call). `callable` is the function; `args` its positional arguments
/// then its keyword arguments' values, named by `kwnames`.
///
/// # Safety
///
/// Called by CPython with the GIL held, `callable` an instance of a type
/// made by [`function_types`] (whose vectorcall offset points at this
/// function in [`Function::vectorcall`]), and `args`/`nargsf`/`kwnames` as
/// the vectorcall protocol defines them.
unsafe extern "C" fn vectorcall(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls with the GIL held.
    let py = unsafe { Python::assume_attached() };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `callable` is a valid instance of a `Function` subtype
        // (only those types point their vectorcall offset here), borrowed
        // for the call; the arguments are as the protocol says.
        unsafe {
            let obj = Bound::from_borrowed_ptr(py, callable);
            let function = obj.cast_unchecked::<Function>().get();
            function.vcall(py, args, nargsf & !ARGUMENTS_OFFSET, kwnames)
        }
    }));
    match result {
        Ok(Ok(value)) => value.into_ptr(),
        Ok(Err(err)) => {
            err.restore(py);
            ptr::null_mut()
        }
        Err(_) => {
            pyo3::panic::PanicException::new_err("pyo2._accel: a call panicked").restore(py);
            ptr::null_mut()
        }
    }
}

/// A stand-in entry point for [`vectorcall_offset`]'s probe (never called).
///
/// # Safety
///
/// None needed: it reads nothing.
unsafe extern "C" fn no_entry(_args: *const Arg, _nargs: usize, _slot: *mut Slot) -> i32 {
    OK
}

/// Where [`Function::vectorcall`] lies in a `Function` object: the same in
/// every instance of the class and of its subclasses (which add no fields),
/// so measured once on a probe.
fn vectorcall_offset(py: Python<'_>) -> PyResult<ffi::Py_ssize_t> {
    let probe = Py::new(
        py,
        Function {
            vectorcall,
            entry: no_entry,
            name: String::new(),
            params: Box::new([]),
            lists: 0,
            names: None,
            ret: Ret::Unit,
            fallback: py.None(),
            failure: py.None(),
            release_gil: false,
            repr: String::new(),
            attrs: PyDict::new(py).unbind(),
            cls: None,
            handle_slot: None,
        },
    )?;
    let field = ptr::addr_of!(probe.get().vectorcall) as usize;
    let start = probe.as_ptr() as usize;
    match field.checked_sub(start) {
        Some(offset) if offset % align_of::<Vectorcall>() == 0 => {
            ffi::Py_ssize_t::try_from(offset).map_err(|e| PyRuntimeError::new_err(e.to_string()))
        }
        _ => Err(PyRuntimeError::new_err(
            "pyo2._accel: a Function's fields lie outside its object",
        )),
    }
}

/// The types pyo2 makes its functions of, subclasses of `FunctionBase` (the
/// `#[pyclass]`, which can't be given a vectorcall offset or type flags):
///
/// - `Function`, called through [`vectorcall`];
/// - `Method`, its subclass flagged `Py_TPFLAGS_METHOD_DESCRIPTOR`, for a
///   class's methods. CPython then calls `obj.method(args)` as
///   `method(obj, args)` without binding a method object first, as it does
///   for a Python function; reading `obj.method` still binds
///   (`Function::__get__`). It is immutable where CPython allows it, as
///   3.11's specialising interpreter requires of a method's type.
///
/// Both have getters for `__doc__` and `__module__` ([`method_attr`]), which
/// their own type's entries would otherwise hide. Everything else (size,
/// new, call, get, dealloc, traverse) is `FunctionBase`'s.
fn function_types(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Bound<'_, PyAny>)> {
    let offset = vectorcall_offset(py)?;
    // CPython keeps pointers to the getset table and copies the members:
    // both made once per process (the module is initialised once), never freed.
    let getset: &'static mut [ffi::PyGetSetDef] = Box::leak(Box::new([
        ffi::PyGetSetDef {
            name: c"__doc__".as_ptr(),
            get: Some(method_attr),
            set: None,
            doc: ptr::null(),
            closure: c"__doc__".as_ptr().cast_mut().cast(),
        },
        ffi::PyGetSetDef {
            name: c"__module__".as_ptr(),
            get: Some(method_attr),
            set: None,
            doc: ptr::null(),
            closure: c"__module__".as_ptr().cast_mut().cast(),
        },
        ffi::PyGetSetDef::default(),
    ]));
    // `__vectorcalloffset__` sets the type's `tp_vectorcall_offset`
    // (PyType_FromSpec reads it since Python 3.9).
    let members: &'static mut [ffi::PyMemberDef] = Box::leak(Box::new([
        ffi::PyMemberDef {
            name: c"__vectorcalloffset__".as_ptr(),
            type_code: ffi::Py_T_PYSSIZET,
            offset,
            flags: ffi::Py_READONLY,
            doc: ptr::null(),
        },
        ffi::PyMemberDef {
            name: ptr::null(),
            type_code: 0,
            offset: 0,
            flags: 0,
            doc: ptr::null(),
        },
    ]));
    let make = |name: &'static std::ffi::CStr,
                base: &Bound<'_, PyAny>,
                flags: std::ffi::c_ulong|
     -> PyResult<Bound<'_, PyAny>> {
        let bases = PyTuple::new(py, [base])?;
        let mut slots = [
            ffi::PyType_Slot {
                slot: ffi::Py_tp_getset,
                pfunc: getset.as_ptr().cast_mut().cast(),
            },
            ffi::PyType_Slot {
                slot: ffi::Py_tp_members,
                pfunc: members.as_ptr().cast_mut().cast(),
            },
            ffi::PyType_Slot {
                slot: 0,
                pfunc: ptr::null_mut(),
            },
        ];
        let mut spec = ffi::PyType_Spec {
            name: name.as_ptr(),
            basicsize: 0,
            itemsize: 0,
            flags: (ffi::Py_TPFLAGS_DEFAULT | HAVE_VECTORCALL | flags) as std::ffi::c_uint,
            slots: slots.as_mut_ptr(),
        };
        // SAFETY: the GIL is held; `spec` and `slots` are valid for the
        // call (CPython copies the slots and members; the name and the
        // getset table are 'static); `bases` is a tuple of one type that
        // allows subclasses and has the layout the member's offset was
        // measured in. A new reference or null with an exception set.
        unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyType_FromSpecWithBases(&mut spec, bases.as_ptr()),
            )
        }
    };
    let base = py.get_type::<Function>().into_any();
    let function = make(c"pyo2._accel.Function", &base, ffi::Py_TPFLAGS_BASETYPE)?;
    // Immutable where CPython allows it: 3.12 deprecates (a
    // DeprecationWarning at import, an error under `-W error`) and 3.14
    // refuses an immutable type with a mutable base, and `FunctionBase`
    // can't be made immutable on the stable ABI before 3.14. From 3.12 a
    // method call is then not specialised, only a little slower.
    let immutable = if py.version_info() < (3, 12) {
        ffi::Py_TPFLAGS_IMMUTABLETYPE
    } else {
        0
    };
    let method = make(
        c"pyo2._accel.Method",
        &function,
        ffi::Py_TPFLAGS_METHOD_DESCRIPTOR | immutable,
    )?;
    Ok((function, method))
}

/// pyo2's compiled accelerator (see `pyo2._accelerate`).
#[pymodule]
fn _accel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Function>()?;
    let (function, method) = function_types(m.py())?;
    m.add("Function", function)?;
    m.add("Method", method)?;
    m.add_function(wrap_pyfunction!(release_gil_always, m)?)?;
    m.add_function(wrap_pyfunction!(callbacks::install_callbacks, m)?)?;
    m.add_function(wrap_pyfunction!(callbacks::trampoline_for, m)?)?;
    m.add("MAX_PARAMS", MAX_PARAMS)?;
    Ok(())
}
