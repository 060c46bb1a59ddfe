// Rust: src/lib.rs of a cdylib crate that depends on pyo2
use pyo2::{PyStr, PyVec};

#[pyo2::export]
#[unsafe(no_mangle)]
pub extern "C" fn test(name: &PyStr, numbers: &mut PyVec<i64>) {
    println!("Hello, {}!", name.as_str().unwrap_or("?"));
    println!("Sum of numbers: {}", numbers.iter().cloned().sum::<i64>());
    numbers[0] = 6;
}
