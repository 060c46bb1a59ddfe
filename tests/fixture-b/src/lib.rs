//! Library B of the type-identity tests: functions taking and returning the
//! shared `Output` record (also used by `fixture-a`).

use pyo2_records_shared::Output;

/// `o` with its coordinates swapped.
#[pyo2::export]
fn b_swap(o: Output) -> Output {
    Output { x: o.y, y: o.x }
}

/// Scales every `Output` in place.
#[pyo2::export]
fn b_scale(outputs: &mut [Output], k: f64) {
    for o in outputs {
        o.x *= k;
        o.y *= k;
    }
}
