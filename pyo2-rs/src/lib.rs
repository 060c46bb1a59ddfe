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

pub mod abi;
mod error;
mod objects;
mod panic;
mod vec;

pub use error::Error;
pub use objects::{Callback, Iter};
pub use vec::{PyStr, PyVec};

/// Exports a plain Rust function to Python, with its signature.
///
/// ```
/// use std::num::ParseIntError;
///
/// /// Parses a decimal integer.
/// #[pyo2::export]
/// fn parse(text: &str) -> Result<i64, ParseIntError> {
///     text.trim().parse()
/// }
///
/// #[pyo2::export]
/// fn scale(v: &mut [f64], k: f64) -> Option<f64> {
///     v.iter_mut().for_each(|x| *x *= k);
///     v.iter().copied().reduce(f64::max)
/// }
/// # assert_eq!(parse(" 42 "), Ok(42));
/// # assert_eq!(scale(&mut [1.0, 2.0], 2.0), Some(4.0));
/// ```
///
/// ```python
/// dll = pyo2.RustDLL("./libmylib.so")
/// dll.parse("42")          # 42
/// dll.parse("x")           # raises pyo2.RustError("invalid digit found in string")
/// v = [1.0, 2.0]
/// dll.scale(v, 2.0)        # 4.0, and v == [2.0, 4.0]
/// ```
///
/// The attribute keeps the function as it is (Rust code still calls it) and
/// adds, under the same name, a C-ABI symbol plus a descriptor of the
/// signature that `pyo2.RustDLL` reads when it loads the function. Python
/// then checks every argument against the real Rust types before the call and
/// converts the result after it. You write no `extern "C"` and no
/// `#[no_mangle]`.
///
/// | Rust | Python |
/// | --- | --- |
/// | parameters: `i8 … u64`, `isize`, `usize`, `f32`, `f64`, `bool` | `int`, `float`, `bool`, range-checked |
/// | `&PyStr`, `&str` (checked UTF-8) | `str`, `bytes`, `bytearray` |
/// | `&PyVec<T>`, `&[T]` / `&mut PyVec<T>`, `&mut [T]` | a `list` (written back for `&mut`) or a buffer |
/// | returns: scalars, `bool`, `()` | `int`, `float`, `bool`, `None` |
/// | `String` / `Vec<T>` (`T` a scalar) | `str` / `list` |
/// | `Option<T>` | the value, or `None` |
/// | `Result<T, E: Display>` | the value, or raises `pyo2.RustError(str(e))` |
/// | a panic | raises `pyo2.RustPanic` with the panic message |
///
/// `T` inside `PyVec<T>` and slices is a scalar, `&PyStr`, `&PyVec<U>` or
/// `&mut PyVec<U>`, to any depth. A panic is caught at the boundary (so the
/// crate must not be built with `panic = "abort"`); the memory of a
/// `String`, a `Vec` or an error message is freed by this library, once,
/// after Python has copied it. The C ABI is described in [`abi`].
///
/// The function can't be generic (but for lifetimes), `unsafe`, `async`,
/// `const` or a method, and its parameters can't borrow for `'static`:
///
/// ```compile_fail
/// #[pyo2::export]
/// fn keep(s: &'static str) -> usize { s.len() }
/// ```
///
/// However it is spelled: the generated code is generic over the lifetime of
/// Python's loan, so a parameter type that needs `'static` through an alias,
/// deep inside a `PyVec`, or a lifetime bound doesn't compile either
/// (see [`abi`]).
///
/// ```compile_fail
/// type Forever = &'static str;
/// #[pyo2::export]
/// fn keep(s: Forever) -> usize { s.len() }
/// ```
///
/// ```compile_fail
/// type Words<'a> = &'a pyo2::PyVec<&'static pyo2::PyStr>;
/// #[pyo2::export]
/// fn keep(words: Words<'_>) -> usize { words.len() }
/// ```
///
/// ```compile_fail
/// #[pyo2::export]
/// fn keep<'a: 'static>(s: &'a str) -> usize { s.len() }
/// ```
///
/// A type that can't cross the boundary is a compile error:
///
/// ```compile_fail,E0277
/// #[pyo2::export]
/// fn owned(v: std::collections::HashMap<u8, u8>) -> usize { v.len() }
/// ```
///
/// # On a `#[no_mangle] extern "C"` function
///
/// On a function that is already `#[no_mangle] pub extern "C"` (or
/// `#[unsafe(no_mangle)]`, or has an `#[export_name]`), the attribute leaves
/// the function and its symbol exactly as they are and adds only the
/// descriptor, so Python checks and converts its arguments as if it were
/// declared with `dll.declare()`, takes keyword arguments, and returns its
/// value:
///
/// ```
/// use pyo2::{PyStr, PyVec};
///
/// /// Multiplies every element by `k`; returns the new sum.
/// #[pyo2::export]
/// #[no_mangle]
/// pub extern "C" fn scale(v: &mut PyVec<f64>, k: f64) -> f64 {
///     v.iter_mut().for_each(|x| *x *= k);
///     v.iter().sum()
/// }
///
/// #[pyo2::export]
/// #[no_mangle]
/// pub extern "C" fn total_len(words: &PyVec<&PyStr>) -> u64 {
///     words.iter().map(|w| w.len() as u64).sum()
/// }
/// # let mut data = [1.0, 2.0];
/// # // SAFETY: `data` is a live local array, used only through the view.
/// # let mut v = unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), 2) };
/// # assert_eq!(scale(&mut v, 3.0), 9.0);
/// ```
///
/// ```python
/// v = [1.0, 2.0]
/// dll.scale(v, k=3.0)      # 9.0, and v == [3.0, 6.0]
/// dll.scale([1, 2], 3.0)   # TypeError: ints are not f64
/// ```
///
/// Its parameters must have the C ABI pyo2 passes: scalars, `&PyStr`,
/// `&PyVec<T>` and `&mut PyVec<T>` ([`abi::ExternParam`]); it returns a
/// scalar, `bool` or `()` ([`abi::ExternReturn`]). For `&str`, slices and
/// owned returns, drop `extern "C"` and `#[no_mangle]` and let the attribute
/// write the wrapper. The function can't be `unsafe` (Python can't uphold a
/// safety contract), generic, or borrow for `'static`, and its ABI must be
/// `"C"`. Its panics are not caught: a panic that reaches an `extern "C"`
/// boundary aborts the process, as it does without the attribute.
///
/// ```compile_fail
/// #[pyo2::export]
/// #[no_mangle]
/// pub extern "C" fn text(s: &str) -> usize { s.len() }
/// ```
///
/// ```compile_fail,E0277
/// // An alias doesn't hide it either.
/// type Text<'a> = &'a str;
/// #[pyo2::export]
/// #[no_mangle]
/// pub extern "C" fn text(s: Text<'_>) -> usize { s.len() }
/// ```
///
/// ```compile_fail
/// type Forever = &'static pyo2::PyStr;
/// #[pyo2::export]
/// #[no_mangle]
/// pub extern "C" fn keep(s: Forever) -> usize { s.len() }
/// ```
///
/// ```compile_fail
/// #[pyo2::export]
/// #[no_mangle]
/// pub extern "C" fn keep<'a: 'static>(s: &'a pyo2::PyStr) -> usize { s.len() }
/// ```
///
/// ```compile_fail
/// // No #[no_mangle]: the function has no C symbol to describe.
/// #[pyo2::export]
/// pub extern "C" fn twice(x: i64) -> i64 { x * 2 }
/// ```
///
/// ```compile_fail
/// #[pyo2::export]
/// #[no_mangle]
/// pub unsafe extern "C" fn twice(x: i64) -> i64 { x * 2 }
/// ```
///
/// ```compile_fail
/// #[pyo2::export]
/// #[no_mangle]
/// pub extern "C" fn owned() -> String { String::new() }
/// ```
///
/// # Releasing the GIL
///
/// With pyo2's compiled accelerator, a call releases the GIL while Rust runs
/// when it passes a list or a text, and keeps it for a call with only
/// scalars, where releasing and re-acquiring it would cost more than the
/// call. A long-running function that takes only scalars (a simulation
/// step, a wait, a blocking read) would then block every other Python
/// thread while it runs: mark it `#[pyo2::export(release_gil)]` and
/// every call of it releases the GIL.
///
/// ```
/// use std::time::Duration;
///
/// /// Waits `ms` milliseconds; returns how long it waited.
/// #[pyo2::export(release_gil)]
/// fn wait_ms(ms: u64) -> u64 {
///     std::thread::sleep(Duration::from_millis(ms));
///     ms
/// }
///
/// /// Counts the primes below `n` (scalar-only, and long for a large `n`).
/// #[pyo2::export(release_gil)]
/// #[no_mangle]
/// pub extern "C" fn count_primes(n: u64) -> u64 {
///     (2..n).filter(|&k| (2..k).take_while(|d| d * d <= k).all(|d| k % d != 0)).count() as u64
/// }
/// # assert_eq!(wait_ms(1), 1);
/// # assert_eq!(count_primes(20), 8);
/// ```
///
/// ```python
/// dll.wait_ms.releases_gil                                     # True (False without the mark)
/// threading.Thread(target=dll.wait_ms, args=(500,)).start()   # other threads run meanwhile
/// ```
///
/// The function is otherwise unchanged (same symbols, same descriptor):
/// the library also exports a one-byte marker, `__pyo2_release_gil__NAME`,
/// which the loader looks for (see [`abi`](abi#releasing-the-gil)), so a
/// library with marked functions still loads with an older `pyo2` package
/// (which applies its own rule), and a newer package loads libraries built
/// before the mark as before. Without the accelerator (`PYO2_PURE=1`, PyPy,
/// a pure install) calls go through `ctypes`, which releases the GIL in
/// every call anyway, marked or not, except calls that lend a writable
/// buffer in place; the same goes for a `#[no_mangle] extern "C"` function,
/// which `ctypes` always calls. For a method of a [`#[pyo2::methods]`](methods)
/// block, write `#[release_gil]` on the method.
///
/// `release_gil` is the only argument the attribute takes:
///
/// ```compile_fail
/// #[pyo2::export(fast)]
/// fn twice(x: i64) -> i64 { x * 2 }
/// ```
///
/// ```compile_fail
/// #[pyo2::export(release_gil = true)]
/// fn twice(x: i64) -> i64 { x * 2 }
/// ```
#[doc(inline)]
pub use pyo2_macros::export;

