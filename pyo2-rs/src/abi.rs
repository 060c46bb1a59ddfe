//! The C ABI of functions exported with [`#[pyo2::export]`](crate::export).
//!
//! You don't call anything here yourself: the attribute generates the code
//! that does. This module is public so that the generated code can name it
//! and so that the contract is written down in one place.
//!
//! # The exported symbol
//!
//! For `#[pyo2::export] fn f(p1: P1, …, pn: Pn) -> R`, the library exports
//!
//! ```c
//! int32_t f(P1_C p1, …, Pn_C pn, Pyo2Slot *slot);
//! const char *__pyo2_sig__f(void);
//! ```
//!
//! where `Pi_C` is [`Param::C`] (the scalar itself, or a pointer to a
//! [`PyVec`] header). The `int32_t` is a [`status`]. The caller's [`Slot`]
//! receives the result, a [`Return::C`] (the scalar itself, or an
//! [`OwnedBuf`] for `String` and `Vec<T>`), or, for an `Err`, a panic or a
//! bad argument, the message as an [`OwnedBuf`]. Every call writes only its
//! own slot, so error state is per call and therefore per thread.
//!
//! `__pyo2_sig__f` returns the function's [descriptor](describe): a
//! NUL-terminated UTF-8 text that lives as long as the library,
//!
//! ```text
//! pyo2 1
//! fn f(p1: u8, p2: &str, p3: &mut [f64]) -> Result<String, ParseIntError>
//! the doc comment, if any
//! ```
//!
//! The first line is the ABI version ([`ABI_VERSION`]). The types in the
//! second line are spelled by [`Param::describe`] and [`Return::describe`]
//! from the real types, not from their spelling in the source, so type
//! aliases and renamed imports can't mislead the loader.
//!
//! # A plain `extern "C"` function that describes itself
//!
//! On a function that already is `#[no_mangle] extern "C"` (or has an
//! `#[export_name]`), `#[pyo2::export]` changes nothing of the function or
//! its symbol and adds only the descriptor symbol `__pyo2_sig__NAME`, `NAME`
//! being the function's symbol. Its second line starts with
//! `#[no_mangle] extern "C" fn`:
//!
//! ```text
//! pyo2 1
//! #[no_mangle] extern "C" fn g(v: &mut PyVec<f64>, k: f64) -> f64
//! the doc comment, if any
//! ```
//!
//! The rest of that line (from `extern`) is a declaration in the grammar of
//! Python's `dll.declare()`: parameters are scalars, `&PyStr`, `&PyVec<T>`
//! and `&mut PyVec<T>` ([`ExternParam`]); the return is a scalar, `bool` or
//! `()` ([`ExternReturn`]). The loader calls the function as declared: its
//! arguments directly, its return value directly, no status and no
//! [`Slot`]. The `#[no_mangle]` prefix makes a loader that predates this
//! form refuse the descriptor instead of calling the function with the ABI
//! of an exported one. A panic in such a function is not caught: it aborts
//! the process, as any panic that reaches an `extern "C"` boundary does.
//!
//! # Sealed and unsafe traits
//!
//! The loader trusts each trait here to say what crosses the boundary, so
//! none of them can be implemented wrongly in safe code: [`Scalar`],
//! [`Return`] (and with it [`Plain`] and [`NotResult`]), [`ExternParam`] and
//! [`ExternReturn`] are sealed (implemented by pyo2 only); [`Element`] and
//! [`Param`] are `unsafe` to implement.
//!
//! # Borrows last one call
//!
//! Python lends its memory for one call, so no parameter may borrow it for
//! longer. The traits that build a parameter take the lifetime `'a` of that
//! loan, and every reference inside a parameter must have exactly that
//! lifetime ([`Element<'a>`](Element), [`Param<'a>`](Param),
//! [`ExternParam<'a>`](ExternParam)). The code `#[pyo2::export]` generates is
//! generic over `'a`, so a parameter type that needs `'static` (written
//! `'static`, or through an alias or a lifetime bound) fails to compile.

use core::ffi::c_char;
use core::fmt::{Display, Write as _};
use core::mem::{align_of, offset_of, size_of, ManuallyDrop};
use std::any::Any;
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::{PyStr, PyVec};

/// Version of this ABI, the first line of every descriptor.
pub const ABI_VERSION: u32 = 1;

/// What an exported function's `int32_t` result means.
pub mod status {
    /// The value is in the slot.
    pub const OK: i32 = 0;
    /// The function returned `None` (from an `Option`); the slot is untouched.
    pub const NONE: i32 = 1;
    /// The function returned `Err(e)`; the slot holds `e`'s `Display` as an [`OwnedBuf`](super::OwnedBuf).
    pub const ERR: i32 = 2;
    /// The function panicked; the slot holds the panic message as an [`OwnedBuf`](super::OwnedBuf).
    pub const PANIC: i32 = 3;
    /// An argument was invalid (null pointer, invalid UTF-8 for `&str`); the
    /// slot holds a message naming it, as an [`OwnedBuf`](super::OwnedBuf).
    pub const BAD_ARG: i32 = 4;
}

/// The caller's room for one call's result: 32 bytes aligned to 8, enough
/// for any [`Return::C`] and for an [`OwnedBuf`].
///
/// # C layout
///
/// ```c
/// typedef union { uint64_t words[4]; /* or any Return::C, or a Pyo2OwnedBuf */ } Pyo2Slot;
/// ```
#[repr(C, align(8))]
pub struct Slot {
    _bytes: [core::mem::MaybeUninit<u8>; 32],
}

