//! `#[pyo2::export]` end to end inside Rust: the generated C symbols are
//! called through an `extern "C"` block, the way Python calls them, so that
//! the wrapper's unsafe code runs under Miri too. Also: lifetimes set to the
//! call's, panic payloads whose destructor panics, and a plain
//! `#[no_mangle] extern "C"` function that gets only a descriptor.

use core::ffi::{c_char, CStr};
use pyo2::abi::{status, OwnedBuf, Slot};
use pyo2::{PyStr, PyVec};

type Bytes<'a> = &'a PyStr;
use pyo2::PyVec as List;

/// Parses a number.
///
/// Second line.
#[pyo2::export]
fn parse_u8(text: &str) -> Result<u8, std::num::ParseIntError> {
    text.parse()
}

#[pyo2::export]
fn aliased(_raw: Bytes<'_>, lists: &mut List<&mut List<u16>>) -> Vec<u16> {
    lists.iter_mut().map(|l| l.iter().sum()).collect()
}

#[pyo2::export]
fn first_word(s: &str) -> Option<String> {
    s.split_whitespace().next().map(str::to_owned)
}

#[pyo2::export]
fn boom(n: i32) -> i32 {
    if n > 0 {
        panic!("boom {n}");
    }
    n
}

#[pyo2::export]
fn fill(v: &mut [i64], x: i64) {
    v.fill(x);
}

/// Every lifetime, named or elided, with bounds between them: the wrapper
/// sets them all to the one lifetime of the call.
#[pyo2::export]
fn lifetimes<'a, 'b: 'a>(rows: &'a mut PyVec<&'b mut PyVec<u8>>, words: &[&'b PyStr]) -> usize {
    rows.iter_mut().for_each(|r| r.fill(1));
    rows.len() + words.iter().map(|w| w.len()).sum::<usize>()
}

/// A panic payload whose destructor panics with a `Quiet` payload. Payloads
/// that are leaked are zero-sized, so they own no memory for Miri to report.
struct Bomb;
struct Quiet;

impl Drop for Bomb {
    fn drop(&mut self) {
        std::panic::panic_any(Quiet);
    }
}

/// A panic payload whose destructor panics with another, without end.
struct Forever;

impl Drop for Forever {
    fn drop(&mut self) {
        std::panic::panic_any(Forever);
    }
}

#[pyo2::export]
fn panics_with(forever: bool) -> u8 {
    if forever {
        std::panic::panic_any(Forever)
    }
    std::panic::panic_any(Bomb)
}

/// Multiplies every element by `k`; returns the new sum.
#[pyo2::export]
#[no_mangle]
pub extern "C" fn plain_scale(v: &mut PyVec<f64>, k: f64) -> f64 {
    v.iter_mut().for_each(|x| *x *= k);
    v.iter().sum()
}

type Words<'a> = &'a PyVec<&'a PyStr>;

#[pyo2::export]
#[unsafe(export_name = "plain_renamed")]
extern "C" fn plain_count(words: Words<'_>) {
    let _ = words.len();
}