/// Makes a struct a record: it crosses the boundary as a parameter and a
/// return of `#[pyo2::export]` functions, and the library exports a
/// descriptor of its layout, `__pyo2_record__NAME`, that Python reads.
///
/// ```
/// /// A point in the plane.
/// #[derive(pyo2::Record, Clone, Debug, PartialEq)]
/// #[repr(C)]
/// pub struct Point { pub x: f64, pub y: f64 }
///
/// #[derive(pyo2::Record)]
/// pub struct Person { pub name: String, pub age: u8, pub tags: Vec<String> }
///
/// #[pyo2::export]
/// fn midpoint(a: &Point, b: Point) -> Point {
///     Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 }
/// }
///
/// #[pyo2::export]
/// fn oldest(people: &[Person]) -> Option<Person> {
///     people.iter().max_by_key(|p| p.age).map(|p| Person {
///         name: p.name.clone(), age: p.age, tags: p.tags.clone(),
///     })
/// }
/// # assert_eq!(midpoint(&Point { x: 0.0, y: 0.0 }, Point { x: 2.0, y: 4.0 }), Point { x: 1.0, y: 2.0 });
/// ```
///
/// A `#[repr(C)]` struct is a **plain record**: its fields are scalars,
/// `bool`, arrays `[T; N]` of those and other plain records, and it crosses
/// as its own bytes, lent by pointer (`&Point`, `&mut Point` written back,
/// `&[Point]`, `&mut [Point]`) or copied from a pointer (`Point`), never by
/// value through libffi. A struct without `#[repr]` is an **owned record**:
/// its fields are any owned values (`String`, `Vec<T>`, `Option<T>`,
/// scalars, `[T; N]`, tuples, other records), and it crosses as C mirrors
/// that the derive generates: Python lays out an `In` mirror that the
/// wrapper copies (checking UTF-8), and a returned record is an `Out`
/// mirror whose one `drop` frees everything it holds, once. The C ABI is in
/// [`abi`](abi#records).
///
/// The struct can't be generic, a tuple struct, an enum, `packed` or
/// `transparent`; an owned record can't implement `Drop` (its fields are
/// moved out when it is returned). A plain record with an owned field is a
/// compile error that says to remove `#[repr(C)]`:
///
/// ```compile_fail,E0277
/// #[derive(pyo2::Record)]
/// #[repr(C)]
/// pub struct Named { pub name: String }
/// ```
///
/// Record names are unique in a library: the descriptor symbol
/// `__pyo2_record__NAME` is defined once, so two records named alike in
/// one crate don't compile, and in two crates linked into one library they
/// fail to link (rename one): the error comes from code generation, so
/// `cargo check` doesn't show it, `cargo build` does:
///
/// ```text
/// mod a { #[derive(pyo2::Record)] pub struct Same { pub x: u8 } }
/// mod b { #[derive(pyo2::Record)] pub struct Same { pub y: u8 } }
///
/// error: symbol `__pyo2_record__Same` is already defined
/// ```
#[doc(inline)]
pub use pyo2_macros::Record;

