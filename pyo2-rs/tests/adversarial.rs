//! Adversarial tests of the Rust API (issue 10): a hostile-but-safe user of
//! `PyVec`/`PyStr`/`pyo2::abi`, and a buggy C caller of the symbols that
//! `#[pyo2::export]` generates (called through an `extern "C"` block, as
//! Python calls them). Every test asserts the exact outcome and runs under
//! `MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test -p pyo2
//! --test adversarial`, so "never reads out of bounds", "frees once" and
//! "leaks nothing" are checked by Miri, not assumed.
//!
//! Modules by class: `null_views`, `zero_sized`, `bounds`, `aliasing`,
//! `utf8`, `exported_args`, `panics`, `owned_buf`, `slots`, `records`.

use core::ffi::{c_char, c_void, CStr};
use core::ptr::{self, NonNull};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo2::abi::{status, OwnedBuf, Slot};
use pyo2::{PyStr, PyVec};

#[path = "common/people.rs"]
mod people;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A view of all of `data`.
fn view<T>(data: &mut [T]) -> PyVec<T> {
    // SAFETY: `data` is a live, aligned, initialised slice; every caller keeps
    // it alive and touches it only through the view while the view is used.
    unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), data.len()) }
}

/// The header a buggy C caller sends: a null `ptr` with a length.
fn null_view<T>(len: usize) -> PyVec<T> {
    // SAFETY: `from_raw_parts` only stores the two fields. A null `ptr` with
    // `len > 0` breaks its first bullet on purpose, as a buggy C caller
    // would; the type's field invariant ("either `ptr` is null, or ...")
    // and every accessor treat a null `ptr` as an empty view whatever
    // `len` says, which is exactly what these tests check.
    unsafe { PyVec::from_raw_parts(ptr::null_mut(), len) }
}

/// A view of `len` elements at an aligned, non-null, dangling pointer: valid
/// for `len == 0`, and for any `len` when `T` is zero-sized.
fn dangling_view<T>(len: usize) -> PyVec<T> {
    assert!(len == 0 || core::mem::size_of::<T>() == 0);
    // SAFETY: `NonNull::dangling` is non-null and aligned for `T`; it is
    // valid for reads and writes of 0 bytes, which is all that `len`
    // elements of `T` take here (len == 0, or `T` zero-sized); nothing else
    // can access zero bytes.
    unsafe { PyVec::from_raw_parts(NonNull::<T>::dangling().as_ptr(), len) }
}

/// The message of a panic payload that is a `String` or a `&str`.
fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        panic!("a panic payload that is not a string")
    }
}

/// Runs `f`, which must panic, and returns the panic message.
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => payload_text(&*payload),
    }
}

/// The text an exported call left in `slot` as an `OwnedBuf` (a String or a
/// message), which is then freed by `OwnedBuf`'s `Drop`.
fn take_string(slot: &mut Slot) -> String {
    // SAFETY: every caller reads a slot this way only after a call that
    // returned a message status, or OK from a function returning `String`,
    // so the slot holds an `OwnedBuf` made from a `String`, not taken yet.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a `String`'s buffer holds `u8`s.
    String::from_utf8(unsafe { buf.as_slice::<u8>() }.to_vec()).unwrap()
}

/// What separates a PANIC message from the panic's location, when there
/// is one (`pyo2::abi`, "A panic's message and location").
const LOCATION_MARKER: &str = "\0pyo2-location\0";

/// A PANIC message split as the loader splits it: the message, and the
/// `(file, line, column)` after the *last* marker, if any.
fn split_location(text: &str) -> (String, Option<(String, u32, u32)>) {
    let Some((message, at)) = text.rsplit_once(LOCATION_MARKER) else {
        return (text.to_owned(), None);
    };
    let parts: Vec<&str> = at.split('\0').collect();
    let [file, line, column] = parts[..] else {
        panic!("a malformed location {at:?}")
    };
    let location = (
        file.to_owned(),
        line.parse().unwrap(),
        column.parse().unwrap(),
    );
    (message.to_owned(), Some(location))
}

/// The message of a PANIC left in `slot`, checked to carry, if it carries
/// a location at all, one in this file between lines `lines`.
fn take_panic(slot: &mut Slot, lines: core::ops::RangeInclusive<u32>) -> String {
    let (message, location) = split_location(&take_string(slot));
    if let Some((file, line, column)) = location {
        assert_eq!(file, file!(), "{message:?}");
        assert!(lines.contains(&line), "{message:?} at line {line}");
        assert!(column > 0);
    }
    message
}

/// The lines of this file that hold the exported functions that panic.
const PANICS_FROM: u32 = line!();

/// The C layout of `Pyo2OwnedBuf`, as a C caller (or Python) declares it.
#[repr(C)]
struct COwnedBuf {
    ptr: *mut c_void,
    len: usize,
    cap: usize,
    drop: Option<unsafe extern "C" fn(*mut OwnedBuf)>,
}

/// Asserts at compile time that `$t` does not implement `$tr`: if it did,
/// `<$t as NotImpl<_>>::check` would be ambiguous and fail to compile.
macro_rules! assert_not_impl {
    ($t:ty: $($tr:tt)+) => {{
        trait NotImpl<A> {
            fn check() {}
        }
        impl<T: ?Sized> NotImpl<()> for T {}
        struct Implemented;
        impl<T: ?Sized + $($tr)+> NotImpl<Implemented> for T {}
        <$t as NotImpl<_>>::check();
    }};
}

// ---------------------------------------------------------------------------
// Exported functions, and their C symbols
// ---------------------------------------------------------------------------

#[pyo2::export]
fn adv_text_len(text: &str) -> usize {
    text.len()
}

#[pyo2::export]
fn adv_sum(v: &[i64]) -> i64 {
    v.iter().sum()
}

#[pyo2::export]
fn adv_negate(v: &mut [i32]) -> usize {
    v.iter_mut().for_each(|x| *x = x.wrapping_neg());
    v.len()
}

#[pyo2::export]
fn adv_bytes_len(bytes: &PyStr) -> usize {
    bytes.len()
}

#[pyo2::export]
fn adv_nested_total(rows: &PyVec<&PyVec<u8>>) -> u64 {
    rows.iter()
        .flat_map(|r| r.iter())
        .map(|&b| u64::from(b))
        .sum()
}

/// Safe code that permutes the headers it was lent: swaps the first two
/// pointers of the outer view, then the contents of the two headers.
#[pyo2::export]
fn adv_shuffle(rows: &mut PyVec<&mut PyVec<u8>>) -> usize {
    if rows.len() >= 2 {
        rows.swap(0, 1);
        let (a, b) = rows.split_at_mut(1);
        core::mem::swap(&mut *a[0], &mut *b[0]);
        rows.reverse();
    }
    rows.iter().map(|r| r.len()).sum()
}

#[pyo2::export]
fn adv_words(words: &[&str]) -> usize {
    words.iter().map(|w| w.len()).sum()
}

#[pyo2::export]
fn adv_row_sums(rows: &[&[u16]]) -> u64 {
    rows.iter()
        .flat_map(|r| r.iter())
        .map(|&x| u64::from(x))
        .sum()
}

#[pyo2::export]
fn adv_maybe_rows(rows: Option<&[&[u8]]>) -> usize {
    rows.map_or(0, |r| r.iter().map(|r| r.len()).sum())
}

#[pyo2::export]
fn adv_mut_rows(rows: &mut [&mut PyVec<i32>]) -> usize {
    rows.iter_mut()
        .flat_map(|r| r.iter_mut())
        .for_each(|x| *x += 1);
    rows.iter().map(|r| r.len()).sum()
}

/// Two levels of headers: rows of byte strings.
#[pyo2::export]
fn adv_grid(grid: &PyVec<&PyVec<&PyStr>>) -> usize {
    grid.iter().flat_map(|r| r.iter()).map(|s| s.len()).sum()
}

#[pyo2::export]
fn adv_grid_mut(grid: &mut PyVec<&mut PyVec<&mut PyVec<u8>>>) -> usize {
    grid.iter().flat_map(|r| r.iter()).map(|s| s.len()).sum()
}

#[pyo2::export]
fn adv_grid_slices(grid: &[&[&PyStr]]) -> usize {
    grid.iter().flat_map(|r| r.iter()).map(|s| s.len()).sum()
}

#[pyo2::export]
fn adv_grid_in_place(grid: &[&PyVec<&PyStr>]) -> usize {
    grid.iter().flat_map(|r| r.iter()).map(|s| s.len()).sum()
}

#[pyo2::export]
fn adv_two(label: &str, v: &mut PyVec<f64>) -> f64 {
    v.iter().sum::<f64>() + label.len() as f64
}

#[pyo2::export]
fn adv_echo(text: &str) -> String {
    text.to_owned()
}

#[pyo2::export]
fn adv_copy(v: &[u16]) -> Vec<u16> {
    v.to_vec()
}

#[pyo2::export]
fn adv_maybe(n: i64) -> Option<Vec<u8>> {
    usize::try_from(n).ok().map(|n| vec![7; n])
}

/// Writes `-1` into each element, panicking when it reaches index `at`.
#[pyo2::export]
fn adv_fill_then_panic(v: &mut [i32], at: usize) {
    for (i, x) in v.iter_mut().enumerate() {
        if i == at {
            panic!("stopped at {i}");
        }
        *x = -1;
    }
}

/// An error whose `Display` misbehaves in each way it can.
#[derive(Debug)]
enum Hostile {
    Message,
    Empty,
    WithNul,
    PanicsInDisplay,
    FmtError,
}

impl core::fmt::Display for Hostile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Hostile::Message => f.write_str("hostile ✗"),
            Hostile::Empty => Ok(()),
            Hostile::WithNul => f.write_str("a\0b"),
            Hostile::PanicsInDisplay => panic!("Display panicked"),
            Hostile::FmtError => Err(core::fmt::Error),
        }
    }
}