extern "C" {
    #[link_name = "parse_u8"]
    fn c_parse_u8(text: *const PyStr, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_sig__parse_u8"]
    fn c_parse_u8_sig() -> *const c_char;
    #[link_name = "aliased"]
    fn c_aliased(raw: *const PyStr, lists: *mut PyVec<*mut PyVec<u16>>, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_sig__aliased"]
    fn c_aliased_sig() -> *const c_char;
    #[link_name = "first_word"]
    fn c_first_word(s: *const PyStr, slot: *mut Slot) -> i32;
    #[link_name = "boom"]
    fn c_boom(n: i32, slot: *mut Slot) -> i32;
    #[link_name = "fill"]
    fn c_fill(v: *mut PyVec<i64>, x: i64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_sig__fill"]
    fn c_fill_sig() -> *const c_char;
    #[link_name = "lifetimes"]
    fn c_lifetimes(
        rows: *mut PyVec<*mut PyVec<u8>>,
        words: *const PyVec<*const PyStr>,
        slot: *mut Slot,
    ) -> i32;
    #[link_name = "__pyo2_sig__lifetimes"]
    fn c_lifetimes_sig() -> *const c_char;
    #[link_name = "panics_with"]
    fn c_panics_with(forever: bool, slot: *mut Slot) -> i32;
    #[link_name = "plain_scale"]
    fn c_plain_scale(v: *mut PyVec<f64>, k: f64) -> f64;
    #[link_name = "__pyo2_sig__plain_scale"]
    fn c_plain_scale_sig() -> *const c_char;
    #[link_name = "__pyo2_sig__plain_renamed"]
    fn c_plain_renamed_sig() -> *const c_char;
}

fn text(p: *const c_char) -> &'static str {
    // SAFETY: descriptors are NUL-terminated and live as long as the program.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

/// The message or String a call left in `slot` (which it then frees).
fn string(slot: &mut Slot) -> String {
    // SAFETY: every slot these tests read this way holds an OwnedBuf made
    // from a String, not taken yet.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a String's buffer holds bytes.
    String::from_utf8(unsafe { buf.as_slice::<u8>() }.to_vec()).unwrap()
}

fn view(bytes: &mut [u8]) -> PyStr {
    // SAFETY: the caller keeps `bytes` alive and unused while the view is used.
    unsafe { PyStr::from_raw_parts(bytes.as_mut_ptr(), bytes.len()) }
}

#[test]
fn descriptors_spell_the_real_types() {
    // SAFETY: descriptor functions take nothing and return static text.
    let (a, b, c) = unsafe { (c_parse_u8_sig(), c_aliased_sig(), c_fill_sig()) };
    assert_eq!(
        text(a),
        "pyo2 1\nfn parse_u8(text: &str) -> Result<u8, ParseIntError>\nParses a number.\n\nSecond line."
    );
    assert_eq!(
        text(b),
        "pyo2 1\nfn aliased(_raw: &PyStr, lists: &mut PyVec<&mut PyVec<u16>>) -> Vec<u16>"
    );
    assert_eq!(text(c), "pyo2 1\nfn fill(v: &mut [i64], x: i64)");
}

#[test]
fn ok_err_and_bad_utf8() {
    let mut slot = Slot::new();
    let mut good = *b"200";
    let v = view(&mut good);
    // SAFETY: a valid header, a valid slot.
    let code = unsafe { c_parse_u8(&v, &mut slot) };
    assert_eq!(code, status::OK);
    // SAFETY: OK from a function returning Result<u8, _>.
    assert_eq!(unsafe { slot.take::<u8>() }, 200);
    let mut big = *b"256";
    let v = view(&mut big);
    // SAFETY: as above.
    let code = unsafe { c_parse_u8(&v, &mut slot) };
    assert_eq!(code, status::ERR);
    assert_eq!(string(&mut slot), "number too large to fit in target type");
    let mut bad = *b"2\xff";
    let v = view(&mut bad);
    // SAFETY: as above.
    let code = unsafe { c_parse_u8(&v, &mut slot) };
    assert_eq!(code, status::BAD_ARG);
    let message = string(&mut slot);
    assert!(
        message.starts_with("parameter `text`: PyStr is not valid UTF-8"),
        "{message}"
    );
    // SAFETY: null is refused before any use.
    let code = unsafe { c_parse_u8(core::ptr::null(), &mut slot) };
    assert_eq!(code, status::BAD_ARG);
    assert_eq!(string(&mut slot), "parameter `text`: null pointer");
}

#[test]
fn nested_views_and_owned_vec() {
    let (mut a, mut b) = ([1_u16, 2, 3], [10_u16]);
    // SAFETY: live local arrays, each used only through its view.
    let (mut va, mut vb) = unsafe {
        (
            PyVec::from_raw_parts(a.as_mut_ptr(), 3),
            PyVec::from_raw_parts(b.as_mut_ptr(), 1),
        )
    };
    let mut ptrs = [&mut va as *mut PyVec<u16>, &mut vb as *mut PyVec<u16>];
    // SAFETY: a live local array of two header pointers.
    let mut outer = unsafe { PyVec::from_raw_parts(ptrs.as_mut_ptr(), 2) };
    let mut raw = *b"";
    let r = view(&mut raw);
    let mut slot = Slot::new();
    // SAFETY: valid headers all the way down, a valid slot.
    let code = unsafe { c_aliased(&r, &mut outer, &mut slot) };
    assert_eq!(code, status::OK);
    // SAFETY: OK from a function returning Vec<u16>.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: the buffer holds a Vec<u16>.
    assert_eq!(unsafe { buf.as_slice::<u16>() }, &[6, 10]);
}

#[test]
fn option_none_and_some() {
    let mut slot = Slot::new();
    let mut blank = *b"   ";
    let v = view(&mut blank);
    // SAFETY: a valid header, a valid slot.
    let code = unsafe { c_first_word(&v, &mut slot) };
    assert_eq!(code, status::NONE);
    let mut words = *b"  hello world";
    let v = view(&mut words);
    // SAFETY: as above.
    let code = unsafe { c_first_word(&v, &mut slot) };
    assert_eq!(code, status::OK);
    assert_eq!(string(&mut slot), "hello");
}

#[test]
fn panics_become_a_status_and_the_next_call_works() {
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let code = unsafe { c_boom(3, &mut slot) };
    assert_eq!(code, status::PANIC);
    // The message, then its location (see `pyo2::abi`).
    let line = include_str!("export.rs")
        .lines()
        .position(|l| l.contains("panic!(\"boom {n}\")"))
        .unwrap()
        + 1;
    let at = format!("\0pyo2-location\0{}\0{line}\09", file!());
    assert_eq!(string(&mut slot), format!("boom 3{at}"));
    // SAFETY: a valid slot.
    let code = unsafe { c_boom(-1, &mut slot) };
    assert_eq!(code, status::OK);
    // SAFETY: OK from a function returning i32.
    assert_eq!(unsafe { slot.take::<i32>() }, -1);
}

#[test]
fn unit_return_writes_through_slices() {
    let mut data = [1_i64, 2, 3];
    // SAFETY: a live local array used only through the view.
    let mut v = unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), 3) };
    let mut slot = Slot::new();
    // SAFETY: a valid exclusive header, a valid slot.
    let code = unsafe { c_fill(&mut v, 7, &mut slot) };
    assert_eq!(code, status::OK);
    assert_eq!(data, [7, 7, 7]);
}

