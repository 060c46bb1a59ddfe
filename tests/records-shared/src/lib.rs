//! One record used by two libraries (`tests/fixture-a`, `tests/fixture-b`):
//! the same Rust type in both, so the same layout hash, so one Python class.

/// A point both libraries take and return.
#[derive(pyo2::Record, Clone, Debug, PartialEq)]
#[repr(C)]
pub struct Output {
    pub x: f64,
    pub y: f64,
}