impl Slot {
    /// An uninitialised slot, for callers written in Rust.
    pub const fn new() -> Slot {
        Slot {
            _bytes: [core::mem::MaybeUninit::uninit(); 32],
        }
    }

    /// The value `run` wrote, after it returned [`status::OK`].
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - the last call that used this slot returned [`status::OK`] and had
    ///   the return type `R`;
    /// - the value was not taken out before.
    pub unsafe fn take<T>(&mut self) -> T {
        fits::<T>();
        // SAFETY: `fits` checked size and alignment; the caller guarantees a
        // `T` was written here and not taken yet.
        unsafe { (self as *mut Slot).cast::<T>().read() }
    }
}

impl Default for Slot {
    fn default() -> Slot {
        Slot::new()
    }
}

const _: () = assert!(size_of::<Slot>() == 32 && align_of::<Slot>() == 8);
const _: () = assert!(size_of::<OwnedBuf>() <= size_of::<Slot>());

/// Fails to compile (when instantiated) unless a `T` fits in a [`Slot`].
const fn fits<T>() {
    const { assert!(size_of::<T>() <= size_of::<Slot>() && align_of::<T>() <= align_of::<Slot>()) }
}

/// A `Vec<T>` or `String` that Rust hands over to the caller, who reads it
/// and then calls `drop` on it, once.
///
/// # C layout
///
/// ```c
/// typedef struct Pyo2OwnedBuf {
///     void   *ptr;   /* NULL when empty */
///     size_t  len;   /* elements, not bytes */
///     size_t  cap;   /* for Rust's allocator only */
///     void  (*drop)(struct Pyo2OwnedBuf *); /* NULL once freed (or never owned) */
/// } Pyo2OwnedBuf;
/// ```
///
/// `drop` frees the memory with the allocator of the library that made it and
/// resets the struct to empty, so calling it a second time does nothing.
#[repr(C)]
#[derive(Debug)]
pub struct OwnedBuf {
    // SAFETY: invariant: when `drop` is `Some(drop_vec::<T>)`, (`ptr`, `len`,
    // `cap`) are the raw parts of a `Vec<T>` that nothing else owns. When
    // `drop` is `None` the struct owns nothing and `ptr` is null.
    ptr: *mut core::ffi::c_void,
    len: usize,
    cap: usize,
    drop: Option<unsafe extern "C" fn(*mut OwnedBuf)>,
}

const _: () = assert!(size_of::<OwnedBuf>() == 4 * size_of::<usize>());
const _: () = assert!(align_of::<OwnedBuf>() == align_of::<usize>());
const _: () = assert!(offset_of!(OwnedBuf, len) == size_of::<usize>());
const _: () = assert!(offset_of!(OwnedBuf, cap) == 2 * size_of::<usize>());
const _: () = assert!(offset_of!(OwnedBuf, drop) == 3 * size_of::<usize>());

impl OwnedBuf {
    /// An empty buffer that owns nothing.
    pub const EMPTY: OwnedBuf = OwnedBuf {
        ptr: core::ptr::null_mut(),
        len: 0,
        cap: 0,
        drop: None,
    };

    /// Hands `v`'s memory over; it is freed by [`drop`](Drop::drop) or by the
    /// C `drop` field, exactly once.
    pub fn from_vec<T: Scalar>(v: Vec<T>) -> OwnedBuf {
        let mut v = ManuallyDrop::new(v);
        OwnedBuf {
            ptr: v.as_mut_ptr().cast(),
            len: v.len(),
            cap: v.capacity(),
            drop: Some(drop_vec::<T>),
        }
    }

