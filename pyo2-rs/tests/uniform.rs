//! The uniform entry points `__pyo2_call__NAME(args, nargs, slot)` (see
//! `pyo2::abi`, "The uniform entry point"), called through an `extern "C"`
//! block the way the compiled accelerator calls them, each compared with
//! the typed symbol called with the same arguments: same status, same slot
//! contents. Miri checks the reads of the 8-byte argument slots (strict
//! provenance: pointers keep theirs through a slot).

use core::ptr;
use pyo2::abi::{status, ArgSlot, OwnedBuf, Slot};
use pyo2::{PyStr, PyVec};

#[pyo2::export]
fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// Narrow scalars: each is read from the first bytes of its slot.
#[pyo2::export]
fn mix(a: u8, b: f32, c: bool, d: i16, e: u64) -> f64 {
    f64::from(a) + f64::from(b) + if c { 1000.0 } else { 0.0 } + f64::from(d) + e as f64
}

#[pyo2::export]
fn answer() -> u8 {
    42
}

#[pyo2::export]
fn parse(text: &str) -> Result<u8, std::num::ParseIntError> {
    text.parse()
}

#[pyo2::export]
fn total(v: &[i64]) -> i64 {
    v.iter().sum()
}

#[pyo2::export]
fn double(v: &mut [i64]) {
    v.iter_mut().for_each(|x| *x *= 2);
}

#[pyo2::export]
fn greet(name: &str, times: u8) -> String {
    format!("hello {name}").repeat(times.into())
}

#[pyo2::export]
fn upto(n: u32) -> Vec<u32> {
    (0..n).collect()
}

#[pyo2::export]
fn half(n: i32) -> Option<i32> {
    (n % 2 == 0).then_some(n / 2)
}

#[pyo2::export]
fn boom(n: i32) -> i32 {
    if n > 0 {
        panic!("boom {n}");
    }
    n
}

#[derive(pyo2::Record, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[pyo2::export]
fn norm1(p: &Point) -> f64 {
    p.x.abs() + p.y.abs()
}

#[pyo2::export]
fn scale(p: &mut Point, k: f64) {
    p.x *= k;
    p.y *= k;
}

#[pyo2::export]
fn flip(p: Point) -> Point {
    Point { x: p.y, y: p.x }
}

#[pyo2::class]
pub struct Counter {
    n: u64,
}

#[pyo2::methods]
impl Counter {
    #[new]
    fn new(start: u64) -> Self {
        Counter { n: start }
    }

    fn bump(&mut self, by: u64) -> u64 {
        self.n += by;
        self.n
    }

    #[getter]
    fn value(&self) -> u64 {
        self.n
    }

    fn twice(k: u8) -> u16 {
        u16::from(k) * 2
    }
}

type Uniform = unsafe extern "C" fn(*const ArgSlot, usize, *mut Slot) -> i32;

