//! Compiled callback trampolines (`pyo2::abi`, section "Callbacks").
//!
//! One `extern "C" fn call(ctx, a1, …, raised)` per signature of 0–2
//! arguments from {i64, u64, usize, isize, i32, u32, f64, bool, &str} and a
//! return from {(), i64, u64, usize, isize, i32, u32, f64, bool},
//! monomorphised from three generic functions. `ctx` is a key of
//! `pyo2._callbacks._TABLE` (the loader's one reference to the callable), as
//! for the ctypes trampolines, so the Python side's bookkeeping is the same
//! for both. Each call takes the GIL, converts the arguments, calls the
//! callable and checks its result exactly as `pyo2._callbacks`' ctypes
//! trampoline does: the common results (an exact `int` in range, a `float`,
//! `True`/`False`) here, anything else through the same Python converter.
//! On any exception, the Python hook `_callbacks._report(exc, ctx)` stashes
//! or reports it, and `*raised` is set.

use std::collections::HashMap;
use std::sync::OnceLock;

use pyo3::exceptions::{PyKeyError, PyRuntimeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyTuple};

/// What `install_callbacks` hands the accelerator, once.
struct Hooks {
    /// `_callbacks._TABLE`: ctx → callable.
    table: Py<PyDict>,
    /// `_callbacks._report(exc, ctx)`.
    report: Py<PyAny>,
    /// Return type name → `_callbacks._converter(t)`.
    converters: Py<PyDict>,
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// `Pyo2StrView`.
#[repr(C)]
pub struct StrView {
    ptr: *const u8,
    len: usize,
}

/// A callback argument type.
trait Arg {
    /// Its C type.
    type C: Copy;
    /// Its name in a signature key.
    const NAME: &'static str;
    /// The Python value of `c`.
    fn to_py(py: Python<'_>, c: Self::C) -> PyResult<Bound<'_, PyAny>>;
}

/// A callback return type.
trait Ret {
    /// Its C type.
    type C;
    /// Its name in a signature key (and of its converter).
    const NAME: &'static str;
    /// What the call returns when the callable raised.
    fn zero() -> Self::C;
    /// The C value of the callable's result, checked.
    fn from_py(value: &Bound<'_, PyAny>) -> PyResult<Self::C>;
}

macro_rules! int_types {
    ($($t:ident),*) => {$(
        impl Arg for $t {
            type C = $t;
            const NAME: &'static str = stringify!($t);
            fn to_py(py: Python<'_>, c: $t) -> PyResult<Bound<'_, PyAny>> {
                Ok(c.into_pyobject(py)?.into_any())
            }
        }
        impl Ret for $t {
            type C = $t;
            const NAME: &'static str = stringify!($t);
            fn zero() -> $t {
                0
            }
            fn from_py(value: &Bound<'_, PyAny>) -> PyResult<$t> {
                if value.is_exact_instance_of::<PyInt>() {
                    if let Ok(number) = value.extract::<$t>() {
                        return Ok(number);
                    }
                }
                convert::<Self>(value)?.extract::<$t>()
            }
        }
    )*};
}
int_types!(i64, u64, usize, isize, i32, u32);

impl Arg for f64 {
    type C = f64;
    const NAME: &'static str = "f64";
    fn to_py(py: Python<'_>, c: f64) -> PyResult<Bound<'_, PyAny>> {
        Ok(PyFloat::new(py, c).into_any())
    }
}

impl Ret for f64 {
    type C = f64;
    const NAME: &'static str = "f64";
    fn zero() -> f64 {
        0.0
    }
    fn from_py(value: &Bound<'_, PyAny>) -> PyResult<f64> {
        if let Ok(float) = value.cast_exact::<PyFloat>() {
            return Ok(float.value());
        }
        convert::<Self>(value)?.extract::<f64>()
    }
}

/// `bool`: one byte.
struct Bool;

impl Arg for Bool {
    type C = u8;
    const NAME: &'static str = "bool";
    fn to_py(py: Python<'_>, c: u8) -> PyResult<Bound<'_, PyAny>> {
        Ok(PyBool::new(py, c != 0).to_owned().into_any())
    }
}

impl Ret for Bool {
    type C = u8;
    const NAME: &'static str = "bool";
    fn zero() -> u8 {
        0
    }
    fn from_py(value: &Bound<'_, PyAny>) -> PyResult<u8> {
        let py = value.py();
        if value.is(PyBool::new(py, true)) {
            return Ok(1);
        }
        if value.is(PyBool::new(py, false)) {
            return Ok(0);
        }
        Ok(u8::from(convert::<Self>(value)?.extract::<i64>()? != 0))
    }
}

/// `()`: nothing returned (the callable's result is ignored).
struct Unit;

impl Ret for Unit {
    type C = ();
    const NAME: &'static str = "()";
    fn zero() {}
    fn from_py(_value: &Bound<'_, PyAny>) -> PyResult<()> {
        Ok(())
    }
}

/// `&str`: a `const Pyo2StrView *`.
struct Str;

impl Arg for Str {
    type C = *const StrView;
    const NAME: &'static str = "&str";
    fn to_py(py: Python<'_>, c: *const StrView) -> PyResult<Bound<'_, PyAny>> {
        // SAFETY: Rust passes a valid view of a `&str` that outlives the
        // call (the ABI's contract).
        let view = unsafe { &*c };
        let len = ffi::Py_ssize_t::try_from(view.len)
            .map_err(|_| PyRuntimeError::new_err("a &str longer than isize::MAX"))?;
        // SAFETY: the GIL is held; `ptr` points to `len` readable bytes
        // (null only for an empty str, where `len` is 0 and nothing is
        // read); a new reference or null with an exception set (the same
        // UnicodeDecodeError as `bytes.decode()` on bad UTF-8).
        unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyUnicode_DecodeUTF8(view.ptr.cast(), len, std::ptr::null()),
            )
        }
    }
}

/// `value` through `_callbacks._converter(R)`: the same checks and errors
/// as the ctypes trampoline.
fn convert<'py, R: Ret>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = value.py();
    let hooks = hooks()?;
    let converter = hooks
        .converters
        .bind(py)
        .get_item(R::NAME)?
        .ok_or_else(|| PyKeyError::new_err(R::NAME))?;
    converter.call1((value,))
}

fn hooks() -> PyResult<&'static Hooks> {
    HOOKS
        .get()
        .ok_or_else(|| PyRuntimeError::new_err("pyo2._accel: callbacks not installed"))
}

/// The callable of `ctx`, called with `args`.
fn call_ctx<'py>(
    py: Python<'py>,
    ctx: usize,
    args: Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let callable = hooks()?
        .table
        .bind(py)
        .get_item(ctx)?
        .ok_or_else(|| PyKeyError::new_err(ctx))?;
    callable.call1(args)
}

/// The failure path: hand `err` to `_callbacks._report` (which stashes it
/// for the call to raise, or reports it), then set `*raised`.
#[cold]
fn failed(py: Python<'_>, err: PyErr, ctx: usize, raised: *mut i32) {
    // The exception as a `Bound` (dropped here, with the GIL): a `PyErr`
    // dropped on a thread PyO3 doesn't know holds the GIL (see `with_gil`)
    // would only queue its decref.
    let exc = err.into_value(py).into_bound(py);
    let reported = hooks().and_then(|hooks| hooks.report.bind(py).call1((exc, ctx)).map(drop));
    if let Err(other) = reported {
        other.write_unraisable(py, None);
    }
    // SAFETY: Rust passes a valid, writable `int32_t` (the ABI's contract).
    unsafe { raised.write(1) };
}

/// The body shared by every trampoline: the GIL taken, the arguments made
/// by `args`, the result checked, failures reported; never unwinds.
#[inline(always)]
fn trampoline<R: Ret>(
    ctx: usize,
    raised: *mut i32,
    args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
) -> R::C {
    let result = with_gil(|py| {
        let value = args(py)
            .and_then(|args| call_ctx(py, ctx, args))
            .and_then(|value| R::from_py(&value));
        match value {
            Ok(value) => value,
            Err(err) => {
                failed(py, err, ctx, raised);
                R::zero()
            }
        }
    });
    result.unwrap_or_else(|| {
        // A panic in pyo3 itself (not a Python exception): Rust unwinds.
        // SAFETY: as in `failed`.
        unsafe { raised.write(1) };
        R::zero()
    })
}

/// `f` with the GIL, whoever holds it now; None if `f` panicked.
///
/// Not `Python::attach`: the thread may hold PyO3's GIL count from an outer
/// callback while the GIL itself was released around a nested foreign call
/// by ctypes (which PyO3 doesn't see), so the GIL is taken with
/// `PyGILState_Ensure`, as ctypes' own trampolines do.
#[inline(always)]
fn with_gil<T>(f: impl FnOnce(Python<'_>) -> T) -> Option<T> {
    // SAFETY: the interpreter is initialised (the accelerator is loaded in
    // it); `PyGILState_Ensure` takes the GIL on any thread, re-entrantly.
    let state = unsafe { ffi::PyGILState_Ensure() };
    // SAFETY: this thread holds the GIL until `PyGILState_Release` below.
    let py = unsafe { Python::assume_attached() };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(py))).ok();
    // SAFETY: `state` is this thread's matching `PyGILState_Ensure`; every
    // object `f` made was dropped inside it.
    unsafe { ffi::PyGILState_Release(state) };
    result
}

extern "C" fn call0<R: Ret>(ctx: usize, raised: *mut i32) -> R::C {
    trampoline::<R>(ctx, raised, |py| Ok(PyTuple::empty(py)))
}

extern "C" fn call1<A: Arg, R: Ret>(ctx: usize, a: A::C, raised: *mut i32) -> R::C {
    trampoline::<R>(ctx, raised, |py| PyTuple::new(py, [A::to_py(py, a)?]))
}

extern "C" fn call2<A: Arg, B: Arg, R: Ret>(
    ctx: usize,
    a: A::C,
    b: B::C,
    raised: *mut i32,
) -> R::C {
    trampoline::<R>(ctx, raised, |py| {
        PyTuple::new(py, [A::to_py(py, a)?, B::to_py(py, b)?])
    })
}

/// `release(ctx)` of a stored callback: forgets the table's entry (the
/// callable's last reference may go here), on any thread.
extern "C" fn release(ctx: usize) {
    with_gil(|py| {
        if let Ok(hooks) = hooks() {
            // `pop(ctx, None)`: a PyErr made here could outlive the GIL
            // (see `failed`).
            if let Err(err) = hooks.table.bind(py).call_method1("pop", (ctx, py.None())) {
                err.write_unraisable(py, None);
            }
        }
    });
}

macro_rules! ret_each {
    ($t:ident; $args:tt) => {
        ret_one!($t; $args; Unit);
        ret_each!(@ $t; $args; i64, u64, usize, isize, i32, u32, f64, Bool);
    };
    (@ $t:ident; $args:tt; $($r:ident),*) => {
        $( ret_one!($t; $args; $r); )*
    };
}

macro_rules! ret_one {
    ($t:ident; []; $r:ident) => {
        $t.insert(
            key::<$r>(&[]),
            call0::<$r> as extern "C" fn(usize, *mut i32) -> <$r as Ret>::C as usize,
        )
    };
    ($t:ident; [$a:ident]; $r:ident) => {
        $t.insert(
            key::<$r>(&[<$a as Arg>::NAME]),
            call1::<$a, $r> as extern "C" fn(usize, <$a as Arg>::C, *mut i32) -> <$r as Ret>::C
                as usize,
        )
    };
    ($t:ident; [$a:ident, $b:ident]; $r:ident) => {
        $t.insert(
            key::<$r>(&[<$a as Arg>::NAME, <$b as Arg>::NAME]),
            call2::<$a, $b, $r>
                as extern "C" fn(usize, <$a as Arg>::C, <$b as Arg>::C, *mut i32) -> <$r as Ret>::C
                as usize,
        )
    };
}

macro_rules! second_each {
    ($t:ident; $a:ident; $($b:ident),*) => {
        $( ret_each!($t; [$a, $b]); )*
    };
}

macro_rules! args_each {
    ($t:ident; $($a:ident),*) => {
        ret_each!($t; []);
        $( ret_each!($t; [$a]); )*
        $( second_each!($t; $a; i64, u64, usize, isize, i32, u32, f64, Bool, Str); )*
    };
}

/// `"a1,a2->r"`.
fn key<R: Ret>(args: &[&str]) -> String {
    format!("{}->{}", args.join(","), R::NAME)
}

fn table() -> &'static HashMap<String, usize> {
    static TABLE: OnceLock<HashMap<String, usize>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = HashMap::new();
        args_each!(t; i64, u64, usize, isize, i32, u32, f64, Bool, Str);
        t
    })
}

/// Hands the accelerator `_callbacks._TABLE`, `_callbacks._report` and the
/// converters by return type name (once; later calls change nothing).
#[pyfunction]
pub fn install_callbacks(
    table: Bound<'_, PyDict>,
    report: Bound<'_, PyAny>,
    converters: Bound<'_, PyDict>,
) {
    let _ = HOOKS.set(Hooks {
        table: table.unbind(),
        report: report.unbind(),
        converters: converters.unbind(),
    });
}

/// `(call address, release address)` of the compiled trampoline for the
/// signature `key` (`"i64,&str->bool"`, `"->()"`), or None.
#[pyfunction(name = "trampoline")]
pub fn trampoline_for(key: &str) -> Option<(usize, usize)> {
    let release = release as extern "C" fn(usize) as usize;
    table().get(key).map(|&call| (call, release))
}