    /// Hands a `String`'s bytes over, like [`from_vec`](Self::from_vec).
    pub fn from_string(s: String) -> OwnedBuf {
        OwnedBuf::from_vec(s.into_bytes())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether this buffer still owns memory that must be freed.
    pub fn owns_memory(&self) -> bool {
        self.drop.is_some()
    }

    /// The bytes of the buffer (`len * size_of::<T>()` of them).
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - `T` is the element type the buffer was made from (or `u8`, to see
    ///   the raw bytes of any buffer, with `len` scaled accordingly).
    pub unsafe fn as_slice<T: Scalar>(&self) -> &[T] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY:
        // - by the field invariant, `ptr`/`len` come from a live `Vec<T>`,
        //   so `ptr` is aligned and valid for `len` initialised `T`s;
        // - the caller guarantees `T` is that element type;
        // - the slice borrows `self`, so the memory can't be freed meanwhile.
        unsafe { core::slice::from_raw_parts(self.ptr.cast::<T>(), self.len) }
    }
}

impl Drop for OwnedBuf {
    fn drop(&mut self) {
        if let Some(drop) = self.drop {
            // SAFETY: `drop` was set together with the other fields by
            // `from_vec::<T>` to `drop_vec::<T>`, whose contract is exactly
            // the field invariant; `self` is a valid, exclusive pointer.
            unsafe { drop(self) }
        }
    }
}

/// Frees the `Vec<T>` an [`OwnedBuf`] holds and resets it to empty.
///
/// # Safety
///
/// Callers must ensure that:
/// - `buf` is null, or points to a valid [`OwnedBuf`] not accessed through
///   any other pointer during the call;
/// - if its `drop` field is `Some`, it was made by [`OwnedBuf::from_vec`]
///   with this same `T`.
unsafe extern "C" fn drop_vec<T: Scalar>(buf: *mut OwnedBuf) {
    // SAFETY: the caller guarantees `buf` is null or valid and exclusive.
    let Some(buf) = (unsafe { buf.as_mut() }) else {
        return;
    };
    if buf.drop.take().is_none() {
        return;
    }
    let (ptr, len, cap) = (buf.ptr, buf.len, buf.cap);
    (buf.ptr, buf.len, buf.cap) = (core::ptr::null_mut(), 0, 0);
    // SAFETY: `drop` was `Some`, so by the field invariant and the caller's
    // guarantee (ptr, len, cap) are the raw parts of a `Vec<T>` owned by
    // nothing else; `drop` is now `None`, so they are freed only here.
    drop(unsafe { Vec::from_raw_parts(ptr.cast::<T>(), len, cap) });
}

/// The private supertraits that seal the public traits of this module: only
/// pyo2 can name them, so only pyo2 can implement the traits they seal.
mod sealed {
    /// Seals [`Scalar`](super::Scalar).
    pub trait Sealed {}
    /// Seals [`Return`](super::Return).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` can't be returned by a function exported with #[pyo2::export]",
        note = "return a scalar, bool, (), String or Vec<T> (T a scalar), an Option of those, \
                or a Result of those with an error type that implements Display"
    )]
    pub trait SealedReturn {}
    /// Seals [`ExternParam`](super::ExternParam).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` can't be a parameter of a plain extern \"C\" function marked #[pyo2::export]",
        note = "its C ABI must be what pyo2 passes: a scalar, bool, &PyStr, &PyVec<T> or &mut PyVec<T>",
        note = "for &str, &[T] and &mut [T], remove `extern \"C\"` and #[no_mangle] and let #[pyo2::export] write the wrapper"
    )]
    pub trait SealedExternParam {}
    /// Seals [`ExternReturn`](super::ExternReturn).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` can't be returned by a plain extern \"C\" function marked #[pyo2::export]",
        note = "return a scalar, bool or (); for String, Vec<T>, Option and Result, remove \
                `extern \"C\"` and #[no_mangle] and let #[pyo2::export] write the wrapper"
    )]
    pub trait SealedExternReturn {}
}

/// A plain value that crosses the ABI as itself: `i8 … u64`, `isize`,
/// `usize`, `f32`, `f64` and `bool`.
///
/// Sealed: implemented by pyo2 only.
pub trait Scalar: Copy + sealed::Sealed + 'static {
    /// Appends the Rust name of the type (`"u8"`) to `out`.
    fn describe(out: &mut String);
}

macro_rules! scalars {
    ($($t:ident)*) => {$(
        impl sealed::Sealed for $t {}
        impl Scalar for $t {
            fn describe(out: &mut String) {
                out.push_str(stringify!($t));
            }
        }
    )*};
}
scalars!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize f32 f64 bool);

/// A type a [`PyVec`] can hold when Python lends it for `'a`: a [`Scalar`],
/// `&'a PyVec<T>` or `&'a mut PyVec<T>` (`T: Element<'a>`).
///
/// Every reference in an element has the lifetime `'a` of the loan, so an
/// element type can't hold a `'static` borrow of Python's memory: code that
/// is generic over `'a` can't prove `&'static PyStr: Element<'a>`.
///
/// # Safety
///
/// Implementors must ensure that:
/// - Python's layout of the element, as [`describe`](Self::describe)
///   spells it, is exactly `Self`'s (a scalar, or one pointer to a `PyVec`
///   header);
/// - every borrow inside `Self` lasts at most `'a`.
pub unsafe trait Element<'a> {
    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);
}

// SAFETY: Python lays elements of a scalar type out as that C scalar; a
// scalar borrows nothing.
unsafe impl<T: Scalar> Element<'_> for T {
    fn describe(out: &mut String) {
        T::describe(out)
    }
}

// SAFETY: an element `&'a PyVec<T>` is one non-null pointer to a header,
// borrowed for `'a`, and its own elements borrow for `'a` too.
unsafe impl<'a, T: Element<'a>> Element<'a> for &'a PyVec<T> {
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&")
    }
}

// SAFETY: an element `&'a mut PyVec<T>` is one non-null pointer to a
// header, each distinct (Python refuses to pass the same list twice),
// borrowed for `'a`, and its own elements borrow for `'a` too.
unsafe impl<'a, T: Element<'a>> Element<'a> for &'a mut PyVec<T> {
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&mut ")
    }
}

fn describe_vec<'a, T: Element<'a>>(out: &mut String, by: &str) {
    out.push_str(by);
    let start = out.len();
    out.push_str("PyVec<");
    T::describe(out);
    out.push('>');
    if &out[start..] == "PyVec<u8>" && by == "&" {
        out.truncate(start);
        out.push_str("PyStr");
    }
}

/// Why an argument was refused before the function ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgError {
    /// A pointer parameter was null.
    #[error("null pointer")]
    Null,
    /// A `&str` parameter's bytes are not UTF-8.
    #[error(transparent)]
    Utf8(#[from] crate::Error),
}