#[pyo2::export]
fn adv_fail(kind: u8) -> Result<String, Hostile> {
    Err(match kind {
        0 => return Ok("fine".to_owned()),
        1 => Hostile::Message,
        2 => Hostile::Empty,
        3 => Hostile::WithNul,
        4 => Hostile::PanicsInDisplay,
        _ => Hostile::FmtError,
    })
}

/// A panic payload whose destructor panics once, with a zero-sized payload
/// (so the payload `run` leaks owns no memory for Miri to report).
struct PanicsOnDrop;
struct Quiet;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        std::panic::panic_any(Quiet);
    }
}

/// A panic payload whose destructor panics with another, without end.
struct PanicsForever;

impl Drop for PanicsForever {
    fn drop(&mut self) {
        std::panic::panic_any(PanicsForever);
    }
}

#[pyo2::export]
fn adv_panic(kind: u8) -> u8 {
    match kind {
        0 => panic!("a &str payload"),
        1 => panic!("a String payload: {}", 42),
        2 => std::panic::panic_any(17_i32),
        3 => std::panic::panic_any(Box::new(String::from("boxed twice"))),
        4 => std::panic::panic_any(()),
        5 => std::panic::panic_any(PanicsOnDrop),
        6 => std::panic::panic_any(PanicsForever),
        7 => std::panic::panic_any(String::new()),
        8 => panic!("fake{LOCATION_MARKER}evil.rs\x001\x001"),
        _ => kind,
    }
}

/// The last line of the exported functions that panic.
const PANICS_TO: u32 = line!();

extern "C" {
    #[link_name = "adv_text_len"]
    fn c_text_len(text: *const PyStr, slot: *mut Slot) -> i32;
    #[link_name = "adv_sum"]
    fn c_sum(v: *const PyVec<i64>, slot: *mut Slot) -> i32;
    #[link_name = "adv_negate"]
    fn c_negate(v: *mut PyVec<i32>, slot: *mut Slot) -> i32;
    #[link_name = "adv_bytes_len"]
    fn c_bytes_len(bytes: *const PyStr, slot: *mut Slot) -> i32;
    #[link_name = "adv_nested_total"]
    fn c_nested_total(rows: *const PyVec<*const PyVec<u8>>, slot: *mut Slot) -> i32;
    #[link_name = "adv_shuffle"]
    fn c_shuffle(rows: *mut PyVec<*mut PyVec<u8>>, slot: *mut Slot) -> i32;
    #[link_name = "adv_words"]
    fn c_words(words: *const PyVec<*const PyStr>, slot: *mut Slot) -> i32;
    #[link_name = "adv_row_sums"]
    fn c_row_sums(rows: *const PyVec<*const PyVec<u16>>, slot: *mut Slot) -> i32;
    #[link_name = "adv_maybe_rows"]
    fn c_maybe_rows(rows: *const PyVec<*const PyVec<u8>>, slot: *mut Slot) -> i32;
    #[link_name = "adv_mut_rows"]
    fn c_mut_rows(rows: *mut PyVec<*mut PyVec<i32>>, slot: *mut Slot) -> i32;
    #[link_name = "adv_grid"]
    fn c_grid(grid: *const PyVec<*const PyVec<*const PyStr>>, slot: *mut Slot) -> i32;
    #[link_name = "adv_grid_mut"]
    fn c_grid_mut(grid: *mut PyVec<*mut PyVec<*mut PyStr>>, slot: *mut Slot) -> i32;
    #[link_name = "adv_grid_slices"]
    fn c_grid_slices(grid: *const PyVec<*const PyVec<*const PyStr>>, slot: *mut Slot) -> i32;
    #[link_name = "adv_grid_in_place"]
    fn c_grid_in_place(grid: *const PyVec<*const PyVec<*const PyStr>>, slot: *mut Slot) -> i32;
    #[link_name = "adv_two"]
    fn c_two(label: *const PyStr, v: *mut PyVec<f64>, slot: *mut Slot) -> i32;
    #[link_name = "adv_echo"]
    fn c_echo(text: *const PyStr, slot: *mut Slot) -> i32;
    #[link_name = "adv_copy"]
    fn c_copy(v: *const PyVec<u16>, slot: *mut Slot) -> i32;
    #[link_name = "adv_maybe"]
    fn c_maybe(n: i64, slot: *mut Slot) -> i32;
    #[link_name = "adv_fill_then_panic"]
    fn c_fill_then_panic(v: *mut PyVec<i32>, at: usize, slot: *mut Slot) -> i32;
    #[link_name = "adv_fail"]
    fn c_fail(kind: u8, slot: *mut Slot) -> i32;
    #[link_name = "adv_panic"]
    fn c_panic(kind: u8, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_sig__adv_nested_total"]
    fn c_nested_total_sig() -> *const c_char;
}

// ---------------------------------------------------------------------------
// Null views: `{NULL, n}` is empty for every accessor, whatever `n` says
// ---------------------------------------------------------------------------

mod null_views {
    use super::*;

    #[test]
    fn null_ptr_with_nonzero_len_is_empty_for_every_accessor() {
        let mut v = null_view::<i64>(5);
        assert_eq!(v.len(), 0);
        assert!(v.is_empty());
        assert_eq!(v.as_slice(), &[] as &[i64]);
        assert_eq!(v.as_mut_slice(), &mut [] as &mut [i64]);
        assert_eq!(v.as_ref(), &[] as &[i64]);
        assert_eq!(v.as_mut(), &mut [] as &mut [i64]);
        assert!(v.as_ptr().is_null());
        assert!(v.as_mut_ptr().is_null());
        assert_eq!(v.first(), None);
        assert_eq!(v.last(), None);
        assert_eq!(v.iter().sum::<i64>(), 0);
        assert_eq!(v.to_vec(), Vec::<i64>::new());
        assert_eq!(format!("{v:?}"), "[]");
        assert_eq!(format!("{v:#?}"), "[]");
    }

    #[test]
    fn null_ptr_with_usize_max_len_never_sizes_an_allocation() {
        // A `to_vec` that trusted `len` would try to allocate 2^64 * 8 bytes
        // and abort; `Vec::new()` has capacity 0 (no allocation at all).
        let v = null_view::<u64>(usize::MAX);
        let copy = v.to_vec();
        assert_eq!((copy.len(), copy.capacity()), (0, 0));
        let s = null_view::<u8>(usize::MAX);
        assert_eq!(s.as_bytes().len(), 0);
        assert_eq!(s.as_str(), Ok(""));
        assert_eq!(s.iter().size_hint(), (0, Some(0)));
    }

    #[test]
    fn null_str_views_are_the_empty_string() {
        let s = null_view::<u8>(3);
        assert_eq!(s.as_str(), Ok(""));
        assert_eq!(s.as_bytes(), b"");
        // SAFETY: the view is empty, and "" is valid UTF-8.
        assert_eq!(unsafe { s.as_str_unchecked() }, "");
    }

    #[test]
    fn null_view_equals_every_empty_view_and_no_nonempty_one() {
        let null = null_view::<u8>(4);
        let dangling = dangling_view::<u8>(0);
        let mut four = [0_u8; 4];
        let real = view(&mut four);
        assert!(null == dangling);
        assert!(dangling == null);
        assert!(null == *[].as_slice());
        assert!(null == [0_u8; 0]);
        assert!(null != real);
        assert!(real != null);
        assert!(null != [0_u8; 4]);
        assert!(null != *[0_u8; 4].as_slice());
    }

    #[test]
    fn iterators_on_null_views_yield_nothing_from_either_end() {
        let mut v = null_view::<u32>(9);
        let mut it = v.iter();
        assert_eq!(it.next(), None);
        assert_eq!(it.next_back(), None);
        assert_eq!(v.iter().nth(usize::MAX), None);
        assert_eq!(v.iter().rev().count(), 0);
        assert_eq!((&v).into_iter().count(), 0);
        assert_eq!(v.iter_mut().count(), 0);
        assert_eq!((&mut v).into_iter().next(), None);
        assert_eq!(v.chunks(2).count(), 0);
        assert_eq!(v.windows(1).count(), 0);
    }

    #[test]
    fn dangling_aligned_pointer_with_zero_len_is_an_empty_view() {
        let mut v = dangling_view::<u64>(0);
        assert_eq!(v.len(), 0);
        assert!(!v.as_ptr().is_null());
        assert!(v.as_ptr().is_aligned());
        assert_eq!(v.as_mut_slice(), &mut [] as &mut [u64]);
        v.sort();
        v.reverse();
        assert_eq!(v.to_vec(), Vec::<u64>::new());
        assert_eq!(format!("{v:?}"), "[]");
        let nested = dangling_view::<&PyVec<u8>>(0);
        assert_eq!(nested.iter().map(|r| r.len()).sum::<usize>(), 0);
    }
}

// ---------------------------------------------------------------------------
// Zero-sized element types
// ---------------------------------------------------------------------------

mod zero_sized {
    use super::*;
    use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    #[test]
    fn zst_view_of_usize_max_elements_indexes_without_touching_memory() {
        let v = dangling_view::<()>(usize::MAX);
        assert_eq!(v.len(), usize::MAX);
        assert_eq!(v[usize::MAX - 1], ());
        assert_eq!(v.get(usize::MAX), None);
        assert_eq!(v.iter().nth(usize::MAX - 1), Some(&()));
        assert_eq!(v.iter().size_hint(), (usize::MAX, Some(usize::MAX)));
        assert_eq!(v[usize::MAX - 3..].len(), 3);
    }

    #[test]
    fn zst_index_at_len_panics() {
        let v = dangling_view::<()>(3);
        assert_eq!(
            panic_message(|| v[3]),
            "index out of bounds: the len is 3 but the index is 3"
        );
    }

    #[test]
    fn zst_null_pointer_still_means_empty() {
        let v = null_view::<()>(10);
        assert_eq!(v.len(), 0);
        assert_eq!(v.to_vec(), Vec::<()>::new());
    }

    #[test]
    fn views_never_drop_their_elements_and_to_vec_clones_exactly_len() {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        #[derive(Clone, Debug, PartialEq)]
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, SeqCst);
            }
        }
        // A view has no destructor at all: it owns nothing to drop.
        assert!(!core::mem::needs_drop::<PyVec<Counted>>());
        assert!(!core::mem::needs_drop::<PyVec<String>>());
        let copy = {
            let v = dangling_view::<Counted>(3);
            assert_eq!(format!("{v:?}"), "[Counted, Counted, Counted]");
            v.to_vec()
        };
        assert_eq!(
            DROPS.load(SeqCst),
            0,
            "the view's elements were not dropped"
        );
        drop(copy);
        assert_eq!(DROPS.load(SeqCst), 3);
        // Heap-owning elements: dropping the view frees nothing (a double
        // free would be caught by Miri when `data` drops).
        let mut data = [String::from("a"), String::from("bc")];
        {
            let mut v = view(&mut data);
            v.swap(0, 1);
            assert_eq!(v.to_vec(), ["bc", "a"]);
        }
        assert_eq!(data, ["bc", "a"]);
    }
}