/// Exports a struct as a Python class whose instances own a Rust value.
///
/// ```
/// use std::collections::HashMap;
///
/// /// Splits text into known words.
/// #[pyo2::class]
/// pub struct Tokenizer { vocab: HashMap<String, u32>, seen: u64 }
///
/// #[pyo2::methods]
/// impl Tokenizer {
///     #[new]
///     fn new(words: &str) -> Result<Self, String> {
///         if words.is_empty() { return Err("no words".into()) }
///         let vocab = words.split(' ').zip(0..).map(|(w, i)| (w.to_owned(), i)).collect();
///         Ok(Tokenizer { vocab, seen: 0 })
///     }
///     /// The ids of the known words of `text`.
///     fn encode(&mut self, text: &str) -> Vec<u32> {
///         self.seen += 1;
///         text.split(' ').filter_map(|w| self.vocab.get(w).copied()).collect()
///     }
///     #[getter]
///     fn seen(&self) -> u64 { self.seen }
///     fn tokens(&self) -> pyo2::Iter<String> {
///         pyo2::Iter::new(self.vocab.keys().cloned().collect::<Vec<_>>())
///     }
/// }
/// # let mut t = Tokenizer::new("a b").unwrap();
/// # assert_eq!(t.encode("b a c"), [1, 0]);
/// ```
///
/// ```python
/// t = dll.Tokenizer("a b")
/// t.encode("b a c")        # [1, 0]
/// t.seen                   # 1
/// list(t.tokens())         # ['a', 'b'] in some order
/// t.close()                # or `with dll.Tokenizer(...) as t:`, or let it be collected
/// ```
///
/// The struct must be `Send + Sync + 'static` and not generic. Its methods
/// are exported by one `#[pyo2::methods]` impl block: `#[new]` (returns
/// `Self` or `Result<Self, E>`), `&self` and `&mut self` methods,
/// `#[getter]`s (`&self`, no parameters) and static methods (no `self`).
/// Methods take and return what exported functions do, callbacks and
/// [`Iter`] included. Each object has a lock: `&self` methods run
/// concurrently, a `&mut self` method alone; a `&mut self` call re-entered
/// from a callback on the same thread raises `RuntimeError` instead of
/// deadlocking. The value is dropped exactly once, when Python closes or
/// collects the object and the last call on it has returned. Python holds
/// a checked handle, never a pointer. The C ABI is in
/// [`abi`](abi#objects).
#[doc(inline)]
pub use pyo2_macros::class;