extern "C" {
    #[link_name = "add"]
    fn t_add(a: i64, b: i64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__add"]
    fn u_add(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "mix"]
    fn t_mix(a: u8, b: f32, c: bool, d: i16, e: u64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__mix"]
    fn u_mix(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "answer"]
    fn t_answer(slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__answer"]
    fn u_answer(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "parse"]
    fn t_parse(text: *const PyStr, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__parse"]
    fn u_parse(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "total"]
    fn t_total(v: *const PyVec<i64>, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__total"]
    fn u_total(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "double"]
    fn t_double(v: *mut PyVec<i64>, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__double"]
    fn u_double(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "greet"]
    fn t_greet(name: *const PyStr, times: u8, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__greet"]
    fn u_greet(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "upto"]
    fn t_upto(n: u32, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__upto"]
    fn u_upto(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "half"]
    fn t_half(n: i32, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__half"]
    fn u_half(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "boom"]
    fn t_boom(n: i32, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__boom"]
    fn u_boom(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "norm1"]
    fn t_norm1(p: *const Point, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__norm1"]
    fn u_norm1(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "scale"]
    fn t_scale(p: *mut Point, k: f64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__scale"]
    fn u_scale(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "flip"]
    fn t_flip(p: *const Point, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__flip"]
    fn u_flip(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Counter__new"]
    fn counter_new(start: u64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call____pyo2_m__Counter__new"]
    fn u_counter_new(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Counter__bump"]
    fn counter_bump(handle: u64, by: u64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call____pyo2_m__Counter__bump"]
    fn u_counter_bump(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call____pyo2_m__Counter__value"]
    fn u_counter_value(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Counter__twice"]
    fn counter_twice(k: u8, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call____pyo2_m__Counter__twice"]
    fn u_counter_twice(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_close__Counter"]
    fn counter_close(handle: u64, slot: *mut Slot) -> i32;
}

/// How a call ended, with what its slot holds read out (and freed).
#[derive(Debug, PartialEq)]
enum Outcome<T> {
    Value(T),
    None,
    /// A status with a message (`ERR`, `PANIC`, `BAD_ARG`, …).
    Message(i32, String),
}

/// Reads the slot after a call that returned `code`; `value` reads an
/// `OK` value (and frees what it owns).
fn outcome<T>(code: i32, slot: &mut Slot, value: impl FnOnce(&mut Slot) -> T) -> Outcome<T> {
    match code {
        status::OK => Outcome::Value(value(slot)),
        status::NONE => Outcome::None,
        code => Outcome::Message(code, bytes_string(slot)),
    }
}

/// The `String` an `OwnedBuf` in the slot holds (a message or a returned
/// `String`), freed.
fn bytes_string(slot: &mut Slot) -> String {
    // SAFETY: the slot holds an OwnedBuf of bytes, not taken yet (every
    // caller reads a message or a String return this way, once).
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a String's (or a message's) buffer holds bytes.
    String::from_utf8(unsafe { buf.as_slice::<u8>() }.to_vec()).unwrap()
}

/// A scalar `T` from the slot.
fn scalar<T: Copy>(slot: &mut Slot) -> T {
    // SAFETY: every caller reads an OK value of the function's scalar return type.
    unsafe { slot.take::<T>() }
}

/// The elements of a returned `Vec<T>`, freed.
fn elements<T: Copy>(slot: &mut Slot) -> Vec<T> {
    // SAFETY: the slot holds the OwnedBuf of an OK `Vec<T>` return.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: its elements are `T`s.
    unsafe { buf.as_slice::<T>() }.to_vec()
}

/// Calls a uniform entry point with `args`.
fn call(f: Uniform, args: &[ArgSlot], slot: &mut Slot) -> i32 {
    // SAFETY: `args` is a live array of `args.len()` slots and `slot` a
    // valid slot; every caller stores in each slot the C value the
    // function's typed symbol takes for that parameter.
    unsafe { f(args.as_ptr(), args.len(), slot) }
}

fn header(bytes: &mut [u8]) -> PyStr {
    // SAFETY: the caller keeps `bytes` alive and unused while the view is used.
    unsafe { PyStr::from_raw_parts(bytes.as_mut_ptr(), bytes.len()) }
}

fn list(v: &mut [i64]) -> PyVec<i64> {
    // SAFETY: the caller keeps `v` alive and unused while the view is used.
    unsafe { PyVec::from_raw_parts(v.as_mut_ptr(), v.len()) }
}

#[test]
fn scalars_in_their_native_representation() {
    let mut slot = Slot::new();
    for (a, b) in [(2_i64, 40_i64), (i64::MAX, 1), (-7, 0)] {
        // SAFETY: scalars and a valid slot.
        let typed = outcome(unsafe { t_add(a, b, &mut slot) }, &mut slot, scalar::<i64>);
        let uniform = outcome(
            call(u_add, &[ArgSlot::new(a), ArgSlot::new(b)], &mut slot),
            &mut slot,
            scalar::<i64>,
        );
        assert_eq!(uniform, Outcome::Value(a.wrapping_add(b)));
        assert_eq!(uniform, typed);
    }
    // A narrow scalar is read from the first bytes of its slot, whatever
    // the rest holds: 0xff in every other byte must not leak in.
    let dirty = |value: ArgSlot, size: usize| {
        // SAFETY: reading the 8 initialised bytes of a slot as a u64.
        let mut word = unsafe { value.u64 }.to_ne_bytes();
        word[size..].fill(0xff);
        ArgSlot::new(u64::from_ne_bytes(word))
    };
    let args = [
        dirty(ArgSlot::new(200_u8), 1),
        dirty(ArgSlot::new(1.5_f32), 4),
        dirty(ArgSlot::new(true), 1),
        dirty(ArgSlot::new(-300_i16), 2),
        ArgSlot::new(u64::MAX),
    ];
    let uniform = outcome(call(u_mix, &args, &mut slot), &mut slot, scalar::<f64>);
    // SAFETY: scalars and a valid slot.
    let typed = unsafe { t_mix(200, 1.5, true, -300, u64::MAX, &mut slot) };
    let typed = outcome(typed, &mut slot, scalar::<f64>);
    assert_eq!(
        uniform,
        Outcome::Value(200.0 + 1.5 + 1000.0 - 300.0 + u64::MAX as f64)
    );
    assert_eq!(uniform, typed);
    // No parameters: any nargs but 0 is refused; null args is fine.
    // SAFETY: null args with nargs 0, a valid slot.
    let code = unsafe { u_answer(ptr::null(), 0, &mut slot) };
    assert_eq!(outcome(code, &mut slot, scalar::<u8>), Outcome::Value(42));
    // SAFETY: a valid slot.
    let typed = outcome(unsafe { t_answer(&mut slot) }, &mut slot, scalar::<u8>);
    assert_eq!(typed, Outcome::Value(42));
}

#[test]
fn strings_lists_and_owned_returns() {
    let mut slot = Slot::new();
    for text in ["200", "256", "2\u{e9}", ""] {
        let mut bytes = text.as_bytes().to_vec();
        let h = header(&mut bytes);
        let ptr: *const PyStr = &h;
        let uniform = outcome(
            call(u_parse, &[ArgSlot::new(ptr)], &mut slot),
            &mut slot,
            scalar::<u8>,
        );
        // SAFETY: a valid header, a valid slot.
        let typed = outcome(unsafe { t_parse(ptr, &mut slot) }, &mut slot, scalar::<u8>);
        assert_eq!(uniform, typed, "{text:?}");
    }
    let mut bytes = b"2\xff".to_vec();
    let h = header(&mut bytes);
    let uniform = outcome(
        call(u_parse, &[ArgSlot::new(&h as *const PyStr)], &mut slot),
        &mut slot,
        scalar::<u8>,
    );
    let Outcome::Message(status::BAD_ARG, message) = &uniform else {
        panic!("{uniform:?}")
    };
    assert!(
        message.starts_with("parameter `text`: PyStr is not valid UTF-8"),
        "{message}"
    );
    // SAFETY: a valid header, a valid slot.
    let typed = outcome(unsafe { t_parse(&h, &mut slot) }, &mut slot, scalar::<u8>);
    assert_eq!(uniform, typed);
    // A null header is the typed symbol's BAD_ARG too.
    let null = ArgSlot::new(ptr::null::<PyStr>());
    let uniform = outcome(call(u_parse, &[null], &mut slot), &mut slot, scalar::<u8>);
    assert_eq!(
        uniform,
        Outcome::Message(status::BAD_ARG, "parameter `text`: null pointer".into())
    );

    // &[T] and &mut [T].
    let mut data = [1_i64, 2, 3, 4];
    let v = list(&mut data);
    let uniform = outcome(
        call(u_total, &[ArgSlot::new(&v as *const PyVec<i64>)], &mut slot),
        &mut slot,
        scalar::<i64>,
    );
    // SAFETY: a valid header, a valid slot.
    let typed = outcome(unsafe { t_total(&v, &mut slot) }, &mut slot, scalar::<i64>);
    assert_eq!(uniform, Outcome::Value(10));
    assert_eq!(uniform, typed);
    let mut v = list(&mut data);
    let p: *mut PyVec<i64> = &mut v;
    let code = call(u_double, &[ArgSlot::new(p)], &mut slot);
    assert_eq!(outcome(code, &mut slot, |_| ()), Outcome::Value(()));
    // SAFETY: the same valid, exclusive header, a valid slot.
    let code = unsafe { t_double(p, &mut slot) };
    assert_eq!(outcome(code, &mut slot, |_| ()), Outcome::Value(()));
    assert_eq!(data, [4, 8, 12, 16]);

    // String and Vec<T> returns: an OwnedBuf each, freed by the reader.
    let mut name = b"rust".to_vec();
    let h = header(&mut name);
    let args = [ArgSlot::new(&h as *const PyStr), ArgSlot::new(2_u8)];
    let uniform = outcome(call(u_greet, &args, &mut slot), &mut slot, bytes_string);
    // SAFETY: a valid header, a valid slot.
    let typed = outcome(
        unsafe { t_greet(&h, 2, &mut slot) },
        &mut slot,
        bytes_string,
    );
    assert_eq!(uniform, Outcome::Value("hello rusthello rust".into()));
    assert_eq!(uniform, typed);
    for n in [0_u32, 5] {
        let uniform = outcome(
            call(u_upto, &[ArgSlot::new(n)], &mut slot),
            &mut slot,
            elements::<u32>,
        );
        // SAFETY: a scalar, a valid slot.
        let typed = outcome(unsafe { t_upto(n, &mut slot) }, &mut slot, elements::<u32>);
        assert_eq!(uniform, Outcome::Value((0..n).collect()));
        assert_eq!(uniform, typed);
    }
    for n in [4, 5] {
        let uniform = outcome(
            call(u_half, &[ArgSlot::new(n)], &mut slot),
            &mut slot,
            scalar::<i32>,
        );
        // SAFETY: a scalar, a valid slot.
        let typed = outcome(unsafe { t_half(n, &mut slot) }, &mut slot, scalar::<i32>);
        assert_eq!(uniform, typed);
    }
}

#[test]
fn a_panic_is_caught_with_the_same_message_and_location() {
    let mut slot = Slot::new();
    let uniform = outcome(
        call(u_boom, &[ArgSlot::new(3_i32)], &mut slot),
        &mut slot,
        scalar::<i32>,
    );
    // SAFETY: a scalar, a valid slot.
    let typed = outcome(unsafe { t_boom(3, &mut slot) }, &mut slot, scalar::<i32>);
    let Outcome::Message(status::PANIC, message) = &uniform else {
        panic!("{uniform:?}")
    };
    assert!(
        message.starts_with("boom 3\0pyo2-location\0"),
        "{message:?}"
    );
    assert_eq!(uniform, typed);
    // The next call works.
    let code = call(u_boom, &[ArgSlot::new(-1_i32)], &mut slot);
    assert_eq!(outcome(code, &mut slot, scalar::<i32>), Outcome::Value(-1));
}

#[test]
fn records_by_pointer() {
    let mut slot = Slot::new();
    let mut p = Point { x: -3.0, y: 4.0 };
    let uniform = outcome(
        call(u_norm1, &[ArgSlot::new(&p as *const Point)], &mut slot),
        &mut slot,
        scalar::<f64>,
    );
    // SAFETY: a valid record, a valid slot.
    let typed = outcome(unsafe { t_norm1(&p, &mut slot) }, &mut slot, scalar::<f64>);
    assert_eq!(uniform, Outcome::Value(7.0));
    assert_eq!(uniform, typed);
    let args = [ArgSlot::new(&mut p as *mut Point), ArgSlot::new(2.0_f64)];
    let code = call(u_scale, &args, &mut slot);
    assert_eq!(outcome(code, &mut slot, |_| ()), Outcome::Value(()));
    assert_eq!(p, Point { x: -6.0, y: 8.0 });
    // SAFETY: a valid, exclusive record, a valid slot.
    let code = unsafe { t_scale(&mut p, 0.5, &mut slot) };
    assert_eq!(outcome(code, &mut slot, |_| ()), Outcome::Value(()));
    assert_eq!(p, Point { x: -3.0, y: 4.0 });
    let args = [ArgSlot::new(&mut p as *mut Point), ArgSlot::new(-2.0_f64)];
    let code = call(u_scale, &args, &mut slot);
    assert_eq!(outcome(code, &mut slot, |_| ()), Outcome::Value(()));
    assert_eq!(p, Point { x: 6.0, y: -8.0 });
    // A record by value (copied from its pointer) and returned (an
    // OwnedBuf of one record).
    let read_point = |slot: &mut Slot| elements::<Point>(slot);
    let uniform = outcome(
        call(u_flip, &[ArgSlot::new(&p as *const Point)], &mut slot),
        &mut slot,
        read_point,
    );
    // SAFETY: a valid record, a valid slot.
    let typed = outcome(unsafe { t_flip(&p, &mut slot) }, &mut slot, read_point);
    assert_eq!(uniform, Outcome::Value(vec![Point { x: -8.0, y: 6.0 }]));
    assert_eq!(uniform, typed);
    let null = ArgSlot::new(ptr::null::<Point>());
    let uniform = outcome(call(u_flip, &[null], &mut slot), &mut slot, read_point);
    assert_eq!(
        uniform,
        Outcome::Message(status::BAD_ARG, "parameter `p`: null pointer".into())
    );
}

#[test]
fn wrong_nargs_and_null_args_are_refused() {
    let mut slot = Slot::new();
    let two = [ArgSlot::new(1_i64), ArgSlot::new(2_i64)];
    for n in [0, 1, 3] {
        // SAFETY: `two` is valid for 2 slots; the entry reads none when
        // `nargs` is wrong (Miri would flag a read past them).
        let code = unsafe { u_add(two.as_ptr(), n, &mut slot) };
        assert_eq!(
            outcome(code, &mut slot, scalar::<i64>),
            Outcome::Message(status::BAD_ARG, format!("expected 2 arguments, got {n}"))
        );
    }
    // SAFETY: null args; refused before any read.
    let code = unsafe { u_add(ptr::null(), 2, &mut slot) };
    assert_eq!(
        outcome(code, &mut slot, scalar::<i64>),
        Outcome::Message(status::BAD_ARG, "args is null but nargs is 2".into())
    );
    // SAFETY: null args, refused (nargs is wrong for a function without parameters).
    let code = unsafe { u_answer(ptr::null(), 1, &mut slot) };
    assert_eq!(
        outcome(code, &mut slot, scalar::<u8>),
        Outcome::Message(status::BAD_ARG, "expected 0 arguments, got 1".into())
    );
    // SAFETY: a valid slot; args is null with nargs 1, refused before any read.
    let code = unsafe { u_boom(ptr::null(), 1, &mut slot) };
    assert_eq!(
        outcome(code, &mut slot, scalar::<i32>),
        Outcome::Message(status::BAD_ARG, "args is null but nargs is 1".into())
    );
    // SAFETY: as above.
    let code = unsafe { u_boom(ptr::null(), 0, &mut slot) };
    assert_eq!(
        outcome(code, &mut slot, scalar::<i32>),
        Outcome::Message(status::BAD_ARG, "expected 1 argument, got 0".into())
    );
}

#[test]
fn methods_take_the_handle_first() {
    let mut slot = Slot::new();
    let code = call(u_counter_new, &[ArgSlot::new(10_u64)], &mut slot);
    let Outcome::Value(handle) = outcome(code, &mut slot, scalar::<u64>) else {
        panic!("new failed")
    };
    // SAFETY: a scalar, a valid slot.
    let code = unsafe { counter_new(20, &mut slot) };
    let Outcome::Value(other) = outcome(code, &mut slot, scalar::<u64>) else {
        panic!("new failed")
    };
    let args = [ArgSlot::new(handle), ArgSlot::new(5_u64)];
    let code = call(u_counter_bump, &args, &mut slot);
    assert_eq!(outcome(code, &mut slot, scalar::<u64>), Outcome::Value(15));
    // SAFETY: a handle of this library, a valid slot.
    let code = unsafe { counter_bump(other, 5, &mut slot) };
    assert_eq!(outcome(code, &mut slot, scalar::<u64>), Outcome::Value(25));
    let code = call(u_counter_value, &[ArgSlot::new(handle)], &mut slot);
    assert_eq!(outcome(code, &mut slot, scalar::<u64>), Outcome::Value(15));
    let code = call(u_counter_twice, &[ArgSlot::new(21_u8)], &mut slot);
    let uniform = outcome(code, &mut slot, scalar::<u16>);
    // SAFETY: a scalar, a valid slot.
    let typed = outcome(
        unsafe { counter_twice(21, &mut slot) },
        &mut slot,
        scalar::<u16>,
    );
    assert_eq!(uniform, Outcome::Value(42));
    assert_eq!(uniform, typed);
    // nargs counts the handle.
    let code = call(u_counter_bump, &args[..1], &mut slot);
    assert_eq!(
        outcome(code, &mut slot, scalar::<u64>),
        Outcome::Message(status::BAD_ARG, "expected 2 arguments, got 1".into())
    );
    // A forged handle is the typed symbol's BAD_ARG.
    let forged = [ArgSlot::new(12345_u64), ArgSlot::new(1_u64)];
    let uniform = outcome(
        call(u_counter_bump, &forged, &mut slot),
        &mut slot,
        scalar::<u64>,
    );
    // SAFETY: any u64 is a valid argument (it is checked), a valid slot.
    let typed = outcome(
        unsafe { counter_bump(12345, 1, &mut slot) },
        &mut slot,
        scalar::<u64>,
    );
    let Outcome::Message(status::BAD_ARG, message) = &uniform else {
        panic!("{uniform:?}")
    };
    assert!(message.starts_with("parameter `self`: "), "{message}");
    assert_eq!(uniform, typed);
    for h in [handle, other] {
        // SAFETY: a live handle, a valid slot.
        assert_eq!(unsafe { counter_close(h, &mut slot) }, status::OK);
    }
    let code = call(u_counter_value, &[ArgSlot::new(handle)], &mut slot);
    assert_eq!(
        outcome(code, &mut slot, scalar::<u64>),
        Outcome::Message(
            status::BAD_ARG,
            "parameter `self`: closed: the object was closed".into()
        )
    );
}