// ---------------------------------------------------------------------------
// Bounds: out-of-range access panics, and never reads or writes past `len`
// ---------------------------------------------------------------------------

mod bounds {
    use super::*;

    #[test]
    fn index_past_the_end_panics_with_the_exact_message() {
        let mut data = [1_i32, 2, 3];
        let v = view(&mut data);
        assert_eq!(
            panic_message(|| v[3]),
            "index out of bounds: the len is 3 but the index is 3"
        );
        assert_eq!(
            panic_message(|| v[usize::MAX]),
            format!(
                "index out of bounds: the len is 3 but the index is {}",
                usize::MAX
            )
        );
        let empty = null_view::<i32>(3);
        assert_eq!(
            panic_message(|| empty[0]),
            "index out of bounds: the len is 0 but the index is 0"
        );
    }

    #[test]
    fn index_mut_past_the_end_panics_and_writes_nothing() {
        let mut data = [1_i32, 2, 3, 99];
        {
            // A view of the first 3: the 4th element is a sentinel.
            let mut v = view(&mut data[..3]);
            assert_eq!(
                panic_message(|| v[3] = 0),
                "index out of bounds: the len is 3 but the index is 3"
            );
            assert_eq!(
                panic_message(|| v[1..4].fill(0)),
                "range end index 4 out of range for slice of length 3"
            );
        }
        assert_eq!(data, [1, 2, 3, 99]);
    }

    #[test]
    fn hostile_ranges_panic_with_the_exact_message() {
        let mut data = [1_u8, 2, 3];
        let v = view(&mut data);
        let (two, one) = (std::hint::black_box(2), std::hint::black_box(1));
        assert_eq!(
            panic_message(|| v[two..one].len()),
            "slice index starts at 2 but ends at 1"
        );
        assert_eq!(
            panic_message(|| v[..4].len()),
            "range end index 4 out of range for slice of length 3"
        );
        assert_eq!(
            panic_message(|| v[4..].len()),
            "range start index 4 out of range for slice of length 3"
        );
        assert_eq!(
            panic_message(|| v[usize::MAX..].len()),
            format!(
                "range start index {} out of range for slice of length 3",
                usize::MAX
            )
        );
        // `..=usize::MAX` has no exclusive end; std words this panic
        // differently across releases, so only its gist is pinned.
        let message = panic_message(|| v[..=usize::MAX].len());
        assert!(
            message.contains("out of range") || message.contains("maximum usize"),
            "{message}"
        );
        assert_eq!(&v[3..], &[] as &[u8], "the empty range at len is fine");
    }

    #[test]
    fn get_with_hostile_indices_returns_none() {
        let mut data = [5_u16, 6, 7];
        let mut v = view(&mut data);
        assert_eq!(v.get(usize::MAX), None);
        assert_eq!(v.get(3), None);
        assert_eq!(v.get(4..), None);
        let (two, one) = (std::hint::black_box(2), std::hint::black_box(1));
        assert_eq!(v.get(two..one), None);
        assert_eq!(v.get(..=usize::MAX), None);
        assert_eq!(v.get(3..3), Some(&[] as &[u16]));
        assert_eq!(v.get_mut(3), None);
        assert_eq!(v.get(2), Some(&7));
    }

    #[test]
    fn a_view_shorter_than_its_buffer_never_exposes_the_rest() {
        let mut data = *b"ok\xffSECRET";
        {
            let mut v = view(&mut data[..2]);
            assert_eq!(v.as_str(), Ok("ok"));
            assert_eq!(v.to_vec(), b"ok");
            assert_eq!(format!("{v:?}"), "[111, 107]");
            assert!(v == *b"ok");
            for b in &mut v {
                *b = b'!';
            }
            assert_eq!(v.iter().count(), 2);
        }
        assert_eq!(&data, b"!!\xffSECRET");
    }
}

// ---------------------------------------------------------------------------
// Aliasing: safe code can only permute the headers it was lent
// ---------------------------------------------------------------------------

mod aliasing {
    use super::*;
    use core::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn swapping_two_views_swaps_where_they_write() {
        let (mut a, mut b) = ([1_i64, 2], [3_i64, 4, 5]);
        {
            let (mut va, mut vb) = (view(&mut a), view(&mut b));
            core::mem::swap(&mut va, &mut vb);
            assert_eq!((va.len(), vb.len()), (3, 2));
            va[0] = 30;
            vb[1] = 20;
            va.swap_with_slice(&mut [7, 8, 9]);
        }
        assert_eq!((a, b), ([1, 20], [7, 8, 9]));
    }

    #[test]
    fn replacing_a_view_with_a_null_one_and_back_loses_nothing() {
        let mut data = [1_u8, 2, 3];
        {
            let mut v = view(&mut data);
            let held = core::mem::replace(&mut v, null_view(3));
            assert_eq!(v.len(), 0);
            v.iter_mut().for_each(|x| *x = 0);
            let emptied = core::mem::replace(&mut v, held);
            assert!(emptied.as_ptr().is_null());
            v[2] = 30;
        }
        assert_eq!(data, [1, 2, 30]);
    }

    #[test]
    fn swapping_and_reversing_nested_headers_keeps_every_view_live() {
        let (mut a, mut b, mut c) = ([1_i64, 2], [3_i64], [4_i64, 5, 6]);
        {
            let (mut va, mut vb, mut vc) = (view(&mut a), view(&mut b), view(&mut c));
            let mut inner = [&mut va, &mut vb, &mut vc];
            let mut outer = view(&mut inner[..]);
            outer.swap(0, 2); // pointers: c, b, a
            {
                // header contents: the header of c now describes b, and back
                let (x, y) = outer.split_at_mut(1);
                core::mem::swap(&mut *x[0], &mut *y[0]);
            }
            outer.reverse(); // pointers: a, b, c; headers: a, c, b
            let lens: Vec<usize> = outer.iter().map(|v| v.len()).collect();
            assert_eq!(lens, [2, 3, 1]);
            for (i, v) in outer.iter_mut().enumerate() {
                v.fill(10 * i as i64);
            }
        }
        assert_eq!((a, b, c), ([0, 0], [20], [10, 10, 10]));
    }

    #[test]
    fn views_cannot_be_duplicated_or_conjured_in_safe_code() {
        // No safe way to get a second view of a buffer, or a view out of
        // thin air: a `PyVec` is neither `Clone`, `Copy` nor `Default`.
        assert_not_impl!(PyVec<u8>: Clone);
        assert_not_impl!(PyVec<u8>: Copy);
        assert_not_impl!(PyVec<u8>: Default);
        // And it crosses threads only as `&mut [T]` / `&[T]` would.
        assert_not_impl!(PyVec<Cell<u8>>: Sync);
        assert_not_impl!(PyVec<Rc<u8>>: Send);
        assert_not_impl!(PyVec<Rc<u8>>: Sync);
        fn is_send<S: Send>() {}
        is_send::<PyVec<Cell<u8>>>();
    }

    #[test]
    fn an_exported_fn_that_shuffles_its_headers_leaves_every_header_valid() {
        let (mut a, mut b, mut c) = ([1_u8, 2], [3_u8], [4_u8, 5, 6]);
        let (mut va, mut vb, mut vc) = (view(&mut a), view(&mut b), view(&mut c));
        let (pa, pb, pc): (*mut PyVec<u8>, *mut PyVec<u8>, *mut PyVec<u8>) =
            (&mut va, &mut vb, &mut vc);
        let mut ptrs = [pa, pb, pc];
        let mut outer = view(&mut ptrs);
        let mut slot = Slot::new();
        // SAFETY: valid, distinct headers all the way down, each buffer used
        // only through its header during the call; a valid slot.
        let code = unsafe { c_shuffle(&mut outer, &mut slot) };
        assert_eq!(code, status::OK);
        // SAFETY: OK from a function returning usize.
        assert_eq!(unsafe { slot.take::<usize>() }, 6);
        // The pointer array was permuted (b, a, c → reversed: c, a, b) and
        // the contents of the headers at a and b were exchanged.
        assert_eq!(ptrs, [pc, pa, pb]);
        assert_eq!(
            (va.to_vec(), vb.to_vec(), vc.to_vec()),
            (vec![3], vec![1, 2], vec![4, 5, 6])
        );
    }
}

// ---------------------------------------------------------------------------
// UTF-8: `as_str` refuses every kind of invalid input, at every position
// ---------------------------------------------------------------------------

mod utf8 {
    use super::*;

    /// `as_str` of `bytes`: `Ok(text)` or `Err((valid_up_to, error_len, message))`.
    pub(crate) fn check(bytes: &[u8]) -> Result<String, (usize, Option<usize>, String)> {
        let mut copy = bytes.to_vec();
        let v = view(&mut copy);
        match v.as_str() {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => {
                let pyo2::Error::InvalidUtf8(inner) = &e else {
                    panic!("unexpected error {e:?}")
                };
                assert_eq!(e.valid_up_to(), Some(inner.valid_up_to()));
                Err((inner.valid_up_to(), inner.error_len(), e.to_string()))
            }
        }
    }

