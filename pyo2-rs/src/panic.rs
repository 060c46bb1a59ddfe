//! Where a caught panic happened, and whether Rust's panic hook prints it.
//!
//! A panic caught by [`abi::run`](crate::abi::run) becomes a
//! [`status::PANIC`](crate::abi::status::PANIC) whose message is followed by
//! the panic's location (see [`abi`](crate::abi#a-panics-message-and-location)).
//! `catch_unwind`'s payload has no location, so pyo2 installs a panic hook,
//! once, at the first exported call. The hook looks at whether the panicking
//! thread is inside `run` (a thread-local depth that [`enter`]'s guard
//! counts):
//!
//! - inside: it records the location for `run` and prints nothing, unless
//!   the environment variable `PYO2_PANIC_OUTPUT` was `1` (read once, when
//!   the hook is installed), in which case it also calls the hook it
//!   replaced (by default Rust's, which prints the panic to stderr);
//! - outside (another thread of the user's, or Rust code that isn't called
//!   through pyo2): it calls the hook it replaced and does nothing else.
//!
//! A hook the user installs later replaces pyo2's (pyo2 never installs it
//! again): caught panics are then printed, or not, by that hook, and reach
//! Python without a location. pyo2's part of the hook neither allocates nor
//! panics: the location is copied into a fixed-size thread-local buffer.

use core::cell::Cell;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::ffi::OsStr;
use std::panic::{Location, PanicHookInfo};
use std::sync::Once;

/// What separates a panic's message from its location in a
/// [`status::PANIC`](crate::abi::status::PANIC) message.
pub(crate) const MARKER: &str = "\0pyo2-location\0";

/// The environment variable that makes caught panics print (when `1`).
const OUTPUT_VAR: &str = "PYO2_PANIC_OUTPUT";

/// The longest file name kept, in bytes; a longer one keeps its end,
/// after `...`.
const FILE_CAP: usize = 512;

/// A panic's location, copied out of the hook's [`Location`] without
/// allocating.
#[derive(Clone, Copy)]
struct Captured {
    // Invariant: `file[..file_len]` is UTF-8 without NUL bytes.
    file: [u8; FILE_CAP],
    file_len: usize,
    line: u32,
    column: u32,
}

impl Captured {
    fn new(at: &Location<'_>) -> Captured {
        Captured::from_parts(at.file(), at.line(), at.column())
    }

    fn from_parts(name: &str, line: u32, column: u32) -> Captured {
        let mut captured = Captured {
            file: [0; FILE_CAP],
            file_len: 0,
            line,
            column,
        };
        let kept = if name.len() <= FILE_CAP {
            name
        } else {
            captured.push(b"...");
            let mut start = name.len() - (FILE_CAP - 3);
            while !name.is_char_boundary(start) {
                start += 1;
            }
            &name[start..]
        };
        captured.push(kept.as_bytes());
        captured
    }

    /// Appends `bytes` (UTF-8 that ends on a char boundary, fitting in the
    /// room left), with each NUL replaced by `?`: a file name never has one,
    /// and the message format needs it not to.
    fn push(&mut self, bytes: &[u8]) {
        for (to, &b) in self.file[self.file_len..].iter_mut().zip(bytes) {
            *to = if b == 0 { b'?' } else { b };
        }
        self.file_len = (self.file_len + bytes.len()).min(FILE_CAP);
    }

    fn file(&self) -> &str {
        // Valid UTF-8 by the invariant: the fallback is never taken.
        core::str::from_utf8(&self.file[..self.file_len]).unwrap_or("")
    }
}

/// The state of exported calls on one thread, in one thread-local so that
/// a call looks it up once (entering `run`; [`Inside`] keeps a pointer to
/// it): in a cdylib each lookup is a `__tls_get_addr` call.
struct CallState {
    /// How many calls of `abi::run` the thread is inside.
    depth: Cell<usize>,
    /// Whether `LAST` holds a location. Calls look at this flag, not at
    /// `LAST`: moving a `Captured` copies its 512-byte buffer.
    has_last: Cell<bool>,
    /// Whether a callback raised during the innermost `run` of this thread
    /// (see `objects::callback_status`).
    raised: Cell<bool>,
}