#[test]
fn the_rust_functions_stay_callable() {
    assert_eq!(parse_u8("7"), Ok(7));
    assert_eq!(first_word(" a b"), Some("a".to_owned()));
}

#[test]
fn every_lifetime_is_the_calls() {
    // SAFETY: descriptor functions take nothing and return static text.
    let sig = unsafe { c_lifetimes_sig() };
    assert_eq!(
        text(sig),
        "pyo2 1\nfn lifetimes(rows: &mut PyVec<&mut PyVec<u8>>, words: &[&PyStr]) -> usize\n\
         Every lifetime, named or elided, with bounds between them: the wrapper\n\
         sets them all to the one lifetime of the call."
    );
    let mut row = [0_u8; 2];
    // SAFETY: a live local array used only through the view.
    let mut row_view = unsafe { PyVec::from_raw_parts(row.as_mut_ptr(), 2) };
    let mut rows = [&mut row_view as *mut PyVec<u8>];
    // SAFETY: a live local array of one header pointer.
    let mut outer = unsafe { PyVec::from_raw_parts(rows.as_mut_ptr(), 1) };
    let mut word = *b"abc";
    let w = view(&mut word);
    let mut words = [&w as *const PyStr];
    // SAFETY: a live local array of one header pointer, only read.
    let words_view = unsafe { PyVec::from_raw_parts(words.as_mut_ptr(), 1) };
    let mut slot = Slot::new();
    // SAFETY: valid headers all the way down, a valid slot.
    let code = unsafe { c_lifetimes(&mut outer, &words_view, &mut slot) };
    assert_eq!(code, status::OK);
    // SAFETY: OK from a function returning usize.
    assert_eq!(unsafe { slot.take::<usize>() }, 4);
    assert_eq!(row, [1, 1]);
}

#[test]
fn a_payload_whose_destructor_panics_is_contained_at_the_boundary() {
    let mut slot = Slot::new();
    for forever in [false, true, false, true] {
        // SAFETY: a valid slot.
        let code = unsafe { c_panics_with(forever, &mut slot) };
        assert_eq!(code, status::PANIC);
        let text = string(&mut slot);
        assert_eq!(
            text.split('\0').next(),
            Some("Box<dyn Any> (a panic payload that is not a string)")
        );
    }
    let mut nine = *b"9";
    let v = view(&mut nine);
    // SAFETY: a valid header, a valid slot.
    let code = unsafe { c_parse_u8(&v, &mut slot) };
    assert_eq!(code, status::OK);
    // SAFETY: OK from a function returning Result<u8, _>.
    assert_eq!(unsafe { slot.take::<u8>() }, 9);
}

#[test]
fn an_extern_fn_keeps_its_abi_and_gets_a_descriptor() {
    // SAFETY: descriptor functions take nothing and return static text.
    let (a, b) = unsafe { (c_plain_scale_sig(), c_plain_renamed_sig()) };
    assert_eq!(
        text(a),
        "pyo2 1\n#[no_mangle] extern \"C\" fn plain_scale(v: &mut PyVec<f64>, k: f64) -> f64\n\
         Multiplies every element by `k`; returns the new sum."
    );
    assert_eq!(
        text(b),
        "pyo2 1\n#[no_mangle] extern \"C\" fn plain_renamed(words: &PyVec<&PyStr>)"
    );
    let mut data = [1.0, 2.0];
    // SAFETY: a live local array used only through the view.
    let mut v = unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), 2) };
    // SAFETY: the function's own C signature, a valid exclusive header.
    assert_eq!(unsafe { c_plain_scale(&mut v, 3.0) }, 9.0);
    assert_eq!(data, [3.0, 6.0]);
    // Rust code calls it as before.
    let mut data = [1.0];
    // SAFETY: as above.
    let mut v = unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), 1) };
    assert_eq!(plain_scale(&mut v, 2.0), 2.0);
    // SAFETY: a null pointer with length 0 is a valid empty view.
    let empty = unsafe { PyVec::<&PyStr>::from_raw_parts(core::ptr::null_mut(), 0) };
    plain_count(&empty);
}
