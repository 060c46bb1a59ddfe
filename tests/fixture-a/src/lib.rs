//! Library A of the type-identity tests: functions taking and returning the
//! shared `Output` record (also used by `fixture-b`).

use pyo2_records_shared::Output;

/// An `Output` made here.
#[pyo2::export]
fn a_make(x: f64, y: f64) -> Output {
    Output { x, y }
}

/// The sum of an `Output`'s fields.
#[pyo2::export]
fn a_sum(o: &Output) -> f64 {
    o.x + o.y
}