/// A parameter type of an exported function.
///
/// Implemented for every [`Scalar`], `&'a PyStr`, `&'a PyVec<T>`,
/// `&'a mut PyVec<T>` (`T` an [`Element<'a>`](Element)), and the sugar
/// `&'a str`, `&'a [T]` and `&'a mut [T]`: every borrow in the parameter
/// lasts exactly the call's `'a`.
///
/// # Safety
///
/// Implementors must ensure that:
/// - [`describe`](Self::describe) spells a type whose Python-side C value is
///   exactly [`C`](Self::C);
/// - every borrow inside `Self` lasts at most `'a`, so that a `Self` built by
///   [`from_c`](Self::from_c) can't outlive the memory Python lent.
pub unsafe trait Param<'a>: Sized {
    /// The C type of the argument.
    type C: Copy;

    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);

    /// Builds the parameter from its C value, checking what can be checked.
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - a non-null pointer in `c` points to a `PyVec` header (and, for
    ///   nested views, headers all the way down) that is valid, as
    ///   [`PyVec::from_raw_parts`] requires, for all of `'a`;
    /// - for `&mut` types, nothing else accesses that memory during `'a`.
    unsafe fn from_c(c: Self::C) -> Result<Self, ArgError>;
}

macro_rules! scalar_params {
    ($($t:ident)*) => {$(
        // SAFETY: a scalar crosses by value, as the same C type.
        unsafe impl Param<'_> for $t {
            type C = $t;
            fn describe(out: &mut String) {
                out.push_str(stringify!($t));
            }
            unsafe fn from_c(c: $t) -> Result<$t, ArgError> {
                Ok(c)
            }
        }
    )*};
}
scalar_params!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize f32 f64 bool);

// SAFETY: `&PyVec<T>` crosses as a pointer to its header.
unsafe impl<'a, T: Element<'a>> Param<'a> for &'a PyVec<T> {
    type C = *const PyVec<T>;
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&")
    }
    unsafe fn from_c(c: Self::C) -> Result<Self, ArgError> {
        // SAFETY: the caller guarantees a non-null `c` is valid for `'a`.
        unsafe { c.as_ref() }.ok_or(ArgError::Null)
    }
}

// SAFETY: `&mut PyVec<T>` crosses as a pointer to its header.
unsafe impl<'a, T: Element<'a>> Param<'a> for &'a mut PyVec<T> {
    type C = *mut PyVec<T>;
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&mut ")
    }
    unsafe fn from_c(c: Self::C) -> Result<Self, ArgError> {
        // SAFETY: the caller guarantees a non-null `c` is valid and
        // exclusive for `'a`.
        unsafe { c.as_mut() }.ok_or(ArgError::Null)
    }
}

// SAFETY: `&str` crosses as a pointer to a `PyStr` header.
unsafe impl<'a> Param<'a> for &'a str {
    type C = *const PyStr;
    fn describe(out: &mut String) {
        out.push_str("&str")
    }
    unsafe fn from_c(c: Self::C) -> Result<Self, ArgError> {
        // SAFETY: as for `&PyStr`; the caller's guarantee is the same.
        let s: &'a PyStr = unsafe { Param::from_c(c) }?;
        Ok(s.as_str()?)
    }
}

// SAFETY: `&[T]` crosses as a pointer to a `PyVec<T>` header.
unsafe impl<'a, T: Element<'a>> Param<'a> for &'a [T] {
    type C = *const PyVec<T>;
    fn describe(out: &mut String) {
        out.push_str("&[");
        T::describe(out);
        out.push(']');
    }
    unsafe fn from_c(c: Self::C) -> Result<Self, ArgError> {
        // SAFETY: as for `&PyVec<T>`; the caller's guarantee is the same.
        let v: &'a PyVec<T> = unsafe { Param::from_c(c) }?;
        Ok(v.as_slice())
    }
}

// SAFETY: `&mut [T]` crosses as a pointer to a `PyVec<T>` header.
unsafe impl<'a, T: Element<'a>> Param<'a> for &'a mut [T] {
    type C = *mut PyVec<T>;
    fn describe(out: &mut String) {
        out.push_str("&mut [");
        T::describe(out);
        out.push(']');
    }
    unsafe fn from_c(c: Self::C) -> Result<Self, ArgError> {
        // SAFETY: as for `&mut PyVec<T>`; the caller's guarantee is the same.
        let v: &'a mut PyVec<T> = unsafe { Param::from_c(c) }?;
        Ok(v.as_mut_slice())
    }
}

/// How a call ended, before it is written to the C out-parameters.
#[derive(Debug)]
pub enum Outcome<C> {
    /// A value for `*out`.
    Value(C),
    /// `None` from an `Option`.
    None,
    /// `Err(e)`, as `e`'s `Display`.
    Err(String),
}

/// A return type of an exported function: every [`Scalar`], `()`, `String`,
/// `Vec<T>` (`T` a [`Scalar`]), `Option` of those, and `Result` of those or
/// of their `Option`, with any error type that implements [`Display`].
///
/// Sealed: implemented by pyo2 only, because the loader reads the slot as
/// [`describe`](Self::describe) says, trusting [`C`](Self::C) to match.
///
/// ```compile_fail
/// struct Lies(u8);
/// impl pyo2::abi::Return for Lies {
///     type C = u8;
///     fn describe(out: &mut String) { out.push_str("Vec<u8>") }
///     fn into_outcome(self) -> pyo2::abi::Outcome<u8> { pyo2::abi::Outcome::Value(self.0) }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be returned by a function exported with #[pyo2::export]",
    note = "return a scalar, bool, (), String or Vec<T> (T a scalar), an Option of those, \
            or a Result of those with an error type that implements Display"
)]
pub trait Return: sealed::SealedReturn {
    /// What the caller's `out` slot holds.
    type C;
    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);
    /// Converts the returned value for the C caller.
    fn into_outcome(self) -> Outcome<Self::C>;
}

