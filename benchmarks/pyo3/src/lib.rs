//! The benchmark workloads as an idiomatic PyO3 extension: the same bodies as
//! `benchmarks/rust`, with PyO3's own conversions.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyList};

#[pyfunction]
fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

#[pyfunction]
fn sum_i64(v: Vec<i64>) -> i64 {
    v.iter().fold(0, |a, &b| a.wrapping_add(b))
}

/// Doubles every element of the list in place (modulo 1,000,003, as in `benchmarks/rust`).
#[pyfunction]
fn double_i64(v: &Bound<'_, PyList>) -> PyResult<()> {
    for i in 0..v.len() {
        let x: i64 = v.get_item(i)?.extract()?;
        v.set_item(i, x.wrapping_mul(2).rem_euclid(1_000_003))?;
    }
    Ok(())
}

#[pyfunction]
fn str_len(s: &str) -> usize {
    s.chars().count()
}

#[pyfunction]
fn bytes_sum(b: &[u8]) -> u64 {
    b.iter().map(|&x| u64::from(x)).sum()
}

#[pyfunction]
fn bytearray_sum(b: &Bound<'_, PyByteArray>) -> u64 {
    // SAFETY: no Python code runs while the slice is alive, so the bytearray
    // can't be resized under it.
    let bytes = unsafe { b.as_bytes() };
    bytes.iter().map(|&x| u64::from(x)).sum()
}

#[pyfunction]
fn nested_sum(rows: Vec<Vec<i64>>) -> i64 {
    rows.iter()
        .fold(0, |acc, row| row.iter().fold(acc, |a, &b| a.wrapping_add(b)))
}

/// A point in the plane, as a Python class with mutable fields.
#[pyclass]
struct Point {
    #[pyo3(get, set)]
    x: f64,
    #[pyo3(get, set)]
    y: f64,
}

#[pymethods]
impl Point {
    #[new]
    fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }
}

/// Scales the points of the list to unit length in place; returns the longest length before.
#[pyfunction]
fn normalize_points(points: &Bound<'_, PyList>) -> PyResult<f64> {
    let mut longest = 0.0_f64;
    for item in points.iter() {
        let mut p: PyRefMut<'_, Point> = item.extract()?;
        let len = (p.x * p.x + p.y * p.y).sqrt();
        longest = longest.max(len);
        if len > 0.0 {
            p.x /= len;
            p.y /= len;
        }
    }
    Ok(longest)
}

/// A counter: `add` is a `&self` method (an atomic add), as in `benchmarks/rust`.
#[pyclass]
struct Counter {
    n: AtomicI64,
}

#[pymethods]
impl Counter {
    #[new]
    fn new(start: i64) -> Self {
        Counter {
            n: AtomicI64::new(start),
        }
    }

    /// Adds `k`; returns the new value.
    fn add(&self, k: i64) -> i64 {
        self.n.fetch_add(k, Relaxed).wrapping_add(k)
    }
}

/// The sum of `f(0), f(1), …, f(n - 1)`, calling the Python callable `f`.
#[pyfunction]
fn call_n(n: i64, f: &Bound<'_, PyAny>) -> PyResult<i64> {
    let mut acc = 0_i64;
    for i in 0..n {
        acc = acc.wrapping_add(f.call1((i,))?.extract::<i64>()?);
    }
    Ok(acc)
}

#[pyfunction]
fn vec10() -> Vec<i64> {
    (0..10).collect()
}

#[pyfunction]
fn hello() -> String {
    "hello, world".to_owned()
}

// Built twice by benchmarks/run: for this Python (`pyo3_bench`) and, with
// the `abi3` feature, for the stable ABI (`pyo3_bench_abi3`).
#[pymodule]
#[cfg_attr(feature = "abi3", pyo3(name = "pyo3_bench_abi3"))]
fn pyo3_bench(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(add, m)?)?;
    m.add_function(wrap_pyfunction!(sum_i64, m)?)?;
    m.add_function(wrap_pyfunction!(double_i64, m)?)?;
    m.add_function(wrap_pyfunction!(str_len, m)?)?;
    m.add_function(wrap_pyfunction!(bytes_sum, m)?)?;
    m.add_function(wrap_pyfunction!(bytearray_sum, m)?)?;
    m.add_function(wrap_pyfunction!(nested_sum, m)?)?;
    m.add_class::<Point>()?;
    m.add_function(wrap_pyfunction!(normalize_points, m)?)?;
    m.add_class::<Counter>()?;
    m.add_function(wrap_pyfunction!(call_n, m)?)?;
    m.add_function(wrap_pyfunction!(vec10, m)?)?;
    m.add_function(wrap_pyfunction!(hello, m)?)?;
    Ok(())
}