/// Exports the methods of a [`#[pyo2::class]`](class) (one block per class).
///
/// Every `fn` of the block is exported; `#[new]` marks the constructor and
/// `#[getter]` a property. See [`class`] for an example and
/// [`abi`](abi#objects) for the C ABI.
///
/// `#[release_gil]` marks a long-running method (any kind, `#[new]` and
/// static methods included) whose calls release the GIL whatever their
/// parameters, as [`#[pyo2::export(release_gil)]`](export#releasing-the-gil)
/// does for a function:
///
/// ```
/// #[pyo2::class]
/// pub struct Model { weights: Vec<f64> }
///
/// #[pyo2::methods]
/// impl Model {
///     #[new]
///     fn new(n: u64) -> Self {
///         Model { weights: vec![1.0; n as usize] }
///     }
///     /// Trains for `steps` steps: scalar-only, and long.
///     #[release_gil]
///     fn train(&mut self, steps: u64) -> f64 {
///         for _ in 0..steps {
///             self.weights.iter_mut().for_each(|w| *w *= 0.999);
///         }
///         self.weights.iter().sum()
///     }
/// }
/// # let mut m = Model::new(2);
/// # assert!(m.train(1) < 2.0);
/// ```
///
/// `#[pyo2::export]` doesn't go on a method:
///
/// ```compile_fail
/// #[pyo2::class]
/// pub struct Model { steps: u64 }
///
/// #[pyo2::methods]
/// impl Model {
///     #[pyo2::export(release_gil)]
///     fn train(&mut self, steps: u64) { self.steps += steps; }
/// }
/// ```
#[doc(inline)]
pub use pyo2_macros::methods;