/// A return type that is not an `Option` or a `Result`.
///
/// Sealed, as its supertrait [`Return`] is: implemented by pyo2 only.
pub trait Plain: Return {}

impl<T: Scalar> sealed::SealedReturn for T {}
impl sealed::SealedReturn for () {}
impl sealed::SealedReturn for String {}
impl<T: Scalar> sealed::SealedReturn for Vec<T> {}
impl<T: Plain> sealed::SealedReturn for Option<T> {}
impl<T: NotResult, E: Display> sealed::SealedReturn for Result<T, E> {}

impl<T: Scalar> Return for T {
    type C = T;
    fn describe(out: &mut String) {
        T::describe(out)
    }
    fn into_outcome(self) -> Outcome<T> {
        Outcome::Value(self)
    }
}
impl<T: Scalar> Plain for T {}

impl Return for () {
    type C = u8;
    fn describe(out: &mut String) {
        out.push_str("()")
    }
    fn into_outcome(self) -> Outcome<u8> {
        Outcome::Value(0)
    }
}
impl Plain for () {}

impl Return for String {
    type C = OwnedBuf;
    fn describe(out: &mut String) {
        out.push_str("String")
    }
    fn into_outcome(self) -> Outcome<OwnedBuf> {
        Outcome::Value(OwnedBuf::from_string(self))
    }
}
impl Plain for String {}

impl<T: Scalar> Return for Vec<T> {
    type C = OwnedBuf;
    fn describe(out: &mut String) {
        out.push_str("Vec<");
        T::describe(out);
        out.push('>');
    }
    fn into_outcome(self) -> Outcome<OwnedBuf> {
        Outcome::Value(OwnedBuf::from_vec(self))
    }
}
impl<T: Scalar> Plain for Vec<T> {}

impl<T: Plain> Return for Option<T> {
    type C = T::C;
    fn describe(out: &mut String) {
        out.push_str("Option<");
        T::describe(out);
        out.push('>');
    }
    fn into_outcome(self) -> Outcome<T::C> {
        match self {
            Some(v) => v.into_outcome(),
            None => Outcome::None,
        }
    }
}

/// A return type that is not a `Result`: [`Plain`] or an `Option`.
///
/// Sealed, as its supertrait [`Return`] is: implemented by pyo2 only.
pub trait NotResult: Return {}
impl<T: Plain> NotResult for T {}
impl<T: Plain> NotResult for Option<T> {}

impl<T: NotResult, E: Display> Return for Result<T, E> {
    type C = T::C;
    fn describe(out: &mut String) {
        out.push_str("Result<");
        T::describe(out);
        out.push_str(", ");
        out.push_str(&short_type_name(core::any::type_name::<E>()));
        out.push('>');
    }
    fn into_outcome(self) -> Outcome<T::C> {
        match self {
            Ok(v) => v.into_outcome(),
            Err(e) => Outcome::Err(e.to_string()),
        }
    }
}

/// A parameter type of a plain `extern "C"` function marked
/// `#[pyo2::export]`, whose C ABI is exactly what the loader passes for the
/// type [`describe`](Self::describe) spells: every [`Scalar`] (by value),
/// `&'a PyStr`, `&'a PyVec<T>` and `&'a mut PyVec<T>` (one pointer to a
/// header, `T` an [`Element<'a>`](Element)).
///
/// `&str` and slices are not: they are two words in Rust's ABI, and the
/// loader passes one pointer. Let `#[pyo2::export]` write the wrapper (drop
/// `extern "C"` and `#[no_mangle]`) to take them.
///
/// Sealed: implemented by pyo2 only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be a parameter of a plain extern \"C\" function marked #[pyo2::export]",
    note = "its C ABI must be what pyo2 passes: a scalar, bool, &PyStr, &PyVec<T> or &mut PyVec<T>",
    note = "for &str, &[T] and &mut [T], remove `extern \"C\"` and #[no_mangle] and let #[pyo2::export] write the wrapper"
)]
pub trait ExternParam<'a>: sealed::SealedExternParam {
    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);
}

impl<T: Scalar> sealed::SealedExternParam for T {}
impl<T: Scalar> ExternParam<'_> for T {
    fn describe(out: &mut String) {
        T::describe(out)
    }
}

impl<'a, T: Element<'a>> sealed::SealedExternParam for &'a PyVec<T> {}
impl<'a, T: Element<'a>> ExternParam<'a> for &'a PyVec<T> {
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&")
    }
}

impl<'a, T: Element<'a>> sealed::SealedExternParam for &'a mut PyVec<T> {}
impl<'a, T: Element<'a>> ExternParam<'a> for &'a mut PyVec<T> {
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&mut ")
    }
}

/// A return type of a plain `extern "C"` function marked `#[pyo2::export]`:
/// every [`Scalar`] and `()`, returned as themselves.
///
/// Sealed: implemented by pyo2 only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be returned by a plain extern \"C\" function marked #[pyo2::export]",
    note = "return a scalar, bool or (); for String, Vec<T>, Option and Result, remove \
            `extern \"C\"` and #[no_mangle] and let #[pyo2::export] write the wrapper"
)]
pub trait ExternReturn: sealed::SealedExternReturn {
    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);
}

impl<T: Scalar> sealed::SealedExternReturn for T {}
impl<T: Scalar> ExternReturn for T {
    fn describe(out: &mut String) {
        T::describe(out)
    }
}

