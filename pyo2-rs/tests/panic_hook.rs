//! pyo2's panic hook, end to end in a process of its own (a panic hook is
//! global, so everything is one test): a panic inside an exported call is
//! quiet and reaches the caller with its location; panics anywhere else go
//! to the hook that was there before; a hook set later is left alone.

use std::panic::{catch_unwind, set_hook, take_hook};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use pyo2::abi::{status, OwnedBuf, Slot};

const MARKER: &str = "\0pyo2-location\0";

#[pyo2::export]
fn panics(n: u32) -> u32 {
    if n > 0 {
        panic!("inside {n}");
    }
    n
}

/// Panics in a thread of its own, which is not inside an exported call.
#[pyo2::export]
fn panics_in_a_thread() -> bool {
    std::thread::spawn(|| panic!("in a user thread"))
        .join()
        .is_err()
}

extern "C" {
    #[link_name = "panics"]
    fn c_panics(n: u32, slot: *mut Slot) -> i32;
    #[link_name = "panics_in_a_thread"]
    fn c_panics_in_a_thread(slot: *mut Slot) -> i32;
}

/// The message a PANIC left in `slot`, split into the message and the
/// location, as the loader splits them.
fn message(slot: &mut Slot) -> (String, Option<(String, u32, u32)>) {
    // SAFETY: called after a PANIC, so the slot holds a message not taken yet.
    let buf = unsafe { slot.take::<OwnedBuf>() };
    // SAFETY: a message's buffer holds bytes.
    let text = String::from_utf8(unsafe { buf.as_slice::<u8>() }.to_vec()).unwrap();
    let Some((message, at)) = text.rsplit_once(MARKER) else {
        return (text, None);
    };
    let parts: Vec<&str> = at.split('\0').collect();
    let [file, line, column] = parts[..] else {
        panic!("{at:?}")
    };
    let at = (
        file.to_owned(),
        line.parse().unwrap(),
        column.parse().unwrap(),
    );
    (message.to_owned(), Some(at))
}

/// The line of this file that holds `needle`.
fn line_of(needle: &str) -> u32 {
    let i = include_str!("panic_hook.rs")
        .lines()
        .position(|l| l.contains(needle))
        .unwrap();
    u32::try_from(i).unwrap() + 1
}

#[test]
fn the_hook_is_quiet_inside_calls_and_delegates_outside() {
    let loud = std::env::var_os("PYO2_PANIC_OUTPUT").is_some_and(|v| v == "1");
    // The user's hook, set before the first exported call.
    let users = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&users);
    set_hook(Box::new(move |_| {
        seen.fetch_add(1, SeqCst);
    }));

    // Inside a call: the location reaches the caller; the user's hook
    // isn't called (unless PYO2_PANIC_OUTPUT=1).
    let mut slot = Slot::new();
    // SAFETY: a valid slot.
    assert_eq!(unsafe { c_panics(3, &mut slot) }, status::PANIC);
    let at = (file!().to_owned(), line_of("panic!(\"inside {n}\")"), 9);
    assert_eq!(message(&mut slot), ("inside 3".to_owned(), Some(at)));
    assert_eq!(users.load(SeqCst), usize::from(loud));
    // SAFETY: a valid slot.
    assert_eq!(unsafe { c_panics(0, &mut slot) }, status::OK);

    // Outside calls: on this thread, and on a thread an exported function
    // spawns (a thread of its own is not inside the call).
    users.store(0, SeqCst);
    assert!(catch_unwind(|| panic!("outside")).is_err());
    assert_eq!(users.load(SeqCst), 1);
    // SAFETY: a valid slot.
    assert_eq!(unsafe { c_panics_in_a_thread(&mut slot) }, status::OK);
    // SAFETY: OK from a function returning bool.
    assert!(unsafe { slot.take::<bool>() });
    assert_eq!(users.load(SeqCst), 2);

    // A hook set later replaces pyo2's for good: it sees every panic, and
    // the caller gets the bare message.
    let later = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&later);
    let pyo2s = take_hook();
    set_hook(Box::new(move |_| {
        seen.fetch_add(1, SeqCst);
    }));
    // SAFETY: a valid slot.
    assert_eq!(unsafe { c_panics(4, &mut slot) }, status::PANIC);
    assert_eq!(message(&mut slot), ("inside 4".to_owned(), None));
    assert_eq!(later.load(SeqCst), 1);
    assert_eq!(users.load(SeqCst), 2);

    // Put pyo2's back, by hand: it is quiet again inside calls.
    set_hook(pyo2s);
    // SAFETY: a valid slot.
    assert_eq!(unsafe { c_panics(5, &mut slot) }, status::PANIC);
    assert_eq!(message(&mut slot).0, "inside 5");
    assert_eq!(users.load(SeqCst), 2 + usize::from(loud));
    assert_eq!(later.load(SeqCst), 1);
}