/// Compile-fail tests that belong to no public item: the traits the loader
/// trusts can't be implemented outside pyo2.
///
/// ```compile_fail,E0277
/// struct Lies(u8);
/// impl pyo2::abi::Return for Lies {
///     type C = u8;
///     fn describe(out: &mut String) { out.push_str("Vec<u8>") }
///     fn into_outcome(self) -> pyo2::abi::Outcome<u8> { pyo2::abi::Outcome::Value(self.0) }
/// }
/// ```
///
/// ```compile_fail,E0277
/// struct Lies(u8);
/// impl pyo2::abi::Plain for Lies {}
/// ```
///
/// ```compile_fail,E0277
/// struct Lies(u8);
/// impl pyo2::abi::NotResult for Lies {}
/// ```
///
/// ```compile_fail,E0277
/// struct Lies(u8);
/// impl pyo2::abi::ExternParam<'_> for Lies {
///     fn describe(out: &mut String) { out.push_str("u8") }
/// }
/// ```
///
/// ```compile_fail,E0277
/// struct Lies([u8; 40]);
/// impl pyo2::abi::ExternReturn for Lies {
///     fn describe(out: &mut String) { out.push_str("u8") }
/// }
/// ```
///
/// ```compile_fail,E0277
/// #[derive(Clone, Copy)]
/// struct Lies(u8);
/// impl pyo2::abi::Scalar for Lies {
///     fn describe(out: &mut String) { out.push_str("u64") }
/// }
/// ```
///
/// ```compile_fail,E0277
/// struct Lies(u8);
/// impl pyo2::abi::CallbackArg for Lies {
///     type C = u8;
///     type Held = u8;
///     fn describe(out: &mut String) { out.push_str("&str") }
///     fn hold(self) -> u8 { self.0 }
///     fn as_c(h: &u8) -> u8 { *h }
/// }
/// ```
///
/// ```compile_fail,E0277
/// struct Lies(u8);
/// impl pyo2::abi::CallbackReturn for Lies {
///     type C = u8;
///     fn describe(out: &mut String) { out.push_str("u64") }
///     fn from_c(c: u8) -> Lies { Lies(c) }
/// }
/// ```
///
/// ```compile_fail,E0277
/// #[pyo2::class]
/// pub struct Lies(u8);
/// impl pyo2::abi::New<Lies> for u8 {
///     fn describe(out: &mut String) { out.push_str("Self") }
///     fn into_new(self) -> Result<Lies, String> { Ok(Lies(self)) }
/// }
/// ```
///
/// ```compile_fail,E0200
/// struct Lies;
/// impl pyo2::abi::Class for Lies {
///     const NAME: &'static str = "Other";
///     const DOC: &'static str = "";
/// }
/// ```
///
/// A class must be `Send + Sync`: any Python thread may call it.
///
/// ```compile_fail,E0277
/// #[pyo2::class]
/// pub struct NotSync { cell: std::cell::Cell<u8> }
/// ```
///
/// A callback can't be kept beyond the call unless it is a `Callback`:
///
/// ```compile_fail
/// static KEPT: std::sync::Mutex<Option<&'static mut dyn FnMut(u8)>> = std::sync::Mutex::new(None);
/// #[pyo2::export]
/// fn keep(f: &mut dyn FnMut(u8)) { *KEPT.lock().unwrap() = Some(f); }
/// ```
///
/// A parameter's C value must fit in an 8-byte argument slot of the
/// uniform entry point (`pyo2::abi`, "The uniform entry point"). The check
/// runs when the code is generated, which Miri's run of the doctests never
/// reaches, so under Miri this example is shown, not tested:
///
#[cfg_attr(not(miri), doc = "```compile_fail,E0080")]
#[cfg_attr(miri, doc = "```text")]
/// #[repr(C)]
/// #[derive(Clone, Copy)]
/// pub struct Two(u64, u64);
/// pub struct Wide;
/// // SAFETY: (a test that must not compile) nothing borrows.
/// unsafe impl pyo2::abi::Param<'_> for Wide {
///     type C = Two;
///     type Held = pyo2::abi::Direct<Wide>;
///     fn describe(out: &mut String) { out.push_str("Wide") }
///     unsafe fn from_c(_: Two) -> Result<Self::Held, pyo2::abi::ArgError> {
///         Ok(pyo2::abi::Direct::new(Wide))
///     }
/// }
/// #[pyo2::export]
/// fn wide(_w: Wide) {}
/// ```
///
/// The same items compile when implemented for pyo2's own types through
/// the blanket impls, which is what keeps them usable:
///
/// ```
/// fn is_return<R: pyo2::abi::Return>() {}
/// is_return::<Result<Option<Vec<u8>>, std::num::ParseIntError>>();
/// fn is_extern<'a, P: pyo2::abi::ExternParam<'a>>() {}
/// is_extern::<&mut pyo2::PyVec<&pyo2::PyStr>>();
/// ```
#[cfg(doctest)]
pub mod compile_fail_tests {}