thread_local! {
    static CALL: CallState = const {
        CallState {
            depth: Cell::new(0),
            has_last: Cell::new(false),
            raised: Cell::new(false),
        }
    };
    /// The location of the last panic inside `abi::run` on this thread, not
    /// yet taken (when `CALL.has_last`).
    static LAST: Cell<Option<Captured>> = const { Cell::new(None) };
}

/// Records `at` as the thread's last panic location.
fn set_last(at: Captured) {
    let _ = LAST.try_with(|last| last.set(Some(at)));
    let _ = CALL.try_with(|c| c.has_last.set(true));
}

/// Takes the thread's last panic location, if any (copying it only then).
fn take_last() -> Option<Captured> {
    if !CALL
        .try_with(|c| c.has_last.replace(false))
        .unwrap_or(false)
    {
        return None;
    }
    LAST.try_with(Cell::take).ok().flatten()
}

/// Whether a callback raised during the innermost `run` of this thread.
pub(crate) fn raised() -> bool {
    CALL.try_with(|c| c.raised.get()).unwrap_or(false)
}

/// Records that a callback raised during the innermost `run`.
pub(crate) fn set_raised() {
    let _ = CALL.try_with(|c| c.raised.set(true));
}

/// Whether caught panics print, as `PYO2_PANIC_OUTPUT` said at install time.
static LOUD: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Whether a value of `PYO2_PANIC_OUTPUT` asks for caught panics to print:
/// only `1` does; unset, empty, `0` or anything else keeps them quiet.
fn is_loud(value: Option<&OsStr>) -> bool {
    value == Some(OsStr::new("1"))
}

/// Whether the hook passes a panic on to the hook it replaced: always
/// outside pyo2 calls, inside them only when loud.
fn passes_on(inside: bool, loud: bool) -> bool {
    !inside || loud
}

/// The hook pyo2 installs, in front of `previous`.
fn hook(previous: &(dyn Fn(&PanicHookInfo<'_>) + Send + Sync), info: &PanicHookInfo<'_>) {
    // `try_with` can't fail for a `const` `Cell` (it has no destructor),
    // but a panic hook must not panic, so it isn't `with`.
    let inside = CALL.try_with(|c| c.depth.get() > 0).unwrap_or(false);
    if inside {
        if let Some(at) = info.location() {
            set_last(Captured::new(at));
        }
    }
    // `Relaxed`: `LOUD` is written before `set_hook`, whose lock orders it
    // before any call of this hook.
    if passes_on(inside, LOUD.load(Relaxed)) {
        previous(info);
    }
}

/// Installs pyo2's panic hook, once per process (per copy of this crate).
fn install() {
    // `take_hook` and `set_hook` panic on a panicking thread (an exported
    // function called from a destructor during unwinding): skip, and try
    // again at the next call.
    if INSTALL.is_completed() || std::thread::panicking() {
        return;
    }
    INSTALL.call_once(|| {
        LOUD.store(is_loud(std::env::var_os(OUTPUT_VAR).as_deref()), Relaxed);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| hook(&*previous, info)));
    });
}

/// The current thread is inside `abi::run` while this lives.
pub(crate) struct Inside {
    /// The thread's [`CallState`] (null if the thread-local can't be
    /// reached), looked up once per call: `raised` and the drop read it
    /// through this pointer instead of two more `__tls_get_addr` calls.
    /// The raw pointer also keeps the guard on its thread (`!Send`).
    state: *const CallState,
    /// The location this call's `run` found recorded, put back when it
    /// ends: an outer call's, if this one runs while that one unwinds.
    /// Boxed (that rare case allocates) so that the guard every call
    /// carries is small, not a 512-byte buffer to move.
    saved: Option<Box<Captured>>,
    /// The enclosing call's `raised` flag, put back when this one ends.
    saved_raised: bool,
}

impl Inside {
    /// The thread's call state, if reachable.
    fn state(&self) -> Option<&CallState> {
        // SAFETY: `state` is null or points to this thread's `CALL` (the
        // guard never leaves the thread: it is `!Send`). `CALL` is
        // const-initialised and needs no drop, so its storage is never
        // destroyed while the thread runs, and only `Cell`s are shared.
        unsafe { self.state.as_ref() }
    }

