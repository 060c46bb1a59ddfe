//! The workloads of `benchmarks/`, once as plain `extern "C"` functions
//! (called by pyo2's inference and declarations, hand-written ctypes, cffi
//! and pyo2 0.1.3) and once with `#[pyo2::export]`. `benchmarks/pyo3` has
//! the same bodies for PyO3.

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
