//! Objects, iterators and callbacks (issue 13) end to end inside Rust: the
//! generated C symbols are called through an `extern "C"` block and the
//! callbacks are `extern "C" fn`s written in Rust, the way the Python
//! loader calls and supplies them, so that all the unsafe code runs under
//! Miri too.

use core::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Barrier, Mutex};

use pyo2::abi::{status, IterOut, OwnedBuf, ScopedC, Slot, StoredC, StrView};
use pyo2::PyStr;

// ------------------------------------------------------------ the library

/// A counter.
#[pyo2::class]
pub struct Counter {
    n: u64,
}

#[pyo2::methods]
impl Counter {
    /// Starts at `start`.
    #[new]
    fn new(start: u64) -> Result<Self, String> {
        if start == 999 {
            return Err("bad start".to_owned());
        }
        Ok(Counter { n: start })
    }
    fn add(&mut self, k: u64) -> u64 {
        self.n += k;
        self.n
    }
    #[getter]
    fn value(&self) -> u64 {
        self.n
    }
    /// Calls `f` with the value, holding the object shared.
    fn visit(&self, f: &mut dyn FnMut(u64) -> bool) -> bool {
        f(self.n)
    }
    /// Calls `f` with the value, holding the object exclusively.
    fn visit_mut(&mut self, f: &mut dyn FnMut(u64)) -> u64 {
        f(self.n);
        self.n += 1;
        self.n
    }
    fn upto(&self) -> pyo2::Iter<u64> {
        pyo2::Iter::new(0..self.n)
    }
    fn twice(x: i32) -> i32 {
        x * 2
    }
}

/// Another class, for wrong-class handles.
#[pyo2::class]
pub struct Other;

#[pyo2::methods]
impl Other {
    #[new]
    fn new() -> Self {
        Other
    }
    /// An error type spelled with generics.
    fn boxed() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
        Ok(1)
    }
}

/// A constructor whose error type is generic.
#[pyo2::class]
pub struct Boxed;

#[pyo2::methods]
impl Boxed {
    #[new]
    fn new() -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Boxed)
    }
}

static TRACKED_DROPS: AtomicUsize = AtomicUsize::new(0);

/// Counts its drops.
#[pyo2::class]
pub struct Tracked {
    id: u32,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        TRACKED_DROPS.fetch_add(1, SeqCst);
    }
}

#[pyo2::methods]
impl Tracked {
    #[new]
    fn new(id: u32) -> Self {
        Tracked { id }
    }
    fn wait(&mut self, f: &mut dyn FnMut()) -> u32 {
        f();
        self.id
    }
}

static GUARD_DROPS: AtomicUsize = AtomicUsize::new(0);

struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        GUARD_DROPS.fetch_add(1, SeqCst);
    }
}

/// Calls `on_hit` for each word starting with `x`; stops when it returns false.
#[pyo2::export]
fn scan(text: &str, on_hit: &mut dyn FnMut(usize, &str) -> bool) -> usize {
    let _guard = Guard;
    let mut hits = 0;
    for (i, w) in text.split(' ').enumerate() {
        if w.starts_with('x') {
            hits += 1;
            if !on_hit(i, w) {
                break;
            }
        }
    }
    hits
}

/// Catches the callback's unwind and calls it again.
#[pyo2::export]
fn stubborn(f: &mut dyn FnMut(u32) -> u32) -> u32 {
    let first = catch_unwind(AssertUnwindSafe(|| f(1))).unwrap_or(0);
    first + f(2)
}

type Logger = pyo2::Callback<dyn Fn(&str) + Send + Sync>;
static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

#[pyo2::export]
fn set_logger(log: pyo2::Callback<dyn Fn(&str) + Send + Sync>) {
    log("set");
    *LOGGER.lock().unwrap() = Some(log);
}

#[pyo2::export]
fn clear_logger() -> bool {
    LOGGER.lock().unwrap().take().is_some()
}

