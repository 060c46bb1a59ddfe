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

/// A class named like the main fixture's, for the foreign-handle tests: its
/// handles belong to this library's registry, not the other's.
#[pyo2::class]
pub struct Counter {
    n: i64,
}

#[pyo2::methods]
impl Counter {
    #[new]
    fn new(start: i64) -> Self {
        Counter { n: start }
    }

    #[getter]
    fn value(&self) -> i64 {
        self.n
    }
}
