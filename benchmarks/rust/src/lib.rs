//! The workloads of `benchmarks/`, once as plain `extern "C"` functions
//! (called by pyo2's inference and declarations, hand-written ctypes, cffi
//! and pyo2 0.1.3) and once with `#[pyo2::export]`. `benchmarks/pyo3` has
//! the same bodies for PyO3.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use pyo2::{PyStr, PyVec};

/// `a + b` (wrapping).
#[no_mangle]
pub extern "C" fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// Wrapping sum of the elements.
#[no_mangle]
pub extern "C" fn sum_i64(v: &PyVec<i64>) -> i64 {
    sum(v)
}

/// Doubles every element in place, modulo [`MODULUS`]: repeated calls keep
/// the values small (as the benchmark's data is) and change every element.
#[no_mangle]
pub extern "C" fn double_i64(v: &mut PyVec<i64>) {
    double(v)
}

/// Number of chars of a UTF-8 string (`usize::MAX` if it is not UTF-8).
#[no_mangle]
pub extern "C" fn str_len(s: &PyStr) -> usize {
    s.as_str().map_or(usize::MAX, |s| s.chars().count())
}

/// Wrapping sum of the bytes.
#[no_mangle]
pub extern "C" fn bytes_sum(b: &PyVec<u8>) -> u64 {
    bytes(b)
}

/// Wrapping sum of all elements of all rows.
#[no_mangle]
pub extern "C" fn nested_sum(rows: &PyVec<&PyVec<i64>>) -> i64 {
    rows.iter().fold(0, |acc, row| acc.wrapping_add(sum(row)))
}

/// A point in the plane: a plain record, laid out as C's
/// `struct { double x, y; }` (hand-written ctypes and cffi declare it so).
#[derive(pyo2::Record, Clone, Copy, Debug)]
#[repr(C)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// Scales the points to unit length in place; returns the longest length before.
#[no_mangle]
pub extern "C" fn normalize_points(v: &mut PyVec<Point>) -> f64 {
    normalize(v)
}

/// Turns every point a quarter turn about the origin: every call changes
/// every point (but the origin), so every call writes every point back.
#[no_mangle]
pub extern "C" fn rotate_points(v: &mut PyVec<Point>) {
    rotate(v)
}

#[pyo2::export]
fn ex_add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

#[pyo2::export]
fn ex_sum_i64(v: &[i64]) -> i64 {
    sum(v)
}

#[pyo2::export]
fn ex_double_i64(v: &mut [i64]) {
    double(v)
}

/// Ten `i64`s as an owned `Vec` (the "Vec<i64> x10 returned" row).
#[pyo2::export]
fn ex_vec10() -> Vec<i64> {
    (0..10).collect()
}

/// A short owned `String` (the "short String returned" row).
#[pyo2::export]
fn ex_hello() -> String {
    "hello, world".to_owned()
}

#[pyo2::export]
fn ex_str_len(s: &str) -> usize {
    s.chars().count()
}

#[pyo2::export]
fn ex_bytes_sum(b: &[u8]) -> u64 {
    bytes(b)
}

#[pyo2::export]
fn ex_nested_sum(rows: &[&PyVec<i64>]) -> i64 {
    rows.iter().fold(0, |acc, row| acc.wrapping_add(sum(row)))
}

#[pyo2::export]
fn ex_normalize_points(points: &mut [Point]) -> f64 {
    normalize(points)
}

#[pyo2::export]
fn ex_rotate_points(points: &mut [Point]) {
    rotate(points)
}

/// A counter: `add` is a `&self` method (an atomic add), the work of the
/// method-call rows.
#[pyo2::class]
pub struct Counter {
    n: AtomicI64,
}

#[pyo2::methods]
impl Counter {
    #[new]
    fn new(start: i64) -> Self {
        Counter {
            n: AtomicI64::new(start),
        }
    }

    /// Adds `k`; returns the new value.
    fn add(&self, k: i64) -> i64 {
        counter_add_to(&self.n, k)
    }
}

/// The state of [`ex_counter_add`]: the same work as [`Counter::add`] in a free function.
static FREE_COUNTER: AtomicI64 = AtomicI64::new(0);

/// [`Counter::add`] as an exported free function (on a static counter).
#[pyo2::export]
fn ex_counter_add(k: i64) -> i64 {
    counter_add_to(&FREE_COUNTER, k)
}

/// A new counter for hand-written ctypes and cffi; free it with [`counter_free`].
#[no_mangle]
pub extern "C" fn counter_new(start: i64) -> *mut AtomicI64 {
    Box::into_raw(Box::new(AtomicI64::new(start)))
}

/// [`Counter::add`] on a counter made by [`counter_new`].
///
/// # Safety
///
/// `counter` comes from [`counter_new`] and was not freed.
#[no_mangle]
pub unsafe extern "C" fn counter_add(counter: *const AtomicI64, k: i64) -> i64 {
    // SAFETY: the caller passes a live counter from `counter_new`.
    counter_add_to(unsafe { &*counter }, k)
}

/// Frees a counter made by [`counter_new`].
///
/// # Safety
///
/// `counter` comes from [`counter_new`] and was not freed; it is not used after.
#[no_mangle]
pub unsafe extern "C" fn counter_free(counter: *mut AtomicI64) {
    // SAFETY: the caller passes a live counter from `counter_new`, once.
    drop(unsafe { Box::from_raw(counter) });
}

fn counter_add_to(n: &AtomicI64, k: i64) -> i64 {
    n.fetch_add(k, Relaxed).wrapping_add(k)
}

/// The sum of `f(0), f(1), …, f(n - 1)`: `n` round trips to a C function pointer
/// (a ctypes `CFUNCTYPE` or a cffi callback).
#[no_mangle]
pub extern "C" fn call_n(n: i64, f: extern "C" fn(i64) -> i64) -> i64 {
    (0..n).fold(0, |acc, i| acc.wrapping_add(f(i)))
}

/// [`call_n`] with a scoped pyo2 callback.
#[pyo2::export]
fn ex_call_n(n: i64, f: &mut dyn FnMut(i64) -> i64) -> i64 {
    (0..n).fold(0, |acc, i| acc.wrapping_add(f(i)))
}

/// [`call_n`] with a stored pyo2 callback (released when this call returns).
#[pyo2::export]
fn ex_call_n_stored(n: i64, f: pyo2::Callback<dyn Fn(i64) -> i64 + Send + Sync>) -> i64 {
    (0..n).fold(0, |acc, i| acc.wrapping_add(f(i)))
}

fn normalize(points: &mut [Point]) -> f64 {
    let mut longest = 0.0_f64;
    for p in points.iter_mut() {
        let len = (p.x * p.x + p.y * p.y).sqrt();
        longest = longest.max(len);
        if len > 0.0 {
            p.x /= len;
            p.y /= len;
        }
    }
    longest
}

fn rotate(points: &mut [Point]) {
    for p in points.iter_mut() {
        (p.x, p.y) = (-p.y, p.x);
    }
}

fn sum(v: &[i64]) -> i64 {
    v.iter().fold(0, |a, &b| a.wrapping_add(b))
}

/// The benchmark's values are below this prime.
pub const MODULUS: i64 = 1_000_003;

fn double(v: &mut [i64]) {
    v.iter_mut()
        .for_each(|x| *x = x.wrapping_mul(2).rem_euclid(MODULUS));
}

fn bytes(b: &[u8]) -> u64 {
    b.iter().map(|&x| u64::from(x)).sum()
}