impl sealed::SealedExternReturn for () {}
impl ExternReturn for () {
    fn describe(out: &mut String) {
        out.push_str("()")
    }
}

/// `core::num::error::ParseIntError` → `ParseIntError`, inside generics too.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(""));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(""));
    out
}

/// The panic message of a caught panic's payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any> (a panic payload that is not a string)".to_owned()
    }
}

/// Runs the body of an exported function and reports how it ended.
///
/// `body` converts the arguments (returning `Err` for a bad one, with the
/// parameter's name) and calls the user's function. A panic anywhere in it,
/// in the conversion of the result or in an error's `Display` is caught.
///
/// # Safety
///
/// Callers must ensure that:
/// - `slot` is valid for writes of a [`Slot`] (its old contents are
///   overwritten, not dropped).
pub unsafe fn run<R: Return>(
    slot: *mut Slot,
    body: impl FnOnce() -> Result<R, (&'static str, ArgError)>,
) -> i32 {
    fits::<R::C>();
    let caught = catch_unwind(AssertUnwindSafe(|| body().map(Return::into_outcome)));
    let (code, message) = match caught {
        Ok(Ok(Outcome::Value(v))) => {
            // SAFETY: the caller guarantees `slot` is valid for writes of a
            // `Slot`, and `fits` checked that an `R::C` fits in one.
            unsafe { slot.cast::<R::C>().write(v) };
            return status::OK;
        }
        Ok(Ok(Outcome::None)) => return status::NONE,
        Ok(Ok(Outcome::Err(message))) => (status::ERR, message),
        Ok(Err((param, e))) => (status::BAD_ARG, format!("parameter `{param}`: {e}")),
        Err(payload) => {
            let message = panic_message(&*payload);
            drop_payload(payload);
            (status::PANIC, message)
        }
    };
    // SAFETY: as above; an `OwnedBuf` fits in a `Slot` (checked at compile time).
    unsafe {
        slot.cast::<OwnedBuf>()
            .write(OwnedBuf::from_string(message))
    };
    code
}

/// Drops a caught panic's payload without letting a panic escape.
///
/// A payload whose destructor panics must not unwind out of an `extern "C"`
/// function (that aborts), so it is dropped inside `catch_unwind`. If its
/// destructor does panic, the payload of that second panic is leaked with
/// [`mem::forget`](core::mem::forget): its own destructor could panic again,
/// and so on without end.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        core::mem::forget(second);
    }
}

