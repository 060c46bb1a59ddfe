//! A small statistics library exported with `#[pyo2::export]`: no
//! `extern "C"`, no `#[no_mangle]`, no unsafe. `stats.py` beside this crate
//! calls it from Python.

use std::num::ParseFloatError;

/// Parses comma-separated numbers.
#[pyo2::export]
fn parse_numbers(text: &str) -> Result<Vec<f64>, ParseFloatError> {
    text.split(',').map(|s| s.trim().parse()).collect()
}

/// The arithmetic mean, or `None` when there are no values.
#[pyo2::export]
fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// Scales the values in place so that they sum to 1.
#[pyo2::export]
fn normalize(values: &mut [f64]) -> Result<(), String> {
    let sum: f64 = values.iter().sum();
    if sum == 0.0 || !sum.is_finite() {
        return Err(format!("can't normalize values that sum to {sum}"));
    }
    values.iter_mut().for_each(|v| *v /= sum);
    Ok(())
}

/// The `p`-th percentile (nearest rank).
///
/// `p` outside `0..=100` is a bug in the caller, not an error: it panics.
#[pyo2::export]
fn percentile(values: &[f64], p: u8) -> f64 {
    assert!(p <= 100, "percentile must be in 0..=100, got {p}");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p as usize * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// A one-line summary.
#[pyo2::export]
fn summary(values: &[f64]) -> String {
    match mean(values) {
        Some(m) => format!("{} values, mean {m:.3}", values.len()),
        None => "no values".to_owned(),
    }
}