/// Calls the stored logger from `n` Rust threads, `k` times each.
#[pyo2::export]
fn log_from_threads(n: usize, k: usize) -> usize {
    let log = LOGGER.lock().unwrap().clone().expect("no logger");
    std::thread::scope(|s| {
        for t in 0..n {
            let log = log.clone();
            s.spawn(move || {
                for i in 0..k {
                    log(&format!("thread {t} message {i}"));
                }
            });
        }
    });
    n * k
}

#[pyo2::export]
fn keep_if_text(text: &str, log: pyo2::Callback<dyn Fn(&str) + Send + Sync>) -> usize {
    log(text);
    text.len()
}

// ------------------------------------------------------------- the loader

type VisitCb = unsafe extern "C" fn(*mut c_void, u64, *mut i32) -> u8;
type UnitCb = unsafe extern "C" fn(*mut c_void, u64, *mut i32);
type WaitCb = unsafe extern "C" fn(*mut c_void, *mut i32);
type ScanCb = unsafe extern "C" fn(*mut c_void, usize, *const StrView, *mut i32) -> u8;
type U32Cb = unsafe extern "C" fn(*mut c_void, u32, *mut i32) -> u32;
type LogCb = unsafe extern "C" fn(*mut c_void, *const StrView, *mut i32);