/// One parameter of a descriptor: its name and its type's `describe`.
pub type ParamDescriptor = (&'static str, fn(&mut String));

/// Builds (once) and returns the descriptor of an exported function.
///
/// `cell` is that function's own cache; the returned text lives as long as
/// the library. See the [module documentation](self) for the format.
pub fn describe(
    cell: &'static OnceLock<CString>,
    name: &str,
    params: &[ParamDescriptor],
    ret: fn(&mut String),
    doc: &str,
) -> *const c_char {
    descriptor(cell, "fn", name, params, ret, doc)
}

/// Builds (once) and returns the descriptor of a plain `extern "C"`
/// function marked `#[pyo2::export]`, whose second line starts with
/// `#[no_mangle] extern "C" fn`.
///
/// `params` and `ret` are the [`ExternParam::describe`] and
/// [`ExternReturn::describe`] of its types. See the
/// [module documentation](self) for the format.
pub fn describe_extern(
    cell: &'static OnceLock<CString>,
    name: &str,
    params: &[ParamDescriptor],
    ret: fn(&mut String),
    doc: &str,
) -> *const c_char {
    descriptor(cell, "#[no_mangle] extern \"C\" fn", name, params, ret, doc)
}

fn descriptor(
    cell: &'static OnceLock<CString>,
    kind: &str,
    name: &str,
    params: &[ParamDescriptor],
    ret: fn(&mut String),
    doc: &str,
) -> *const c_char {
    cell.get_or_init(|| {
        let mut text = format!("pyo2 {ABI_VERSION}\n{kind} {name}(");
        for (i, (pname, describe)) in params.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            let _ = write!(text, "{pname}: ");
            describe(&mut text);
        }
        text.push(')');
        let mut ret_text = String::new();
        ret(&mut ret_text);
        if ret_text != "()" {
            let _ = write!(text, " -> {ret_text}");
        }
        if !doc.is_empty() {
            text.push('\n');
            text.push_str(doc);
        }
        // A doc comment can't contain NUL in practice; drop it if it does.
        CString::new(text.replace('\0', "")).unwrap_or_default()
    })
    .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spelled<'a, P: Param<'a>>() -> String {
        let mut s = String::new();
        P::describe(&mut s);
        s
    }

    fn spelled_ret<R: Return>() -> String {
        let mut s = String::new();
        R::describe(&mut s);
        s
    }

    #[test]
    fn params_are_spelled_from_their_types() {
        type Alias<'a> = &'a PyVec<u8>;
        assert_eq!(spelled::<u8>(), "u8");
        assert_eq!(spelled::<Alias<'_>>(), "&PyStr");
        assert_eq!(spelled::<&mut PyVec<u8>>(), "&mut PyVec<u8>");
        assert_eq!(spelled::<&str>(), "&str");
        assert_eq!(spelled::<&[f64]>(), "&[f64]");
        assert_eq!(spelled::<&mut [&PyStr]>(), "&mut [&PyStr]");
        assert_eq!(
            spelled::<&PyVec<&mut PyVec<&PyVec<i64>>>>(),
            "&PyVec<&mut PyVec<&PyVec<i64>>>"
        );
    }

    #[test]
    fn returns_are_spelled_from_their_types() {
        assert_eq!(spelled_ret::<()>(), "()");
        assert_eq!(spelled_ret::<bool>(), "bool");
        assert_eq!(spelled_ret::<Vec<u16>>(), "Vec<u16>");
        assert_eq!(spelled_ret::<Option<String>>(), "Option<String>");
        assert_eq!(
            spelled_ret::<Result<Option<Vec<f32>>, std::num::ParseIntError>>(),
            "Result<Option<Vec<f32>>, ParseIntError>"
        );
        assert_eq!(
            spelled_ret::<Result<(), Box<dyn std::error::Error>>>(),
            "Result<(), Box<dyn Error>>"
        );
    }

    #[test]
    fn owned_buf_frees_once_and_resets() {
        let mut buf = OwnedBuf::from_vec(vec![1_u32, 2, 3]);
        assert!(buf.owns_memory());
        // SAFETY: made from a Vec<u32>.
        assert_eq!(unsafe { buf.as_slice::<u32>() }, &[1, 2, 3]);
        let drop = buf.drop.unwrap();
        // SAFETY: `buf` is a valid exclusive OwnedBuf made by from_vec::<u32>.
        unsafe { drop(&mut buf) };
        assert!(!buf.owns_memory() && buf.ptr.is_null() && buf.is_empty());
        // A second call, as a confused caller might make, does nothing.
        // SAFETY: as above; `drop` is now None, so nothing is freed.
        unsafe { drop(&mut buf) };
        // SAFETY: null is explicitly allowed.
        unsafe { drop(core::ptr::null_mut()) };
        assert_eq!(OwnedBuf::from_string(String::new()).len(), 0);
    }

    fn call<R: Return>(
        body: impl FnOnce() -> Result<R, (&'static str, ArgError)>,
    ) -> (i32, Option<R::C>, String) {
        let mut slot = Slot::new();
        // SAFETY: `slot` is a valid local slot.
        let code = unsafe { run(&mut slot, body) };
        let (value, message) = match code {
            // SAFETY: `run` wrote an `R::C` when it returned OK.
            status::OK => (Some(unsafe { slot.take::<R::C>() }), String::new()),
            status::NONE => (None, String::new()),
            _ => {
                // SAFETY: on every other status `run` wrote the message.
                let buf = unsafe { slot.take::<OwnedBuf>() };
                // SAFETY: messages are made from Strings, i.e. Vec<u8>.
                let text = String::from_utf8(unsafe { buf.as_slice::<u8>() }.to_vec()).unwrap();
                (None, text)
            }
        };
        (code, value, message)
    }

    #[test]
    fn run_reports_each_outcome() {
        let (code, v, _) = call(|| Ok(41_i64 + 1));
        assert_eq!((code, v), (status::OK, Some(42)));
        let (code, v, _) = call(|| Ok(None::<u8>));
        assert_eq!((code, v), (status::NONE, None));
        let (code, _, message) = call(|| Ok("x1".parse::<u8>()));
        assert_eq!(
            (code, message.as_str()),
            (status::ERR, "invalid digit found in string")
        );
        let (code, _, message) = call::<()>(|| panic!("boom {}", 7));
        assert_eq!((code, message.as_str()), (status::PANIC, "boom 7"));
        let (code, _, message) = call::<()>(|| std::panic::panic_any(5_u8));
        assert_eq!(code, status::PANIC);
        assert!(message.contains("not a string"), "{message}");
        let (code, _, message) = call::<u8>(|| Err(("name", ArgError::Null)));
        assert_eq!(
            (code, message.as_str()),
            (status::BAD_ARG, "parameter `name`: null pointer")
        );
        let (code, buf, _) = call(|| Ok(String::from("héllo")));
        assert_eq!(code, status::OK);
        // SAFETY: a String's buffer.
        assert_eq!(unsafe { buf.unwrap().as_slice::<u8>() }, "héllo".as_bytes());
    }

    #[test]
    fn a_panicking_display_is_caught() {
        struct Bad;
        impl Display for Bad {
            fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                panic!("display panicked")
            }
        }
        let (code, _, message) = call(|| Ok(Err::<u8, _>(Bad)));
        assert_eq!(
            (code, message.as_str()),
            (status::PANIC, "display panicked")
        );
    }

    /// A panic payload whose destructor panics once: with a `Quiet`
    /// payload, a zero-sized type, so the leaked second payload owns no
    /// memory (and Miri, which reports leaks, sees none).
    #[test]
    fn a_payload_whose_destructor_panics_is_contained() {
        use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Quiet;
        struct Bomb(#[allow(dead_code)] u64);
        impl Drop for Bomb {
            fn drop(&mut self) {
                DROPS.fetch_add(1, SeqCst);
                std::panic::panic_any(Quiet);
            }
        }
        let (code, _, message) = call::<u8>(|| std::panic::panic_any(Bomb(7)));
        assert_eq!(code, status::PANIC);
        assert!(message.contains("not a string"), "{message}");
        assert_eq!(DROPS.load(SeqCst), 1);
        let (code, v, _) = call(|| Ok(5_u8));
        assert_eq!((code, v), (status::OK, Some(5)));
    }

    /// A payload whose destructor panics with a payload whose destructor
    /// panics, and so on: the second payload is leaked, never dropped (a
    /// drop would panic out of `run`, which aborts in an `extern "C"` fn).
    #[test]
    fn a_payload_whose_destructor_panics_without_end_is_contained() {
        use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        // Each drop panics with another `Forever` (zero-sized, so a leaked
        // one owns no memory), up to a bound that only a wrong `run` reaches.
        struct Forever;
        impl Drop for Forever {
            fn drop(&mut self) {
                if DROPS.fetch_add(1, SeqCst) < 100 {
                    std::panic::panic_any(Forever);
                }
            }
        }
        // Were a panic to escape `run`, forget its payload too and fail
        // plainly (dropping it would panic again).
        let escaped = catch_unwind(|| call::<u8>(|| std::panic::panic_any(Forever)));
        let (code, _, message) = escaped.unwrap_or_else(|payload| {
            core::mem::forget(payload);
            panic!("a panic escaped `run`")
        });
        assert_eq!(code, status::PANIC);
        assert!(message.contains("not a string"), "{message}");
        assert_eq!(DROPS.load(SeqCst), 1, "only the first payload is dropped");
        let (code, _, message) = call::<u8>(|| panic!("again"));
        assert_eq!((code, message.as_str()), (status::PANIC, "again"));
        assert_eq!(DROPS.load(SeqCst), 1);
    }

    #[test]
    fn str_params_check_utf8_and_null() {
        let mut bytes = *b"ok\xff";
        // SAFETY: `bytes` is a live local array of 3 bytes.
        let view = unsafe { PyStr::from_raw_parts(bytes.as_mut_ptr(), 3) };
        // SAFETY: `&view` is a valid header for the whole test.
        let err = unsafe { <&str as Param<'_>>::from_c(&view) }.unwrap_err();
        assert!(err.to_string().contains("index 2"), "{err}");
        // SAFETY: null is checked before any use.
        let err = unsafe { <&str as Param<'_>>::from_c(core::ptr::null()) }.unwrap_err();
        assert_eq!(err, ArgError::Null);
        // SAFETY: a valid header of 2 bytes.
        let ok = unsafe { PyStr::from_raw_parts(bytes.as_mut_ptr(), 2) };
        // SAFETY: `&ok` is valid for the whole test.
        assert_eq!(unsafe { <&str as Param<'_>>::from_c(&ok) }, Ok("ok"));
    }

    #[test]
    fn slices_borrow_the_view() {
        let mut data = [1_i32, 2, 3];
        // SAFETY: a live local array of 3 elements.
        let mut view = unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), 3) };
        // SAFETY: `&mut view` is valid and exclusive while `s` lives.
        let s = unsafe { <&mut [i32] as Param<'_>>::from_c(&mut view) }.unwrap();
        s.reverse();
        assert_eq!(data, [3, 2, 1]);
    }

    fn spelled_extern<'a, P: ExternParam<'a>>() -> String {
        let mut s = String::new();
        P::describe(&mut s);
        s
    }

    #[test]
    fn extern_params_are_spelled_from_their_types() {
        type Alias<'a> = &'a PyVec<u8>;
        type Int = i16;
        assert_eq!(spelled_extern::<Int>(), "i16");
        assert_eq!(spelled_extern::<Alias<'_>>(), "&PyStr");
        assert_eq!(spelled_extern::<&mut PyStr>(), "&mut PyVec<u8>");
        assert_eq!(
            spelled_extern::<&PyVec<&mut PyVec<&PyStr>>>(),
            "&PyVec<&mut PyVec<&PyStr>>"
        );
        let mut s = String::new();
        <bool as ExternReturn>::describe(&mut s);
        <() as ExternReturn>::describe(&mut s);
        assert_eq!(s, "bool()");
    }

    #[test]
    fn extern_descriptors_say_no_mangle_extern_c() {
        static CELL: OnceLock<CString> = OnceLock::new();
        static UNIT: OnceLock<CString> = OnceLock::new();
        let params: [ParamDescriptor; 2] = [
            ("v", <&mut PyVec<f64> as ExternParam<'_>>::describe),
            ("words", <&PyVec<&PyStr> as ExternParam<'_>>::describe),
        ];
        let p = describe_extern(&CELL, "g", &params, <f64 as ExternReturn>::describe, "Doc.");
        // SAFETY: `p` points into CELL's CString, alive for 'static.
        let text = unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(
            text,
            "pyo2 1\n#[no_mangle] extern \"C\" fn g(v: &mut PyVec<f64>, words: &PyVec<&PyStr>) -> f64\nDoc."
        );
        let p = describe_extern(&UNIT, "h", &[], <() as ExternReturn>::describe, "");
        // SAFETY: as above, for UNIT.
        let text = unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(text, "pyo2 1\n#[no_mangle] extern \"C\" fn h()");
    }

    #[test]
    fn descriptors_are_built_once() {
        static CELL: OnceLock<CString> = OnceLock::new();
        let params: [ParamDescriptor; 2] = [("s", <&str>::describe), ("v", <&mut [u8]>::describe)];
        let p = describe(&CELL, "f", &params, <Result<u8, String>>::describe, "Doc.");
        assert_eq!(p, describe(&CELL, "f", &[], <() as Return>::describe, ""));
        // SAFETY: `p` points into CELL's CString, alive for 'static.
        let text = unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(
            text,
            "pyo2 1\nfn f(s: &str, v: &mut [u8]) -> Result<u8, String>\nDoc."
        );
    }
}