    /// Whether a callback raised during this call (the innermost `run`).
    pub(crate) fn raised(&self) -> bool {
        self.state().is_some_and(|c| c.raised.get())
    }
}

/// Marks the current thread as inside `abi::run` until the guard drops,
/// installing the hook first if needed. The call starts with no location
/// recorded, so it can't report one left by a panic it didn't catch itself,
/// and with no callback raised (the enclosing call's flag is put back when
/// it ends).
///
/// It runs outside `run`'s `catch_unwind`, so nothing in it panics.
pub(crate) fn enter() -> Inside {
    install();
    let state = CALL
        .try_with(|c| c as *const CallState)
        .unwrap_or(core::ptr::null());
    let mut inside = Inside {
        state,
        saved: None,
        saved_raised: false,
    };
    let had_last = match inside.state() {
        Some(c) => {
            c.depth.set(c.depth.get().saturating_add(1));
            let had_last = c.has_last.replace(false);
            inside.saved_raised = c.raised.replace(false);
            had_last
        }
        None => false,
    };
    if had_last {
        inside.saved = LAST.try_with(Cell::take).ok().flatten().map(Box::new);
    }
    inside
}

impl Drop for Inside {
    fn drop(&mut self) {
        if let Some(c) = self.state() {
            c.depth.set(c.depth.get().saturating_sub(1));
            c.raised.set(self.saved_raised);
        }
        if let Some(saved) = self.saved.take() {
            set_last(*saved);
        }
    }
}

/// Whether the current thread is inside `abi::run` (an exported call).
pub(crate) fn inside() -> bool {
    CALL.try_with(|c| c.depth.get() > 0).unwrap_or(false)
}

