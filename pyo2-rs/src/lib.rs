//! # pyo2 — the Rust half
//!
//! `pyo2` lets a Python script call the `extern "C"` functions of a Rust
//! `cdylib` and pass them lists, `str`, `bytes` and buffers as if they were
//! native. This crate holds the types that cross the C ABI; the Python package
//! `pyo2` (pure Python, on `ctypes`) builds them on its side of the call.
//! Nothing here depends on Python.
//!
//! ```
//! use pyo2::{PyStr, PyVec};
//!
//! #[no_mangle]
//! pub extern "C" fn test(name: &PyStr, numbers: &mut PyVec<i64>) {
//!     println!("Hello, {}!", name.as_str().unwrap());
//!     println!("Sum of numbers: {}", numbers.iter().cloned().sum::<i64>());
//!     numbers[0] = 6;
//! }
//! # let mut bytes = *b"World";
//! # let mut data = [1_i64, 2, 3, 4, 5];
//! # // SAFETY: both views borrow live local arrays for their whole use.
//! # let (name, mut numbers) = unsafe {
//! #     (PyStr::from_raw_parts(bytes.as_mut_ptr(), 5), PyVec::from_raw_parts(data.as_mut_ptr(), 5))
//! # };
//! # test(&name, &mut numbers);
//! # assert_eq!(data, [6, 2, 3, 4, 5]);
//! ```
//!
//! ```python
//! from pyo2 import RustDLL
//! dll = RustDLL('./libmylib.so')
//! lst = [1, 2, 3, 4, 5]
//! dll.test('World', lst)
//! print(lst)          # [6, 2, 3, 4, 5]
//! ```
//!
//! # What crosses the boundary
//!
//! | Rust parameter | C layout | Python argument |
//! | --- | --- | --- |
//! | `i8 … u64`, `f32`, `f64`, `bool` | by value | `int`, `float`, `bool` |
//! | [`&PyStr`](PyStr) | `const PyVec_u8 *` | `str` (UTF-8), `bytes`, `bytearray` |
//! | [`&PyVec<T>`](PyVec) / `&mut PyVec<T>` | `PyVec_T *` | `list` of `T`, or a buffer of `T` |
//!
//! `T` is a scalar, `&PyStr`, `&PyVec<U>` or `&mut PyVec<U>`, to any depth:
//! a list of lists of integers is `&mut PyVec<&mut PyVec<i64>>`.
//!
//! # Safety policy
//!
//! Every `unsafe` block in this crate carries a `// SAFETY:` comment that
//! discharges each obligation of the operation it wraps, and every `unsafe fn`
//! has a `# Safety` section; see `SAFETY.md` beside this crate. The crate's
//! tests run under Miri.
#![deny(missing_docs, unsafe_op_in_unsafe_fn, improper_ctypes_definitions)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]
#![warn(rust_2018_idioms)]

mod error;
mod vec;

pub use error::Error;
pub use vec::{PyStr, PyVec};