    pub(crate) fn invalid(at: usize, len: usize) -> String {
        format!("PyStr is not valid UTF-8: invalid utf-8 sequence of {len} bytes from index {at}")
    }

    fn incomplete(at: usize) -> String {
        format!("PyStr is not valid UTF-8: incomplete utf-8 byte sequence from index {at}")
    }

    pub(crate) const TEXT: &str = "aé€𝄞z";

    #[test]
    fn an_invalid_byte_at_every_position_is_reported_there() {
        for at in (0..=TEXT.len()).filter(|&i| TEXT.is_char_boundary(i)) {
            let mut bytes = TEXT.as_bytes().to_vec();
            bytes.insert(at, 0xFF);
            assert_eq!(check(&bytes), Err((at, Some(1), invalid(at, 1))), "at {at}");
        }
    }

    #[test]
    fn a_byte_overwritten_inside_every_multibyte_char_is_reported_at_the_char() {
        for (start, c) in TEXT.char_indices().filter(|(_, c)| c.len_utf8() > 1) {
            for k in 1..c.len_utf8() {
                let mut bytes = TEXT.as_bytes().to_vec();
                bytes[start + k] = b'x';
                assert_eq!(
                    check(&bytes),
                    Err((start, Some(k), invalid(start, k))),
                    "{c:?} byte {k}"
                );
            }
        }
    }

    #[test]
    fn truncation_at_every_cut_is_ok_or_incomplete() {
        for cut in 0..=TEXT.len() {
            let expected = if TEXT.is_char_boundary(cut) {
                Ok(TEXT[..cut].to_owned())
            } else {
                let start = (0..cut).rev().find(|&i| TEXT.is_char_boundary(i)).unwrap();
                Err((start, None, incomplete(start)))
            };
            assert_eq!(check(&TEXT.as_bytes()[..cut]), expected, "cut {cut}");
        }
    }

    #[test]
    fn overlong_encodings_are_refused() {
        let overlong: [&[u8]; 7] = [
            b"\xC0\x80",         // NUL in 2 bytes
            b"\xC1\xBF",         // U+007F in 2 bytes
            b"\xE0\x80\x80",     // NUL in 3 bytes
            b"\xE0\x9F\xBF",     // U+07FF in 3 bytes
            b"\xF0\x80\x80\x80", // NUL in 4 bytes
            b"\xF0\x8F\xBF\xBF", // U+FFFF in 4 bytes
            b"\xC0\xAF",         // '/' in 2 bytes (the path-traversal trick)
        ];
        for bytes in overlong {
            assert_eq!(check(bytes), Err((0, Some(1), invalid(0, 1))), "{bytes:x?}");
            let mut prefixed = b"ok".to_vec();
            prefixed.extend_from_slice(bytes);
            assert_eq!(check(&prefixed), Err((2, Some(1), invalid(2, 1))));
        }
    }

    #[test]
    fn utf16_surrogates_encoded_in_utf8_are_refused() {
        let surrogates: [&[u8]; 4] = [
            b"\xED\xA0\x80",             // U+D800, the first high surrogate
            b"\xED\xBF\xBF",             // U+DFFF, the last low surrogate
            b"\xED\xB0\x80",             // U+DC00, a lone low surrogate
            b"\xED\xA0\xBD\xED\xB8\x80", // CESU-8 for U+1F600
        ];
        for bytes in surrogates {
            assert_eq!(check(bytes), Err((0, Some(1), invalid(0, 1))), "{bytes:x?}");
        }
        // The neighbours of the surrogate range are fine.
        assert_eq!(check(b"\xED\x9F\xBF"), Ok("\u{D7FF}".to_owned()));
        assert_eq!(check(b"\xEE\x80\x80"), Ok("\u{E000}".to_owned()));
    }

    #[test]
    fn beyond_u10ffff_lone_continuations_and_bad_lead_bytes_are_refused() {
        let cases: [(&[u8], usize); 9] = [
            (b"\xF4\x90\x80\x80", 1), // U+110000
            (b"\xF5\x80\x80\x80", 1),
            (b"\xFE", 1),
            (b"\xFF\xFE", 1), // a UTF-16 BOM
            (b"\x80", 1),
            (b"\xBF\x80", 1),
            (b"\xC3\x28", 1),         // a 2-byte lead, then ASCII
            (b"\xE2\x82\x28", 2),     // a 3-byte lead, a continuation, then ASCII
            (b"\xF0\x9F\x98\x28", 3), // a 4-byte lead, 2 continuations, then ASCII
        ];
        for (bytes, len) in cases {
            assert_eq!(
                check(bytes),
                Err((0, Some(len), invalid(0, len))),
                "{bytes:x?}"
            );
        }
        assert_eq!(
            check(b"\xF4\x8F\xBF\xBF"),
            Ok("\u{10FFFF}".to_owned()),
            "the last code point is valid"
        );
    }

    #[test]
    fn nul_bom_and_noncharacters_are_valid_utf8() {
        assert_eq!(check(b"a\0b"), Ok("a\0b".to_owned()));
        assert_eq!(check(b"\0"), Ok("\0".to_owned()));
        assert_eq!(check(b"\xEF\xBB\xBFx"), Ok("\u{FEFF}x".to_owned()));
        assert_eq!(check(b"\xEF\xBF\xBF"), Ok("\u{FFFF}".to_owned()));
        assert_eq!(check(b"\xEF\xBF\xBE"), Ok("\u{FFFE}".to_owned()));
        assert_eq!(check(b""), Ok(String::new()));
    }
}

// ---------------------------------------------------------------------------
// Exported functions called by a buggy C caller: bad headers become
// BAD_ARG naming the parameter, or empty views; never UB
// ---------------------------------------------------------------------------

mod exported_args {
    use super::*;

    /// A C call that takes one (possibly null) argument and a slot.
    type Call = fn(&mut Slot) -> i32;

    #[test]
    fn null_for_every_pointer_parameter_kind_is_bad_arg_naming_it() {
        let calls: [(&str, Call); 6] = [
            ("text", |s| {
                // SAFETY: a null header pointer, which the wrapper checks
                // before any use; `s` is a valid slot.
                unsafe { c_text_len(ptr::null(), s) }
            }),
            ("v", |s| {
                // SAFETY: as above (`&[i64]`).
                unsafe { c_sum(ptr::null(), s) }
            }),
            ("v", |s| {
                // SAFETY: as above (`&mut [i32]`).
                unsafe { c_negate(ptr::null_mut(), s) }
            }),
            ("bytes", |s| {
                // SAFETY: as above (`&PyStr`).
                unsafe { c_bytes_len(ptr::null(), s) }
            }),
            ("rows", |s| {
                // SAFETY: as above (`&PyVec<&PyVec<u8>>`).
                unsafe { c_nested_total(ptr::null(), s) }
            }),
            ("rows", |s| {
                // SAFETY: as above (`&mut PyVec<&mut PyVec<u8>>`).
                unsafe { c_shuffle(ptr::null_mut(), s) }
            }),
        ];
        let mut slot = Slot::new();
        for (name, call) in calls {
            assert_eq!(call(&mut slot), status::BAD_ARG, "{name}");
            assert_eq!(
                take_string(&mut slot),
                format!("parameter `{name}`: null pointer")
            );
        }
    }

    #[test]
    fn the_first_bad_parameter_is_named_and_the_function_never_runs() {
        let mut slot = Slot::new();
        let mut label = *b"ab";
        let l = view(&mut label);
        let mut data = [1.0_f64];
        let mut v = view(&mut data);
        // SAFETY: a valid `label` header and a null `v`, which is checked; a valid slot.
        let code = unsafe { c_two(&l, ptr::null_mut(), &mut slot) };
        assert_eq!(code, status::BAD_ARG);
        assert_eq!(take_string(&mut slot), "parameter `v`: null pointer");
        // SAFETY: both null; checked in parameter order.
        let code = unsafe { c_two(ptr::null(), ptr::null_mut(), &mut slot) };
        assert_eq!(code, status::BAD_ARG);
        assert_eq!(take_string(&mut slot), "parameter `label`: null pointer");
        let mut bad = *b"a\xC0";
        let b = view(&mut bad);
        // SAFETY: a valid but non-UTF-8 `label` header, a null `v`; a valid slot.
        let code = unsafe { c_two(&b, ptr::null_mut(), &mut slot) };
        assert_eq!(code, status::BAD_ARG);
        assert_eq!(
            take_string(&mut slot),
            "parameter `label`: PyStr is not valid UTF-8: invalid utf-8 sequence of 1 bytes from index 1"
        );
        // SAFETY: valid, distinct headers; a valid slot.
        let code = unsafe { c_two(&l, &mut v, &mut slot) };
        assert_eq!(code, status::OK);
        // SAFETY: OK from a function returning f64.
        assert_eq!(unsafe { slot.take::<f64>() }, 3.0);
    }