/// `message`, followed by the location of the panic just caught if the
/// hook recorded one: `message` `\0pyo2-location\0` `file` `\0` `line`
/// `\0` `column`.
pub(crate) fn locate(mut message: String) -> String {
    if let Some(at) = take_last() {
        message.push_str(MARKER);
        message.push_str(at.file());
        let _ = write!(message, "\0{}\0{}", at.line, at.column);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{run, status, ArgError, OwnedBuf, Return, Slot};

    /// The status and the message text of a call of `run`.
    fn call<R: Return>(
        body: impl FnOnce() -> Result<R, (&'static str, ArgError)>,
    ) -> (i32, String) {
        let mut slot = Slot::new();
        // SAFETY: `slot` is a valid local slot.
        let code = unsafe { run(&mut slot, body) };
        assert!(code != status::OK && code != status::NONE, "{code}");
        // SAFETY: on every other status `run` wrote a message.
        let buf = unsafe { slot.take::<OwnedBuf>() };
        // SAFETY: messages are made from Strings, i.e. Vec<u8>.
        let text = String::from_utf8(unsafe { buf.as_slice::<u8>() }.to_vec()).unwrap();
        (code, text)
    }

    /// Splits a message as the loader does.
    fn split(text: &str) -> (&str, Option<(&str, u32, u32)>) {
        let Some((message, at)) = text.rsplit_once(MARKER) else {
            return (text, None);
        };
        let mut parts = at.split('\0');
        let (file, line, column) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert!(parts.next().is_none(), "{at:?}");
        (
            message,
            Some((file, line.parse().unwrap(), column.parse().unwrap())),
        )
    }

    #[test]
    fn a_caught_panic_carries_its_location() {
        let mut line = 0;
        let (code, text) = call::<u8>(|| {
            line = line!() + 1;
            panic!("boom {}", 7)
        });
        assert_eq!(code, status::PANIC);
        assert_eq!(split(&text), ("boom 7", Some((file!(), line, 13))));
    }

    #[test]
    fn a_track_caller_panic_is_located_at_the_caller() {
        let v = [1_u8];
        let i = 3;
        let line = line!() + 1;
        let (_, text) = call(|| Ok(v[i]));
        assert_eq!(split(&text).1, Some((file!(), line, 36)));
        assert!(split(&text).0.starts_with("index out of bounds"), "{text}");
    }

    #[test]
    fn a_message_can_hold_nul_and_the_marker_itself() {
        let tricky = format!("a\0b{MARKER}x\01\02");
        let (_, text) = call::<u8>(|| panic!("{tricky}"));
        let (message, at) = split(&text);
        assert_eq!(message, tricky);
        assert_eq!(at.unwrap().0, file!());
    }

    #[test]
    fn only_panics_get_a_location() {
        let (code, text) = call(|| Ok("x".parse::<u8>()));
        assert_eq!(
            (code, text.as_str()),
            (status::ERR, "invalid digit found in string")
        );
        let (code, text) = call::<u8>(|| Err(("p", ArgError::Null)));
        assert_eq!(
            (code, text.as_str()),
            (status::BAD_ARG, "parameter `p`: null pointer")
        );
    }

    #[test]
    fn a_panic_caught_inside_the_body_leaves_no_stale_location() {
        // Recorded by the hook, then caught by the body itself.
        let (code, text) = call(|| {
            let inner = std::panic::catch_unwind(|| panic!("inner"));
            assert!(inner.is_err());
            Ok("y".parse::<u8>())
        });
        assert_eq!(
            (code, text.as_str()),
            (status::ERR, "invalid digit found in string")
        );
        // The next `run` starts clean, so a panic the hook doesn't see (as
        // with a later user hook) can't pick up that location either.
        let _inside = enter();
        assert!(locate(String::from("m")) == "m");
    }

    #[test]
    fn a_call_made_while_another_unwinds_keeps_the_outer_location() {
        struct CallsOnDrop;
        impl Drop for CallsOnDrop {
            fn drop(&mut self) {
                // A drop during unwinding that calls an exported function.
                let (code, text) = call::<u8>(|| Err(("p", ArgError::Null)));
                assert_eq!(
                    (code, text.as_str()),
                    (status::BAD_ARG, "parameter `p`: null pointer")
                );
                assert_eq!(split(&call::<u8>(|| panic!("inner")).1).0, "inner");
            }
        }
        let mut line = 0;
        let (_, text) = call::<u8>(|| {
            let _calls = CallsOnDrop;
            line = line!() + 1;
            panic!("outer")
        });
        assert_eq!(split(&text), ("outer", Some((file!(), line, 13))));
    }

    #[test]
    fn the_depth_counts_nested_calls() {
        let depth = || CALL.with(|c| c.depth.get());
        assert_eq!(depth(), 0);
        {
            let _outer = enter();
            let _inner = enter();
            assert_eq!(depth(), 2);
        }
        assert_eq!(depth(), 0);
        let (_, text) = call::<u8>(|| {
            assert_eq!(depth(), 1);
            panic!("nested")
        });
        assert_eq!(split(&text).0, "nested");
        assert_eq!(depth(), 0);
    }

    #[test]
    fn long_file_names_keep_their_end() {
        #[track_caller]
        fn here() -> &'static Location<'static> {
            Location::caller()
        }
        let (at, line) = (Captured::new(here()), line!());
        assert_eq!((at.file(), at.line), (file!(), line));
        let fits = "a".repeat(FILE_CAP);
        assert_eq!(Captured::from_parts(&fits, 1, 2).file(), fits);
        // 'é' is two bytes: the cut moves forward to a char boundary.
        let long = format!("/{}/src/lib.rs", "é".repeat(FILE_CAP));
        let at = Captured::from_parts(&long, 3, 4);
        assert!(
            at.file().starts_with("...é") && long.ends_with(&at.file()[3..]),
            "{}",
            at.file()
        );
        assert!(at.file_len <= FILE_CAP && at.file_len >= FILE_CAP - 1);
        assert_eq!((at.line, at.column), (3, 4));
        assert_eq!(Captured::from_parts("a\0b", 1, 1).file(), "a?b");
    }

    #[test]
    fn only_1_makes_caught_panics_print() {
        assert!(is_loud(Some(OsStr::new("1"))));
        for quiet in [
            None,
            Some(""),
            Some("0"),
            Some("true"),
            Some("1 "),
            Some("yes"),
        ] {
            assert!(!is_loud(quiet.map(OsStr::new)), "{quiet:?}");
        }
        assert!(passes_on(false, false) && passes_on(false, true) && passes_on(true, true));
        assert!(!passes_on(true, false));
    }
}