extern "C" {
    #[link_name = "__pyo2_class__Counter"]
    fn counter_class() -> *const c_char;
    #[link_name = "__pyo2_sig____pyo2_m__Counter__new"]
    fn counter_new_sig() -> *const c_char;
    #[link_name = "__pyo2_sig____pyo2_m__Counter__visit"]
    fn counter_visit_sig() -> *const c_char;
    #[link_name = "__pyo2_sig____pyo2_m__Counter__upto"]
    fn counter_upto_sig() -> *const c_char;
    #[link_name = "__pyo2_sig____pyo2_m__Counter__twice"]
    fn counter_twice_sig() -> *const c_char;
    #[link_name = "__pyo2_sig____pyo2_m__Boxed__new"]
    fn boxed_new_sig() -> *const c_char;
    #[link_name = "__pyo2_sig__scan"]
    fn scan_sig() -> *const c_char;
    #[link_name = "__pyo2_sig__set_logger"]
    fn set_logger_sig() -> *const c_char;
    #[link_name = "__pyo2_sig__clear_logger"]
    fn clear_logger_sig() -> *const c_char;

    #[link_name = "__pyo2_m__Counter__new"]
    fn counter_new(start: u64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Counter__add"]
    fn counter_add(h: u64, k: u64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Counter__value"]
    fn counter_value(h: u64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Counter__visit"]
    fn counter_visit(h: u64, f: *const ScopedC<VisitCb>, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Counter__visit_mut"]
    fn counter_visit_mut(h: u64, f: *const ScopedC<UnitCb>, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Counter__upto"]
    fn counter_upto(h: u64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Counter__twice"]
    fn counter_twice(x: i32, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_close__Counter"]
    fn counter_close(h: u64, slot: *mut Slot) -> i32;

    #[link_name = "__pyo2_m__Other__new"]
    fn other_new(slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_close__Other"]
    fn other_close(h: u64, slot: *mut Slot) -> i32;

    #[link_name = "__pyo2_m__Tracked__new"]
    fn tracked_new(id: u32, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Tracked__wait"]
    fn tracked_wait(h: u64, f: *const ScopedC<WaitCb>, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_close__Tracked"]
    fn tracked_close(h: u64, slot: *mut Slot) -> i32;

    #[link_name = "scan"]
    fn c_scan(text: *const PyStr, f: *const ScopedC<ScanCb>, slot: *mut Slot) -> i32;
    #[link_name = "stubborn"]
    fn c_stubborn(f: *const ScopedC<U32Cb>, slot: *mut Slot) -> i32;
    #[link_name = "set_logger"]
    fn c_set_logger(log: *const StoredC<LogCb>, slot: *mut Slot) -> i32;
    #[link_name = "clear_logger"]
    fn c_clear_logger(slot: *mut Slot) -> i32;
    #[link_name = "log_from_threads"]
    fn c_log_from_threads(n: usize, k: usize, slot: *mut Slot) -> i32;
    #[link_name = "keep_if_text"]
    fn c_keep_if_text(text: *const PyStr, log: *const StoredC<LogCb>, slot: *mut Slot) -> i32;
}

fn text(p: *const c_char) -> &'static str {
    // SAFETY: descriptors are NUL-terminated and live as long as the program.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

/// The message a failed call left in `slot` (which it then frees).
fn message(slot: &mut Slot) -> String {
    // SAFETY: every failing status leaves an OwnedBuf made from a String.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a String's buffer holds bytes.
    String::from_utf8(unsafe { buf.as_slice::<u8>() }.to_vec()).unwrap()
}

/// A value a successful call left in `slot`.
fn value<T>(code: i32, slot: &mut Slot) -> T {
    if code != status::OK {
        panic!("status {code}: {}", message(slot));
    }
    // SAFETY: OK: the slot holds the call's return value, of type `T` by
    // the caller's choice of the function.
    unsafe { slot.take::<T>() }
}

fn new_counter(start: u64) -> u64 {
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    value(unsafe { counter_new(start, &mut slot) }, &mut slot)
}

fn add(h: u64, k: u64) -> (i32, Slot) {
    let mut slot = Slot::new();
    // SAFETY: a valid slot; the handle is only a number.
    let code = unsafe { counter_add(h, k, &mut slot) };
    (code, slot)
}

fn close(h: u64) -> i32 {
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let code = unsafe { counter_close(h, &mut slot) };
    if code != status::OK {
        drop(message(&mut slot));
    }
    code
}

fn str_of(v: *const StrView) -> String {
    // SAFETY: Rust passes a valid header of UTF-8 bytes for the call.
    let v = unsafe { &*v };
    // SAFETY: as above: `ptr` is valid for `len` bytes.
    let bytes = unsafe { core::slice::from_raw_parts(v.ptr, v.len) };
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn view(bytes: &mut [u8]) -> PyStr {
    // SAFETY: the caller keeps `bytes` alive and unused while the view is used.
    unsafe { PyStr::from_raw_parts(bytes.as_mut_ptr(), bytes.len()) }
}

// ------------------------------------------------------------------ tests

#[test]
fn descriptors() {
    // SAFETY: descriptor functions take nothing and return static text.
    unsafe {
        assert_eq!(
            text(counter_class()),
            "pyo2-class 2\nclass Counter\n\
             new new __pyo2_m__Counter__new\n\
             method add __pyo2_m__Counter__add\n\
             getter value __pyo2_m__Counter__value\n\
             method visit __pyo2_m__Counter__visit\n\
             method visit_mut __pyo2_m__Counter__visit_mut\n\
             method upto __pyo2_m__Counter__upto\n\
             static twice __pyo2_m__Counter__twice\n\
             close __pyo2_close__Counter\n\nA counter."
        );
        assert_eq!(
            text(counter_new_sig()),
            "pyo2 2\nfn new(start: u64) -> Result<Self, String>\nStarts at `start`."
        );
        assert_eq!(
            text(counter_visit_sig()),
            "pyo2 2\nfn visit(&self, f: &mut dyn FnMut(u64) -> bool) -> bool\n\
             Calls `f` with the value, holding the object shared."
        );
        assert_eq!(
            text(counter_upto_sig()),
            "pyo2 2\nfn upto(&self) -> Iter<u64>"
        );
        assert_eq!(text(counter_twice_sig()), "pyo2 2\nfn twice(x: i32) -> i32");
        assert_eq!(
            text(boxed_new_sig()),
            "pyo2 2\nfn new() -> Result<Self, Box<dyn Error>>"
        );
        assert_eq!(
            text(scan_sig()),
            "pyo2 2\nfn scan(text: &str, on_hit: &mut dyn FnMut(usize, &str) -> bool) -> usize\n\
             Calls `on_hit` for each word starting with `x`; stops when it returns false."
        );
        assert_eq!(
            text(set_logger_sig()),
            "pyo2 2\nfn set_logger(log: Callback<dyn Fn(&str)>)"
        );
        // Nothing new spelled: version 1, as before.
        assert_eq!(
            text(clear_logger_sig()),
            "pyo2 1\nfn clear_logger() -> bool"
        );
    }
}

#[test]
fn create_call_close() {
    let h = new_counter(5);
    let (code, mut slot) = add(h, 3);
    assert_eq!(value::<u64>(code, &mut slot), 8);
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let code = unsafe { counter_value(h, &mut slot) };
    assert_eq!(value::<u64>(code, &mut slot), 8);
    // SAFETY: a valid slot.
    let code = unsafe { counter_twice(21, &mut slot) };
    assert_eq!(value::<i32>(code, &mut slot), 42);
    assert_eq!(close(h), status::OK);
    // Closed: every use is BAD_ARG, a second close too.
    let (code, mut slot) = add(h, 1);
    assert_eq!(code, status::BAD_ARG);
    assert_eq!(
        message(&mut slot),
        "parameter `self`: closed: the object was closed"
    );
    assert_eq!(close(h), status::BAD_ARG);
    // A constructor's Err.
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let code = unsafe { counter_new(999, &mut slot) };
    assert_eq!(code, status::ERR);
    assert_eq!(message(&mut slot), "bad start");
}

#[test]
fn forged_foreign_and_wrong_class_handles() {
    let h = new_counter(1);
    for forged in [
        0,
        1,
        u64::MAX,
        h ^ (1 << 40),
        h ^ 0x7fff_0000,
        h.wrapping_add(1 << 20),
    ] {
        let (code, mut slot) = add(forged, 1);
        assert_eq!(code, status::BAD_ARG, "{forged:#x}");
        let m = message(&mut slot);
        assert!(m.starts_with("parameter `self`: "), "{m}");
        assert!(
            m.contains("not a handle of this library") || m.contains("closed"),
            "{m}"
        );
    }
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let other: u64 = value(unsafe { other_new(&mut slot) }, &mut slot);
    let (code, mut slot) = add(other, 1);
    assert_eq!(code, status::BAD_ARG);
    assert_eq!(
        message(&mut slot),
        "parameter `self`: the handle is a `Other`, not a `Counter`"
    );
    // Closing through the wrong class closes nothing.
    assert_eq!(close(other), status::BAD_ARG);
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    assert_eq!(unsafe { other_close(other, &mut slot) }, status::OK);
    // An iterator's handle is not a Counter either, and a Counter's handle
    // is not an iterator.
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let it: IterOut = value(unsafe { counter_upto(h, &mut slot) }, &mut slot);
    let (code, mut slot) = add(it.handle, 1);
    assert_eq!(code, status::BAD_ARG);
    assert!(message(&mut slot).contains("is a `Iter<u64>`, not a `Counter`"));
    // SAFETY: a valid slot.
    assert_eq!(unsafe { (it.next)(h, &mut slot) }, status::BAD_ARG);
    assert!(message(&mut slot).contains("is a `Counter`, not a `Iter<u64>`"));
    // SAFETY: a valid slot.
    assert_eq!(unsafe { (it.close)(it.handle, &mut slot) }, status::OK);
    assert_eq!(close(h), status::OK);
}

/// What a test callback sees: the handle to call back into, and results.
struct Reenter {
    handle: u64,
    codes: Vec<i32>,
    calls: usize,
}

unsafe extern "C" fn reenter_add(ctx: *mut c_void, _v: u64, _raised: *mut i32) {
    // SAFETY: the test passes a `Reenter` it owns, used only here meanwhile.
    let r = unsafe { &mut *ctx.cast::<Reenter>() };
    r.calls += 1;
    let (code, mut slot) = add(r.handle, 1);
    if code != status::OK {
        drop(message(&mut slot));
    }
    r.codes.push(code);
}

/// `reenter_add` as a callback returning `bool` (`true`).
unsafe extern "C" fn reenter_add_bool(ctx: *mut c_void, v: u64, raised: *mut i32) -> u8 {
    // SAFETY: as in `reenter_add`.
    unsafe { reenter_add(ctx, v, raised) };
    1
}

unsafe extern "C" fn reenter_value(ctx: *mut c_void, v: u64, _raised: *mut i32) -> u8 {
    // SAFETY: as in `reenter_add`.
    let r = unsafe { &mut *ctx.cast::<Reenter>() };
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let code = unsafe { counter_value(r.handle, &mut slot) };
    let got: u64 = value(code, &mut slot);
    r.codes.push(code);
    u8::from(got == v)
}

#[test]
fn reentrant_calls() {
    let h = new_counter(10);
    let mut r = Reenter {
        handle: h,
        codes: Vec::new(),
        calls: 0,
    };
    let ctx = (&mut r as *mut Reenter).cast::<c_void>();
    let mut slot = Slot::new();
    // `&mut self` inside `&mut self`: BUSY, and the outer call goes on.
    let cb = ScopedC::<UnitCb> {
        call: Some(reenter_add),
        ctx,
    };
    // SAFETY: a valid callback struct and slot.
    let code = unsafe { counter_visit_mut(h, &cb, &mut slot) };
    assert_eq!(value::<u64>(code, &mut slot), 11);
    // `&mut self` inside `&self`: BUSY.
    let cb = ScopedC::<VisitCb> {
        call: Some(reenter_add_bool),
        ctx,
    };
    // SAFETY: as above.
    let code = unsafe { counter_visit(h, &cb, &mut slot) };
    assert!(value::<bool>(code, &mut slot));
    // `&self` inside `&self`: allowed, sees the value.
    let cb = ScopedC::<VisitCb> {
        call: Some(reenter_value),
        ctx,
    };
    // SAFETY: as above.
    let code = unsafe { counter_visit(h, &cb, &mut slot) };
    assert!(value::<bool>(code, &mut slot));
    assert_eq!(r.codes, [status::BUSY, status::BUSY, status::OK]);
    assert_eq!(close(h), status::OK);
}

#[test]
fn eight_threads_give_exact_results() {
    let per = if cfg!(miri) { 5 } else { 2000 };
    let h = new_counter(0);
    std::thread::scope(|s| {
        for t in 0..8 {
            s.spawn(move || {
                for _ in 0..per {
                    if t % 2 == 0 {
                        let (code, mut slot) = add(h, 1);
                        let _: u64 = value(code, &mut slot);
                    } else {
                        let mut slot = Slot::new();
                        // SAFETY: a valid slot.
                        let code = unsafe { counter_value(h, &mut slot) };
                        let _: u64 = value(code, &mut slot);
                    }
                }
            });
        }
    });
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let code = unsafe { counter_value(h, &mut slot) };
    assert_eq!(value::<u64>(code, &mut slot), 4 * per);
    assert_eq!(close(h), status::OK);
}

struct Waiter {
    inside: Barrier,
    go: Barrier,
}

unsafe extern "C" fn wait_cb(ctx: *mut c_void, _raised: *mut i32) {
    // SAFETY: the test passes a `Waiter` that outlives the call, shared.
    let w = unsafe { &*ctx.cast::<Waiter>() };
    w.inside.wait();
    w.go.wait();
}

/// Drop runs once, and not while a method runs on another thread: a close
/// during the call defers it to the call's end. (The only test that
/// makes `Tracked`s, so the counter is its own.)
#[test]
fn close_during_a_call_defers_the_drop() {
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let h: u64 = value(unsafe { tracked_new(7, &mut slot) }, &mut slot);
    let w = Waiter {
        inside: Barrier::new(2),
        go: Barrier::new(2),
    };
    let w_ref = &w;
    std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let cb = ScopedC::<WaitCb> {
                call: Some(wait_cb),
                ctx: (w_ref as *const Waiter).cast_mut().cast::<c_void>(),
            };
            let mut slot = Slot::new();
            // SAFETY: a valid callback struct and slot.
            let code = unsafe { tracked_wait(h, &cb, &mut slot) };
            value::<u32>(code, &mut slot)
        });
        w.inside.wait();
        let mut slot = Slot::new();
        // SAFETY: a valid slot.
        assert_eq!(unsafe { tracked_close(h, &mut slot) }, status::OK);
        assert_eq!(TRACKED_DROPS.load(SeqCst), 0, "dropped during the call");
        w.go.wait();
        assert_eq!(worker.join().unwrap(), 7);
    });
    assert_eq!(TRACKED_DROPS.load(SeqCst), 1);
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    assert_eq!(unsafe { tracked_close(h, &mut slot) }, status::BAD_ARG);
    drop(message(&mut slot));
    assert_eq!(TRACKED_DROPS.load(SeqCst), 1);
}

struct Hits {
    seen: Vec<(usize, String)>,
    raise_at: usize,
}

unsafe extern "C" fn on_hit(ctx: *mut c_void, i: usize, w: *const StrView, raised: *mut i32) -> u8 {
    // SAFETY: the test passes a `Hits` it owns, used only here meanwhile.
    let h = unsafe { &mut *ctx.cast::<Hits>() };
    h.seen.push((i, str_of(w)));
    if h.seen.len() == h.raise_at {
        // "Python raised"
        // SAFETY: Rust passes a valid flag.
        unsafe { raised.write(1) };
        return 0;
    }
    1
}

#[test]
fn scoped_callbacks_and_a_raising_one() {
    let mut words = *b"xa b xc xd";
    let text = view(&mut words);
    for raise_at in [0, 2] {
        let mut hits = Hits {
            seen: Vec::new(),
            raise_at,
        };
        let cb = ScopedC::<ScanCb> {
            call: Some(on_hit),
            ctx: (&mut hits as *mut Hits).cast(),
        };
        let guards = GUARD_DROPS.load(SeqCst);
        let mut slot = Slot::new();
        // SAFETY: a valid header, callback struct and slot.
        let code = unsafe { c_scan(&text, &cb, &mut slot) };
        if raise_at == 0 {
            assert_eq!(value::<usize>(code, &mut slot), 3);
            assert_eq!(hits.seen.len(), 3);
        } else {
            assert_eq!(code, status::CALLBACK_RAISED);
            assert_eq!(message(&mut slot), "a callback raised an exception");
            assert_eq!(hits.seen, [(0, "xa".to_owned()), (2, "xc".to_owned())]);
        }
        // Rust's destructors ran, either way.
        assert!(GUARD_DROPS.load(SeqCst) > guards);
    }
    // A null callback is a bad argument.
    let mut slot = Slot::new();
    // SAFETY: null is refused before any use.
    let code = unsafe { c_scan(&text, core::ptr::null(), &mut slot) };
    assert_eq!(code, status::BAD_ARG);
    assert_eq!(message(&mut slot), "parameter `on_hit`: null pointer");
}

unsafe extern "C" fn raise_once(ctx: *mut c_void, _x: u32, raised: *mut i32) -> u32 {
    // SAFETY: the test passes a `usize` counter it owns.
    let calls = unsafe { &mut *ctx.cast::<usize>() };
    *calls += 1;
    if *calls == 1 {
        // SAFETY: Rust passes a valid flag.
        unsafe { raised.write(-7) };
        return 99;
    }
    5
}

#[test]
fn a_caught_callback_unwind_still_raises() {
    let mut calls = 0_usize;
    let cb = ScopedC::<U32Cb> {
        call: Some(raise_once),
        ctx: (&mut calls as *mut usize).cast(),
    };
    let mut slot = Slot::new();
    // SAFETY: a valid callback struct and slot.
    let code = unsafe { c_stubborn(&cb, &mut slot) };
    assert_eq!(code, status::CALLBACK_RAISED);
    drop(message(&mut slot));
    assert_eq!(calls, 1, "no callback runs after one raised");
    // The next call works.
    // SAFETY: as above.
    let code = unsafe { c_stubborn(&cb, &mut slot) };
    assert_eq!(value::<u32>(code, &mut slot), 10);
}

#[test]
fn iterators_end_and_free() {
    let h = new_counter(3);
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    let it: IterOut = value(unsafe { counter_upto(h, &mut slot) }, &mut slot);
    let mut items = Vec::new();
    loop {
        // SAFETY: a valid slot; `next` came from the library.
        let code = unsafe { (it.next)(it.handle, &mut slot) };
        if code == status::NONE {
            break;
        }
        items.push(value::<u64>(code, &mut slot));
    }
    assert_eq!(items, [0, 1, 2]);
    // Exhausted stays exhausted.
    // SAFETY: as above.
    assert_eq!(unsafe { (it.next)(it.handle, &mut slot) }, status::NONE);
    // SAFETY: as above.
    assert_eq!(unsafe { (it.close)(it.handle, &mut slot) }, status::OK);
    // SAFETY: as above.
    assert_eq!(unsafe { (it.next)(it.handle, &mut slot) }, status::BAD_ARG);
    assert!(message(&mut slot).contains("closed"));
    // SAFETY: as above.
    assert_eq!(unsafe { (it.close)(it.handle, &mut slot) }, status::BAD_ARG);
    drop(message(&mut slot));
    assert_eq!(close(h), status::OK);
}

static LOG_CALLS: AtomicUsize = AtomicUsize::new(0);
static LOG_RELEASES: AtomicUsize = AtomicUsize::new(0);
static LOG_SET_SEEN: AtomicBool = AtomicBool::new(false);

unsafe extern "C" fn log_cb(_ctx: *mut c_void, msg: *const StrView, _raised: *mut i32) {
    let m = str_of(msg);
    if m == "set" {
        LOG_SET_SEEN.store(true, SeqCst);
    } else {
        assert!(m.starts_with("thread "), "{m}");
        LOG_CALLS.fetch_add(1, SeqCst);
    }
}

unsafe extern "C" fn log_release(ctx: *mut c_void) {
    // SAFETY: the test passes the address of `LOG_RELEASES`.
    let releases = unsafe { &*ctx.cast::<AtomicUsize>() };
    releases.fetch_add(1, SeqCst);
}

fn logger() -> StoredC<LogCb> {
    StoredC {
        call: Some(log_cb),
        ctx: (&LOG_RELEASES as *const AtomicUsize).cast_mut().cast(),
        release: Some(log_release),
    }
}

/// The only test that touches the stored logger.
#[test]
fn stored_callbacks_from_threads_are_released_once() {
    let mut slot = Slot::new();
    // SAFETY: a valid callback struct and slot.
    let code = unsafe { c_set_logger(&logger(), &mut slot) };
    value::<u8>(code, &mut slot);
    assert!(LOG_SET_SEEN.load(SeqCst));
    assert_eq!(LOG_RELEASES.load(SeqCst), 0, "kept by Rust");
    let (n, k) = if cfg!(miri) { (3, 2) } else { (8, 100) };
    // SAFETY: a valid slot.
    let code = unsafe { c_log_from_threads(n, k, &mut slot) };
    assert_eq!(value::<usize>(code, &mut slot), n * k);
    assert_eq!(LOG_CALLS.load(SeqCst), n * k);
    // Replacing the logger releases the old one, once.
    // SAFETY: as above.
    let code = unsafe { c_set_logger(&logger(), &mut slot) };
    value::<u8>(code, &mut slot);
    assert_eq!(LOG_RELEASES.load(SeqCst), 1);
    // SAFETY: a valid slot.
    let code = unsafe { c_clear_logger(&mut slot) };
    assert!(value::<bool>(code, &mut slot));
    assert_eq!(LOG_RELEASES.load(SeqCst), 2);
    // A callback passed with a bad other argument is released too; one
    // passed with a null `call` is released and refused.
    let mut bad = *b"\xff";
    let bad = view(&mut bad);
    // SAFETY: a valid header, callback struct and slot.
    let code = unsafe { c_keep_if_text(&bad, &logger(), &mut slot) };
    assert_eq!(code, status::BAD_ARG);
    drop(message(&mut slot));
    assert_eq!(LOG_RELEASES.load(SeqCst), 3);
    let null_call = StoredC::<LogCb> {
        call: None,
        ..logger()
    };
    let mut ok = *b"ok";
    let ok = view(&mut ok);
    // SAFETY: as above.
    let code = unsafe { c_keep_if_text(&ok, &null_call, &mut slot) };
    assert_eq!(code, status::BAD_ARG);
    assert_eq!(message(&mut slot), "parameter `log`: null pointer");
    assert_eq!(LOG_RELEASES.load(SeqCst), 4);
}