    #[test]
    fn a_null_ptr_header_with_usize_max_len_is_an_empty_argument_for_every_kind() {
        let mut slot = Slot::new();
        let text = null_view::<u8>(usize::MAX);
        let ints = null_view::<i64>(usize::MAX);
        let mut negs = null_view::<i32>(usize::MAX);
        let rows = null_view::<*const PyVec<u8>>(usize::MAX);
        let halves = null_view::<u16>(usize::MAX);
        // SAFETY: (each call) a valid header whose null `ptr` every accessor
        // treats as empty; a valid slot. Each result is a usize/i64/u64 read
        // right after its OK.
        unsafe {
            assert_eq!(c_text_len(&text, &mut slot), status::OK);
            assert_eq!(slot.take::<usize>(), 0);
            assert_eq!(c_bytes_len(&text, &mut slot), status::OK);
            assert_eq!(slot.take::<usize>(), 0);
            assert_eq!(c_sum(&ints, &mut slot), status::OK);
            assert_eq!(slot.take::<i64>(), 0);
            assert_eq!(c_negate(&mut negs, &mut slot), status::OK);
            assert_eq!(slot.take::<usize>(), 0);
            assert_eq!(c_nested_total(&rows, &mut slot), status::OK);
            assert_eq!(slot.take::<u64>(), 0);
        }
        // A `Vec` return copied from it: no allocation of `len` elements.
        // SAFETY: as above.
        assert_eq!(unsafe { c_copy(&halves, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning Vec<u16>.
        let buf = unsafe { slot.take::<OwnedBuf>() };
        assert_eq!(buf.len(), 0);
        // SAFETY: the buffer holds u16s.
        assert_eq!(unsafe { buf.as_slice::<u16>() }, &[] as &[u16]);
    }

    #[test]
    fn a_dangling_aligned_header_with_zero_len_is_an_empty_argument() {
        let mut slot = Slot::new();
        let text = dangling_view::<u8>(0);
        let ints = dangling_view::<i64>(0);
        let mut negs = dangling_view::<i32>(0);
        let rows = dangling_view::<*const PyVec<u8>>(0);
        // SAFETY: (each call) a valid header of 0 elements at an aligned,
        // non-null pointer; a valid slot; each result read right after its OK.
        unsafe {
            assert_eq!(c_text_len(&text, &mut slot), status::OK);
            assert_eq!(slot.take::<usize>(), 0);
            assert_eq!(c_sum(&ints, &mut slot), status::OK);
            assert_eq!(slot.take::<i64>(), 0);
            assert_eq!(c_negate(&mut negs, &mut slot), status::OK);
            assert_eq!(slot.take::<usize>(), 0);
            assert_eq!(c_nested_total(&rows, &mut slot), status::OK);
            assert_eq!(slot.take::<u64>(), 0);
            assert_eq!(c_echo(&text, &mut slot), status::OK);
        }
        assert_eq!(take_string(&mut slot), "");
    }

    #[test]
    fn nested_headers_with_null_and_short_inner_views_are_read_as_empty() {
        // Inner headers (non-null pointers to them) whose own `ptr` is null
        // with a length, or that view only part of a buffer.
        let inner_null = null_view::<u8>(1000);
        let mut data = [1_u8, 2, 3, 200];
        let short = view(&mut data[..3]);
        let mut ptrs = [&inner_null as *const PyVec<u8>, &short, &inner_null];
        let outer = view(&mut ptrs);
        let mut slot = Slot::new();
        // SAFETY: valid headers all the way down (null inner `ptr`s read as
        // empty); a valid slot.
        assert_eq!(unsafe { c_nested_total(&outer, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning u64.
        assert_eq!(unsafe { slot.take::<u64>() }, 6);
        // SAFETY: descriptor functions take nothing and return static text.
        let sig = unsafe { CStr::from_ptr(c_nested_total_sig()) };
        assert_eq!(
            sig.to_str(),
            Ok("pyo2 1\nfn adv_nested_total(rows: &PyVec<&PyStr>) -> u64")
        );
    }

    /// A null *inner* header pointer is refused like a null outer one,
    /// naming the item. The wrapper reads the element pointers as raw
    /// pointers first, so no null `&PyVec<u8>` is ever formed (Miri used
    /// to report "constructing invalid value of type &pyo2::PyVec<u8>:
    /// encountered a null reference" here, and a native run segfaulted).
    #[test]
    fn a_null_inner_header_pointer_is_bad_arg_naming_the_parameter() {
        let mut data = [1_u8];
        let real = view(&mut data);
        let mut ptrs = [&real as *const PyVec<u8>, ptr::null()];
        let outer = view(&mut ptrs);
        let mut slot = Slot::new();
        // SAFETY:
        // - `outer` and `real` are valid headers for the whole call, and
        //   the null second element pointer is allowed by `Param::from_c`'s
        //   contract (it is refused, not read);
        // - `slot` is a valid slot.
        let code = unsafe { c_nested_total(&outer, &mut slot) };
        assert_eq!(code, status::BAD_ARG);
        assert_eq!(
            take_string(&mut slot),
            "parameter `rows`: item [1]: null pointer"
        );
    }

    /// Every parameter kind whose elements are references refuses a null
    /// element pointer, naming the parameter and the item; the same
    /// arguments without the null are accepted.
    #[test]
    fn a_null_element_pointer_is_bad_arg_for_every_kind_of_reference_elements() {
        let mut slot = Slot::new();
        let mut bytes = *b"abc";
        let text = view(&mut bytes);
        let mut halves = [1_u16, 2];
        let halves = view(&mut halves);
        let mut small = [5_u8];
        let small = view(&mut small);
        let mut ints_a = [1_i32, 2];
        let mut a = view(&mut ints_a);
        let mut ints_b = [3_i32];
        let mut b = view(&mut ints_b);

        let mut words = [&text as *const PyStr, ptr::null(), &text];
        let words = view(&mut words);
        let mut rows = [ptr::null(), &halves as *const PyVec<u16>];
        let rows = view(&mut rows);
        let mut maybe = [&small as *const PyVec<u8>, &small, ptr::null()];
        let maybe = view(&mut maybe);
        let mut mut_rows = [&mut a as *mut PyVec<i32>, ptr::null_mut()];
        let mut mut_rows = view(&mut mut_rows);
        // SAFETY: for every call below,
        // - each header is valid for the whole call, and the null element
        //   pointers are allowed by `Param::from_c`'s contract (refused,
        //   never read); the `&mut` headers are distinct;
        // - `slot` is a valid slot, and each message is read right after
        //   its BAD_ARG.
        unsafe {
            assert_eq!(c_words(&words, &mut slot), status::BAD_ARG);
            assert_eq!(
                take_string(&mut slot),
                "parameter `words`: item [1]: null pointer"
            );
            assert_eq!(c_row_sums(&rows, &mut slot), status::BAD_ARG);
            assert_eq!(
                take_string(&mut slot),
                "parameter `rows`: item [0]: null pointer"
            );
            assert_eq!(c_maybe_rows(&maybe, &mut slot), status::BAD_ARG);
            assert_eq!(
                take_string(&mut slot),
                "parameter `rows`: item [2]: null pointer"
            );
            assert_eq!(c_mut_rows(&mut mut_rows, &mut slot), status::BAD_ARG);
            assert_eq!(
                take_string(&mut slot),
                "parameter `rows`: item [1]: null pointer"
            );
        }
        // The function never ran: nothing was incremented.
        assert_eq!(a.to_vec(), [1, 2]);

        let mut ok_rows = [&mut a as *mut PyVec<i32>, &mut b];
        let mut ok_rows = view(&mut ok_rows);
        // SAFETY:
        // - distinct valid headers all the way down;
        // - a valid slot; the usize is read right after its OK.
        unsafe {
            assert_eq!(c_mut_rows(&mut ok_rows, &mut slot), status::OK);
            assert_eq!(slot.take::<usize>(), 3);
        }
        assert_eq!((ints_a, ints_b), ([2, 3], [4]));

        let mut shuffled_a = [1_u8];
        let mut sa = view(&mut shuffled_a);
        let mut shuffle = [ptr::null_mut(), &mut sa as *mut PyVec<u8>];
        let mut shuffle = view(&mut shuffle);
        // SAFETY: as above: a valid header whose null element pointer is
        // refused; a valid slot.
        let code = unsafe { c_shuffle(&mut shuffle, &mut slot) };
        assert_eq!(code, status::BAD_ARG);
        assert_eq!(
            take_string(&mut slot),
            "parameter `rows`: item [0]: null pointer"
        );
        assert_eq!(shuffled_a, [1]);
    }

    /// A null pointer two levels down (a null `&PyStr` inside a row of a
    /// grid) is refused at every nesting kind, naming both items; a null
    /// row is named at its own level; an inner header whose own `ptr` is
    /// null with a length is an empty row, never read.
    #[test]
    fn a_null_pointer_two_levels_down_is_bad_arg_naming_both_items() {
        let mut slot = Slot::new();
        let mut bytes = *b"xy";
        let s = view(&mut bytes);
        let sp = &s as *const PyStr;
        let mut row0 = [sp];
        let row0 = view(&mut row0);
        let mut row1 = [sp, sp, ptr::null()];
        let row1 = view(&mut row1);
        let empty_row = null_view::<*const PyStr>(1000);
        let mut grid = [&row0 as *const PyVec<*const PyStr>, &empty_row, &row1];
        let grid = view(&mut grid);
        let mut null_row = [&row0 as *const PyVec<*const PyStr>, ptr::null()];
        let null_row = view(&mut null_row);
        let mut good_row = [sp, sp];
        let good_row = view(&mut good_row);
        let mut good = [&row0 as *const PyVec<*const PyStr>, &empty_row, &good_row];
        let good = view(&mut good);
        type GridCall =
            unsafe extern "C" fn(*const PyVec<*const PyVec<*const PyStr>>, *mut Slot) -> i32;
        let calls: [(&str, GridCall); 3] = [
            ("grid", c_grid),
            ("grid", c_grid_slices),
            ("grid", c_grid_in_place),
        ];
        for (name, call) in calls {
            // SAFETY: for each call,
            // - every header is valid for the whole call, and the null
            //   element pointers, at either level, are allowed by
            //   `Param::from_c`'s contract (refused, never read); the null
            //   `ptr` of `empty_row` makes it an empty view, whatever its
            //   length;
            // - `slot` is a valid slot, read right after each call.
            unsafe {
                assert_eq!(call(&grid, &mut slot), status::BAD_ARG);
                assert_eq!(
                    take_string(&mut slot),
                    format!("parameter `{name}`: item [2]: item [2]: null pointer")
                );
                assert_eq!(call(&null_row, &mut slot), status::BAD_ARG);
                assert_eq!(
                    take_string(&mut slot),
                    format!("parameter `{name}`: item [1]: null pointer")
                );
                assert_eq!(call(&good, &mut slot), status::OK);
                assert_eq!(slot.take::<usize>(), 6);
            }
        }

        let mut b0 = *b"abc";
        let mut v0 = view(&mut b0);
        let mut b1 = *b"d";
        let mut v1 = view(&mut b1);
        let mut mrow0 = [&mut v0 as *mut PyStr];
        let mut mrow0 = view(&mut mrow0);
        let mut mrow1 = [&mut v1 as *mut PyStr, ptr::null_mut()];
        let mut mrow1 = view(&mut mrow1);
        let mut mgrid = [&mut mrow0 as *mut PyVec<*mut PyStr>, &mut mrow1];
        let mut mgrid = view(&mut mgrid);
        // SAFETY:
        // - distinct valid headers at every level, but for the null
        //   element pointer in `mrow1`, which the contract allows (refused,
        //   never read);
        // - a valid slot, read right after the call.
        let code = unsafe { c_grid_mut(&mut mgrid, &mut slot) };
        assert_eq!(code, status::BAD_ARG);
        assert_eq!(
            take_string(&mut slot),
            "parameter `grid`: item [1]: item [1]: null pointer"
        );
    }

    #[test]
    fn invalid_utf8_for_a_str_parameter_is_bad_arg_naming_it_and_pystr_takes_it() {
        let cases: [(&[u8], usize, usize); 5] = [
            (b"\xFF", 0, 1),
            (b"ok\xC0\x80", 2, 1),
            (b"\xED\xA0\x80", 0, 1),
            (b"caf\xC3", 3, 0), // truncated: "incomplete"
            (b"a\xE2\x82(", 1, 2),
        ];
        let mut slot = Slot::new();
        for (bytes, at, len) in cases {
            let mut copy = bytes.to_vec();
            let v = view(&mut copy);
            // SAFETY: a valid header, a valid slot.
            let code = unsafe { c_text_len(&v, &mut slot) };
            assert_eq!(code, status::BAD_ARG, "{bytes:x?}");
            let detail = if len == 0 {
                format!("PyStr is not valid UTF-8: incomplete utf-8 byte sequence from index {at}")
            } else {
                super::utf8::invalid(at, len)
            };
            assert_eq!(
                take_string(&mut slot),
                format!("parameter `text`: {detail}")
            );
            // The same bytes as `&PyStr` are accepted unchecked.
            // SAFETY: as above.
            assert_eq!(unsafe { c_bytes_len(&v, &mut slot) }, status::OK);
            // SAFETY: OK from a function returning usize.
            assert_eq!(unsafe { slot.take::<usize>() }, bytes.len());
        }
    }

    #[test]
    fn embedded_nul_crosses_a_str_parameter_and_a_string_return_intact() {
        let mut slot = Slot::new();
        let mut bytes = *b"a\0b\0";
        let v = view(&mut bytes);
        // SAFETY: a valid header, a valid slot.
        assert_eq!(unsafe { c_echo(&v, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning String.
        let buf = unsafe { slot.take::<OwnedBuf>() };
        assert_eq!(buf.len(), 4);
        // SAFETY: a String's bytes.
        assert_eq!(unsafe { buf.as_slice::<u8>() }, b"a\0b\0");
    }
}

// ---------------------------------------------------------------------------
// Panics and misbehaving errors at the boundary
// ---------------------------------------------------------------------------

mod panics {
    use super::*;

    const NOT_A_STRING: &str = "Box<dyn Any> (a panic payload that is not a string)";

    fn panic_with(kind: u8) -> (i32, String) {
        let mut slot = Slot::new();
        // SAFETY: a valid slot.
        let code = unsafe { c_panic(kind, &mut slot) };
        (code, take_panic(&mut slot, PANICS_FROM..=PANICS_TO))
    }

    fn fail_with(kind: u8) -> (i32, Vec<u8>) {
        let mut slot = Slot::new();
        // SAFETY: a valid slot.
        let code = unsafe { c_fail(kind, &mut slot) };
        // SAFETY: every status c_fail returns (OK with a String, ERR, PANIC)
        // leaves an OwnedBuf made from a String.
        let buf = unsafe { slot.take::<OwnedBuf>() };
        // SAFETY: a String's bytes.
        let mut bytes = unsafe { buf.as_slice::<u8>() }.to_vec();
        if code == status::PANIC {
            // The location (in this file, or in std for a `Display` that
            // fails) is checked elsewhere; keep the message.
            let text = String::from_utf8(bytes).unwrap();
            bytes = split_location(&text).0.into_bytes();
        }
        (code, bytes)
    }

    #[test]
    fn str_and_string_payloads_become_the_message() {
        assert_eq!(panic_with(0), (status::PANIC, "a &str payload".to_owned()));
        assert_eq!(
            panic_with(1),
            (status::PANIC, "a String payload: 42".to_owned())
        );
        assert_eq!(panic_with(7), (status::PANIC, String::new()));
    }

    #[test]
    fn non_string_payloads_get_a_fixed_message() {
        // An i32, a String boxed a second time (not unwrapped), and ().
        for kind in [2, 3, 4] {
            assert_eq!(
                panic_with(kind),
                (status::PANIC, NOT_A_STRING.to_owned()),
                "{kind}"
            );
        }
    }

    #[test]
    fn payloads_whose_drop_panics_once_or_forever_are_contained() {
        for kind in [5, 6, 5, 6, 6] {
            assert_eq!(
                panic_with(kind),
                (status::PANIC, NOT_A_STRING.to_owned()),
                "{kind}"
            );
        }
        let mut slot = Slot::new();
        // SAFETY: a valid slot.
        assert_eq!(unsafe { c_panic(9, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning u8.
        assert_eq!(unsafe { slot.take::<u8>() }, 9);
    }

    #[test]
    fn a_message_that_forges_a_location_cannot_replace_the_real_one() {
        let forged = format!("fake{LOCATION_MARKER}evil.rs\x001\x001");
        let mut slot = Slot::new();
        // SAFETY: a valid slot.
        assert_eq!(unsafe { c_panic(8, &mut slot) }, status::PANIC);
        let text = take_string(&mut slot);
        assert!(text.starts_with(&forged), "{text:?}");
        if text != forged {
            // A real location follows the forged one: the last marker wins,
            // so the whole forged text is the message.
            assert_eq!(split_location(&text).0, forged);
            let (file, line, _) = split_location(&text).1.unwrap();
            assert_eq!(file, file!());
            assert!((PANICS_FROM..=PANICS_TO).contains(&line));
        }
    }

    #[test]
    fn a_panic_midway_through_a_mut_slice_keeps_the_writes_made_before_it() {
        let mut data = [1_i32, 2, 3, 4];
        let mut v = view(&mut data);
        let mut slot = Slot::new();
        // SAFETY: a valid exclusive header, a valid slot.
        let code = unsafe { c_fill_then_panic(&mut v, 2, &mut slot) };
        assert_eq!(code, status::PANIC);
        assert_eq!(
            take_panic(&mut slot, PANICS_FROM..=PANICS_TO),
            "stopped at 2"
        );
        assert_eq!(data, [-1, -1, 3, 4]);
    }

    #[test]
    fn hostile_error_displays_become_err_or_panic_never_an_unwind() {
        assert_eq!(fail_with(0), (status::OK, b"fine".to_vec()));
        assert_eq!(fail_with(1), (status::ERR, "hostile ✗".as_bytes().to_vec()));
        assert_eq!(fail_with(2), (status::ERR, Vec::new()));
        assert_eq!(fail_with(3), (status::ERR, b"a\0b".to_vec()));
        assert_eq!(fail_with(4), (status::PANIC, b"Display panicked".to_vec()));
        assert_eq!(
            fail_with(5),
            (
                status::PANIC,
                b"a Display implementation returned an error unexpectedly: Error".to_vec()
            )
        );
    }
}

// ---------------------------------------------------------------------------
// OwnedBuf: freed exactly once, whichever side frees it
// ---------------------------------------------------------------------------

mod owned_buf {
    use super::*;

    /// Calls `adv_echo("héllo")` and returns its slot, holding the String.
    fn echo_slot() -> Slot {
        let mut slot = Slot::new();
        let mut bytes = *"héllo".as_bytes().first_chunk::<6>().unwrap();
        let v = view(&mut bytes);
        // SAFETY: a valid header, a valid slot.
        assert_eq!(unsafe { c_echo(&v, &mut slot) }, status::OK);
        slot
    }

    #[test]
    fn the_c_drop_called_twice_and_on_null_frees_once() {
        let mut slot = echo_slot();
        // As C sees it: the slot holds a Pyo2OwnedBuf.
        // SAFETY: OK from a function returning String: an OwnedBuf, whose C
        // layout COwnedBuf mirrors field for field.
        let mut raw = unsafe { slot.take::<COwnedBuf>() };
        assert_eq!((raw.len, raw.ptr.is_null()), (6, false));
        // SAFETY: `ptr` and `len` are the live String's bytes.
        let bytes = unsafe { core::slice::from_raw_parts(raw.ptr.cast::<u8>(), raw.len) };
        assert_eq!(bytes, "héllo".as_bytes());
        let drop_fn = raw.drop.expect("an owned buffer has a drop");
        let p = (&mut raw as *mut COwnedBuf).cast::<OwnedBuf>();
        // SAFETY: `p` points to the buffer the call made (OwnedBuf's layout),
        // exclusively; `drop_fn` is its own drop.
        unsafe { drop_fn(p) };
        assert!(raw.ptr.is_null() && raw.drop.is_none());
        assert_eq!((raw.len, raw.cap), (0, 0));
        // SAFETY: as above; `drop` is now None, so nothing is freed again.
        unsafe { drop_fn(p) };
        // SAFETY: null is explicitly allowed.
        unsafe { drop_fn(ptr::null_mut()) };
        assert!(raw.drop.is_none());
    }

    #[test]
    fn the_c_drop_then_rust_drop_frees_once() {
        let mut slot = echo_slot();
        // SAFETY: OK from a function returning String.
        let mut buf = unsafe { slot.take::<OwnedBuf>() };
        let p: *mut OwnedBuf = &mut buf;
        // SAFETY: OwnedBuf is repr(C) with the documented C layout, which
        // COwnedBuf mirrors; `p` is valid and only read here.
        let drop_fn = unsafe { (*p.cast::<COwnedBuf>()).drop }.expect("owned");
        // SAFETY: `p` is a valid, exclusive OwnedBuf made by the library,
        // and `drop_fn` its own drop.
        unsafe { drop_fn(p) };
        assert!(!buf.owns_memory());
        assert_eq!(buf.len(), 0);
        // SAFETY: any T is fine for an empty buffer (null ptr).
        assert_eq!(unsafe { buf.as_slice::<u8>() }, b"");
        drop(buf); // Rust's Drop now finds nothing to free.
    }

    #[test]
    fn empty_buffers_own_nothing_or_free_a_zero_capacity_vec() {
        for _ in 0..3 {
            let e = OwnedBuf::EMPTY;
            assert!(!e.owns_memory() && e.is_empty());
            // SAFETY: an empty buffer; any scalar type reads nothing.
            assert_eq!(unsafe { e.as_slice::<u64>() }, &[] as &[u64]);
        }
        // A `Vec::new()` has a dangling pointer and capacity 0: owned, but
        // freeing it deallocates nothing.
        let v = OwnedBuf::from_vec(Vec::<f64>::new());
        assert!(v.owns_memory() && v.is_empty());
        // SAFETY: made from a Vec<f64>.
        assert_eq!(unsafe { v.as_slice::<f64>() }, &[] as &[f64]);
        drop(v);
        let s = OwnedBuf::from_string(String::new());
        assert!(s.owns_memory() && s.is_empty());
        let mut slot = Slot::new();
        // SAFETY: a valid slot.
        assert_eq!(unsafe { c_maybe(0, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning Option<Vec<u8>>.
        let buf = unsafe { slot.take::<OwnedBuf>() };
        assert!(buf.owns_memory() && buf.is_empty());
    }

    #[test]
    fn spare_capacity_is_freed_with_the_capacity_it_was_allocated_with() {
        // Miri checks that the deallocation's layout matches the allocation's.
        let mut v = Vec::with_capacity(100);
        v.extend_from_slice(&[1_u32, 2]);
        let buf = OwnedBuf::from_vec(v);
        assert_eq!(buf.len(), 2);
        // SAFETY: made from a Vec<u32>.
        assert_eq!(unsafe { buf.as_slice::<u32>() }, &[1, 2]);
        drop(buf);
        let mut s = String::with_capacity(64);
        s.push('x');
        let mut raw = std::mem::ManuallyDrop::new(OwnedBuf::from_string(s));
        let p: *mut OwnedBuf = &mut *raw;
        // SAFETY: OwnedBuf's documented C layout; `p` is valid, only read.
        let drop_fn = unsafe { (*p.cast::<COwnedBuf>()).drop }.expect("owned");
        // SAFETY: `p` is a valid exclusive OwnedBuf and this is its own drop;
        // the ManuallyDrop means only the C drop frees it.
        unsafe { drop_fn(p) };
        assert!(!raw.owns_memory());
    }

    #[test]
    fn as_slice_u8_of_a_wider_buffer_reads_len_bytes_only() {
        // `as_slice::<u8>` is allowed on any buffer; it views `len` bytes
        // (the element count, not scaled), so it can never read past the end.
        let buf = OwnedBuf::from_vec(vec![0x0102_u16, 0x0304, 0x0506]);
        // SAFETY: u8 is allowed for any buffer.
        let bytes = unsafe { buf.as_slice::<u8>() };
        assert_eq!(bytes.len(), 3);
        assert_eq!(
            bytes,
            &[
                0x0102_u16.to_ne_bytes()[0],
                0x0102_u16.to_ne_bytes()[1],
                0x0304_u16.to_ne_bytes()[0]
            ]
        );
    }
}

// ---------------------------------------------------------------------------
// Slots: reused across calls, per call, per thread
// ---------------------------------------------------------------------------

mod slots {
    use super::*;

    #[test]
    fn one_slot_reused_across_every_status_leaks_nothing() {
        let mut slot = Slot::new();
        let mut word = *b"w";
        let w = view(&mut word);
        for round in 0..3_u8 {
            // SAFETY: (each call) valid headers and slot; every value or
            // message is taken right after the call that wrote it.
            unsafe {
                assert_eq!(c_panic(round + 10, &mut slot), status::OK);
                assert_eq!(slot.take::<u8>(), round + 10);
                assert_eq!(c_fail(1, &mut slot), status::ERR);
                assert_eq!(take_string(&mut slot), "hostile ✗");
                assert_eq!(c_echo(&w, &mut slot), status::OK);
                assert_eq!(take_string(&mut slot), "w");
                assert_eq!(c_panic(0, &mut slot), status::PANIC);
                assert_eq!(
                    take_panic(&mut slot, PANICS_FROM..=PANICS_TO),
                    "a &str payload"
                );
                assert_eq!(c_text_len(ptr::null(), &mut slot), status::BAD_ARG);
                assert_eq!(take_string(&mut slot), "parameter `text`: null pointer");
                assert_eq!(c_maybe(-1, &mut slot), status::NONE);
                assert_eq!(c_maybe(2, &mut slot), status::OK);
                let buf = slot.take::<OwnedBuf>();
                assert_eq!(buf.as_slice::<u8>(), &[7, 7]);
            }
        }
    }

    #[test]
    fn none_leaves_the_slot_untouched() {
        let mut slot = Slot::new();
        // SAFETY: a valid slot.
        assert_eq!(unsafe { c_panic(200, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning u8.
        assert_eq!(unsafe { slot.take::<u8>() }, 200);
        // SAFETY: a valid slot.
        assert_eq!(unsafe { c_maybe(-5, &mut slot) }, status::NONE);
        // SAFETY: NONE writes nothing (documented: "the slot is untouched"),
        // so the slot still holds the initialised u8 of the OK call above.
        assert_eq!(unsafe { slot.take::<u8>() }, 200);
    }

    #[test]
    fn calls_on_several_threads_each_write_only_their_own_slot() {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4_u8)
                .map(|t| {
                    scope.spawn(move || {
                        let mut slots = [Slot::new(), Slot::new()];
                        let [a, b] = &mut slots;
                        // SAFETY: (each call) valid, distinct slots, each
                        // read right after the call that wrote it.
                        unsafe {
                            assert_eq!(c_panic(1, a), status::PANIC);
                            assert_eq!(c_panic(100 + t, b), status::OK);
                            assert_eq!(b.take::<u8>(), 100 + t);
                        }
                        take_panic(a, PANICS_FROM..=PANICS_TO)
                    })
                })
                .collect();
            for h in handles {
                assert_eq!(h.join().unwrap(), "a String payload: 42");
            }
        });
    }
}

// ---------------------------------------------------------------------------
// Records: a buggy C caller of record parameters (issue 12)
// ---------------------------------------------------------------------------

mod records {
    use super::*;
    // `In(AdvPerson)` / `Out(AdvPerson)`: the mirrors of a record of
    // `Person`'s shape, as in `records.rs`.
    use super::people::{buf_text, person_in, PersonIn, PersonOut};

    #[derive(pyo2::Record, Clone, Debug, PartialEq)]
    #[repr(C)]
    pub struct AdvPoint {
        pub x: f64,
        pub y: f64,
    }

    #[derive(pyo2::Record, Clone, Debug, PartialEq)]
    #[repr(C)]
    pub struct AdvSegment {
        pub a: AdvPoint,
        pub b: AdvPoint,
        pub closed: bool,
    }

    #[derive(pyo2::Record, Debug)]
    pub struct AdvPerson {
        pub name: String,
        pub age: u8,
        pub tags: Vec<String>,
    }

    #[pyo2::export]
    fn adv_rec_ref(p: &AdvPoint) -> f64 {
        p.x + p.y
    }

    #[pyo2::export]
    fn adv_rec_mut(p: &mut AdvPoint) {
        p.x += 1.0;
    }

    #[pyo2::export]
    fn adv_rec_value(p: AdvPoint) -> f64 {
        p.x * p.y
    }

    #[pyo2::export]
    fn adv_rec_slice(points: &[AdvPoint]) -> f64 {
        points.iter().map(|p| p.x).sum()
    }

    #[pyo2::export]
    fn adv_rec_mut_slice(points: &mut [AdvPoint]) -> usize {
        points.iter_mut().for_each(|p| p.y = -p.y);
        points.len()
    }

    #[pyo2::export]
    fn adv_rec_closed(segments: &[AdvSegment]) -> usize {
        segments.iter().filter(|s| s.closed).count()
    }

    #[pyo2::export]
    fn adv_rec_tags(people: &[AdvPerson]) -> usize {
        people.iter().map(|p| p.tags.len()).sum()
    }

    #[pyo2::export]
    fn adv_rec_person(p: AdvPerson) -> AdvPerson {
        p
    }

    #[pyo2::export]
    fn adv_rec_maybe(p: Option<AdvPerson>) -> usize {
        p.map_or(usize::MAX, |p| p.name.len())
    }

    #[pyo2::export]
    fn adv_rec_vec(points: Vec<AdvPoint>) -> usize {
        points.len()
    }

    extern "C" {
        #[link_name = "adv_rec_ref"]
        fn c_ref(p: *const AdvPoint, slot: *mut Slot) -> i32;
        #[link_name = "adv_rec_mut"]
        fn c_mut(p: *mut AdvPoint, slot: *mut Slot) -> i32;
        #[link_name = "adv_rec_value"]
        fn c_value(p: *const AdvPoint, slot: *mut Slot) -> i32;
        #[link_name = "adv_rec_slice"]
        fn c_slice(points: *const PyVec<AdvPoint>, slot: *mut Slot) -> i32;
        #[link_name = "adv_rec_mut_slice"]
        fn c_mut_slice(points: *mut PyVec<AdvPoint>, slot: *mut Slot) -> i32;
        #[link_name = "adv_rec_closed"]
        fn c_closed(segments: *const PyVec<AdvSegment>, slot: *mut Slot) -> i32;
        #[link_name = "adv_rec_tags"]
        fn c_tags(people: *const PyVec<PersonIn>, slot: *mut Slot) -> i32;
        #[link_name = "adv_rec_person"]
        fn c_person(p: *const PersonIn, slot: *mut Slot) -> i32;
        #[link_name = "adv_rec_maybe"]
        fn c_maybe(p: *const PersonIn, slot: *mut Slot) -> i32;
        #[link_name = "adv_rec_vec"]
        fn c_vec(points: *const PyVec<AdvPoint>, slot: *mut Slot) -> i32;
    }

    /// A C call that takes one (null) record argument and a slot.
    type Call = fn(&mut Slot) -> i32;

    #[test]
    fn null_for_every_record_parameter_kind_is_bad_arg_naming_it() {
        let calls: [(&str, Call); 9] = [
            ("p", |s| {
                // SAFETY: a null record pointer, which the wrapper checks
                // before any use; `s` is a valid slot.
                unsafe { c_ref(ptr::null(), s) }
            }),
            ("p", |s| {
                // SAFETY: as above (`&mut AdvPoint`).
                unsafe { c_mut(ptr::null_mut(), s) }
            }),
            ("p", |s| {
                // SAFETY: as above (a plain record by value).
                unsafe { c_value(ptr::null(), s) }
            }),
            ("points", |s| {
                // SAFETY: as above (`&[AdvPoint]`: a null header pointer).
                unsafe { c_slice(ptr::null(), s) }
            }),
            ("points", |s| {
                // SAFETY: as above (`&mut [AdvPoint]`).
                unsafe { c_mut_slice(ptr::null_mut(), s) }
            }),
            ("segments", |s| {
                // SAFETY: as above (nested plain records).
                unsafe { c_closed(ptr::null(), s) }
            }),
            ("people", |s| {
                // SAFETY: as above (`&[AdvPerson]`, owned records).
                unsafe { c_tags(ptr::null(), s) }
            }),
            ("p", |s| {
                // SAFETY: as above (an owned record by value).
                unsafe { c_person(ptr::null(), s) }
            }),
            ("points", |s| {
                // SAFETY: as above (`Vec<AdvPoint>`).
                unsafe { c_vec(ptr::null(), s) }
            }),
        ];
        let mut slot = Slot::new();
        for (name, call) in calls {
            assert_eq!(call(&mut slot), status::BAD_ARG, "{name}");
            assert_eq!(
                take_string(&mut slot),
                format!("parameter `{name}`: null pointer")
            );
        }
        // SAFETY: `Option<AdvPerson>`: null is None; a valid slot.
        assert_eq!(unsafe { c_maybe(ptr::null(), &mut slot) }, status::OK);
        // SAFETY: OK from a function returning usize.
        assert_eq!(unsafe { slot.take::<usize>() }, usize::MAX);
    }

    #[test]
    fn null_and_dangling_record_views_are_empty() {
        let mut slot = Slot::new();
        let null_points = null_view::<AdvPoint>(5);
        // SAFETY: a `{NULL, 5}` header (empty, as every view treats it); a valid slot.
        assert_eq!(unsafe { c_slice(&null_points, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning f64.
        assert_eq!(unsafe { slot.take::<f64>() }, 0.0);
        let mut null_mut = null_view::<AdvPoint>(usize::MAX);
        // SAFETY: as above, `&mut`, with a length no allocation could have.
        assert_eq!(unsafe { c_mut_slice(&mut null_mut, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning usize.
        assert_eq!(unsafe { slot.take::<usize>() }, 0);
        let null_people = null_view::<PersonIn>(3);
        // SAFETY: as above, owned records (copied: nothing is read).
        assert_eq!(unsafe { c_tags(&null_people, &mut slot) }, status::OK);
        // SAFETY: as above.
        assert_eq!(unsafe { slot.take::<usize>() }, 0);
        let null_vec = null_view::<AdvPoint>(usize::MAX);
        // SAFETY: as above, `Vec<AdvPoint>` (a copy sized by the view, not by `len`).
        assert_eq!(unsafe { c_vec(&null_vec, &mut slot) }, status::OK);
        // SAFETY: as above.
        assert_eq!(unsafe { slot.take::<usize>() }, 0);
        let dangling = dangling_view::<AdvSegment>(0);
        // SAFETY: an aligned dangling pointer with length 0; a valid slot.
        assert_eq!(unsafe { c_closed(&dangling, &mut slot) }, status::OK);
        // SAFETY: as above.
        assert_eq!(unsafe { slot.take::<usize>() }, 0);
    }

    #[test]
    fn plain_records_are_read_and_written_in_place() {
        let mut slot = Slot::new();
        let mut p = AdvPoint { x: 1.5, y: 2.0 };
        // SAFETY: a valid, aligned record; a valid slot.
        assert_eq!(unsafe { c_mut(&mut p, &mut slot) }, status::OK);
        assert_eq!(p, AdvPoint { x: 2.5, y: 2.0 });
        // SAFETY: as above.
        assert_eq!(unsafe { c_value(&p, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning f64.
        assert_eq!(unsafe { slot.take::<f64>() }, 5.0);
        let mut points = [p.clone(), AdvPoint { x: -1.0, y: 4.0 }];
        let mut v = view(&mut points);
        // SAFETY: a valid header over live records; a valid slot.
        assert_eq!(unsafe { c_mut_slice(&mut v, &mut slot) }, status::OK);
        // SAFETY: as above.
        assert_eq!(unsafe { slot.take::<usize>() }, 2);
        assert_eq!((points[0].y, points[1].y), (-2.0, -4.0));
        let seg = |closed| AdvSegment {
            a: AdvPoint { x: 0.0, y: 0.0 },
            b: AdvPoint { x: 1.0, y: 1.0 },
            closed,
        };
        let mut segments = [seg(true), seg(false), seg(true)];
        let v = view(&mut segments);
        // SAFETY: as above (every `bool` 0 or 1, as Python guarantees).
        assert_eq!(unsafe { c_closed(&v, &mut slot) }, status::OK);
        // SAFETY: as above.
        assert_eq!(unsafe { slot.take::<usize>() }, 2);
    }

    #[test]
    fn invalid_utf8_in_an_owned_record_is_bad_arg_naming_the_field() {
        let mut slot = Slot::new();
        let (mut good, mut bad, mut tag) = (*b"ann", *b"b\xffo", *b"t");
        let mut tags = [view(&mut tag)];
        let mut people = [
            person_in(&mut good, 30, &mut tags),
            person_in(&mut bad, 40, &mut []),
        ];
        let v = view(&mut people);
        // SAFETY: valid mirrors (one name not UTF-8, which is checked); a valid slot.
        assert_eq!(unsafe { c_tags(&v, &mut slot) }, status::BAD_ARG);
        assert_eq!(
            take_string(&mut slot),
            "parameter `people`: item [1]: field `name`: PyStr is not valid UTF-8: \
             invalid utf-8 sequence of 1 bytes from index 1"
        );
        let (mut name, mut t1, mut t2) = (*b"cy", *b"ok", *b"\xc3");
        let mut tags = [view(&mut t1), view(&mut t2)];
        let p = person_in(&mut name, 1, &mut tags);
        // SAFETY: as above, a bad tag in a record by value.
        assert_eq!(unsafe { c_person(&p, &mut slot) }, status::BAD_ARG);
        assert_eq!(
            take_string(&mut slot),
            "parameter `p`: field `tags`: item [1]: PyStr is not valid UTF-8: \
             incomplete utf-8 byte sequence from index 0"
        );
        // SAFETY: as above, through `Option<AdvPerson>`.
        assert_eq!(unsafe { c_maybe(&p, &mut slot) }, status::BAD_ARG);
        assert!(take_string(&mut slot).starts_with("parameter `p`: field `tags`: item [1]"));
    }

    #[test]
    fn null_headers_inside_an_owned_record_are_empty_and_freed_once() {
        let mut slot = Slot::new();
        // A `{NULL, 7}` name and a `{NULL, usize::MAX}` list of tags: empty,
        // whatever the lengths say; one tag `{NULL, 3}`: the empty string.
        let p = PersonIn {
            name: null_view(7),
            age: 9,
            tags: null_view(usize::MAX),
        };
        // SAFETY: headers a buggy caller sends (null pointers); a valid slot.
        assert_eq!(unsafe { c_person(&p, &mut slot) }, status::OK);
        // SAFETY: OK from a function returning a record: one Out mirror.
        let buf = unsafe { slot.take::<OwnedBuf>() };
        // SAFETY: a buffer of AdvPerson's Out mirror.
        let out = &unsafe { buf.as_slice::<PersonOut>() }[0];
        assert_eq!(
            (buf_text(&out.name), out.age, out.tags.len()),
            (String::new(), 9, 0)
        );
        drop(buf);
        let mut tags = [null_view::<u8>(3)];
        let mut name = *b"dee";
        let p = person_in(&mut name, 2, &mut tags);
        // SAFETY: as above.
        assert_eq!(unsafe { c_person(&p, &mut slot) }, status::OK);
        // SAFETY: as above.
        let buf = unsafe { slot.take::<OwnedBuf>() };
        // SAFETY: as above.
        let out = &unsafe { buf.as_slice::<PersonOut>() }[0];
        // SAFETY: `Out(Vec<String>)`: an `OwnedBuf` of `OwnedBuf`s.
        let tags = unsafe { out.tags.as_slice::<OwnedBuf>() };
        assert_eq!(
            (
                buf_text(&out.name),
                tags.iter().map(buf_text).collect::<Vec<_>>()
            ),
            ("dee".to_owned(), vec![String::new()])
        );
        // Dropped once, by the outermost buffer: Miri reports a double free
        // or a leak of any inner one.
        drop(buf);
    }
}
