//! Objects, iterators and callbacks (issue 13): the runtime that the code
//! of `#[pyo2::class]`, `#[pyo2::methods]`, `pyo2::Iter` returns and
//! callback parameters calls. The contract is in
//! [`abi`](crate::abi#objects); everything public here is re-exported there.

use core::cell::RefCell;
use core::ffi::c_void;
use core::fmt::Display;
use core::mem::size_of;
use std::any::Any;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use crate::abi::{run, sealed, ArgError, Outcome, Plain, Return, Slot};

// ---------------------------------------------------------------- registry

/// A live object in the registry: the object and how to name its class.
type Live = (Arc<dyn Any + Send + Sync>, fn(&mut String));

struct Entry {
    /// Starts at 1; bumped when the object is closed, so old handles fail.
    generation: u32,
    object: Option<Live>,
}

struct Registry {
    entries: Vec<Entry>,
    free: Vec<u32>,
}

/// Every object this library handed to Python, by index. Method calls
/// only read it (concurrently); creating and closing objects write it.
static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    entries: Vec::new(),
    free: Vec::new(),
});

/// The registry, to change it.
fn registry() -> std::sync::RwLockWriteGuard<'static, Registry> {
    // Nothing panics while the lock is held; ignore poisoning anyway.
    REGISTRY.write().unwrap_or_else(PoisonError::into_inner)
}

/// The registry, to read it.
fn registry_read() -> std::sync::RwLockReadGuard<'static, Registry> {
    REGISTRY.read().unwrap_or_else(PoisonError::into_inner)
}

/// This library's random handle key: a handle is `(generation << 32 |
/// index) ^ key`, so another library's handles (another key) and forged
/// numbers decode to indices and generations that don't match.
fn key() -> u64 {
    static KEY: OnceLock<u64> = OnceLock::new();
    *KEY.get_or_init(|| {
        let mut h = RandomState::new().build_hasher();
        h.write(b"pyo2 handles");
        h.finish()
    })
}

fn class_name(describe: fn(&mut String)) -> String {
    let mut s = String::new();
    describe(&mut s);
    s
}

/// Registers `value` and returns its handle.
fn insert<T: Send + Sync + 'static>(value: T, describe: fn(&mut String)) -> u64 {
    let object: Arc<dyn Any + Send + Sync> = Arc::new(Object {
        value: RwLock::new(value),
    });
    let mut reg = registry();
    let index = match reg.free.pop() {
        Some(i) => i,
        None => {
            let i = u32::try_from(reg.entries.len()).expect("pyo2: more than 2^32 objects");
            reg.entries.push(Entry {
                generation: 1,
                object: None,
            });
            i
        }
    };
    let entry = &mut reg.entries[index as usize];
    entry.object = Some((object, describe));
    ((u64::from(entry.generation) << 32) | u64::from(index)) ^ key()
}

/// The registry entry a handle names, or why it names none.
fn find(reg: &Registry, handle: u64) -> Result<usize, ArgError> {
    let raw = handle ^ key();
    let (generation, index) = ((raw >> 32) as u32, raw as u32 as usize);
    let foreign = || {
        ArgError::Handle(format!(
            "{handle:#x} is not a handle of this library (forged, or another library's)"
        ))
    };
    let entry = reg.entries.get(index).ok_or_else(foreign)?;
    if generation == 0 || generation > entry.generation {
        return Err(foreign());
    }
    if generation < entry.generation || entry.object.is_none() {
        return Err(ArgError::Handle("closed: the object was closed".to_owned()));
    }
    Ok(index)
}

fn downcast<T: Send + Sync + 'static>(
    live: &Live,
    expected: fn(&mut String),
) -> Result<Arc<Object<T>>, ArgError> {
    Arc::clone(&live.0).downcast::<Object<T>>().map_err(|_| {
        ArgError::Handle(format!(
            "the handle is a `{}`, not a `{}`",
            class_name(live.1),
            class_name(expected)
        ))
    })
}

/// The object a handle names, kept alive for the caller.
fn lookup<T: Send + Sync + 'static>(
    handle: u64,
    expected: fn(&mut String),
) -> Result<Arc<Object<T>>, ArgError> {
    let reg = registry_read();
    let index = find(&reg, handle)?;
    let live = reg.entries[index]
        .object
        .as_ref()
        .ok_or_else(|| ArgError::Handle("closed: the object was closed".to_owned()))?;
    downcast(live, expected)
}

/// Removes the object a handle names from the registry and drops the
/// registry's reference (after the lock is released: a destructor may
/// call back into Python). The value itself is dropped now, or when the
/// last call still running on it ends.
fn remove<T: Send + Sync + 'static>(
    handle: u64,
    expected: fn(&mut String),
) -> Result<(), ArgError> {
    let object = {
        let mut reg = registry();
        let index = find(&reg, handle)?;
        let entry = &mut reg.entries[index];
        if let Some(live) = entry.object.as_ref() {
            downcast::<T>(live, expected)?;
        }
        let object = entry.object.take();
        entry.generation = entry.generation.wrapping_add(1).max(1);
        // A slot whose generation wrapped around is retired, never reused.
        if entry.generation != u32::MAX {
            reg.free.push(index as u32);
        }
        object
    };
    drop(object);
    Ok(())
}

/// How many objects (class instances and iterators) are alive in this
/// library's registry: for leak tests.
pub fn live_objects() -> usize {
    registry_read()
        .entries
        .iter()
        .filter(|e| e.object.is_some())
        .count()
}

// ----------------------------------------------------------------- objects

/// A struct exported as a Python class: implemented by `#[pyo2::class]`.
///
/// # Safety
///
/// Implementors must ensure that:
/// - the impl is the one `#[pyo2::class]` writes: [`NAME`](Self::NAME) is
///   the struct's name, which the symbols of `#[pyo2::methods]` spell.
pub unsafe trait Class: Send + Sync + 'static {
    /// The class's name.
    const NAME: &'static str;
    /// The struct's doc comment, or `""`.
    const DOC: &'static str;
}

fn describe_class<T: Class>(out: &mut String) {
    out.push_str(T::NAME)
}

/// A live object: its value behind a lock; shared by the registry and by
/// every call running on it, so it is dropped once, after the last.
pub struct Object<T> {
    value: RwLock<T>,
}

/// One lock a thread holds, innermost last.
struct Holding {
    object: *const (),
    exclusive: bool,
    /// The value, for a shared re-entrant call (null when exclusive).
    value: *const (),
}

thread_local! {
    static HOLDING: RefCell<Vec<Holding>> = const { RefCell::new(Vec::new()) };
}

/// Pops this thread's innermost [`Holding`] when dropped (unwinding too):
/// made right after the push, dropped before the lock guard.
struct Held;

impl Drop for Held {
    fn drop(&mut self) {
        let _ = HOLDING.try_with(|h| h.borrow_mut().pop());
    }
}

const BUSY: &str = "the object is already in use by a call on this thread (a re-entrant \
                    call from a callback): a `&mut self` method can't run inside another \
                    call on the same object, nor any method inside a `&mut self` one";

impl<T> Object<T> {
    fn id(&self) -> *const () {
        (self as *const Self).cast()
    }

    /// What this thread holds of the object: `Some((exclusive, value))`,
    /// in `holding` (this thread's [`HOLDING`]).
    fn held_in(&self, holding: &[Holding]) -> Option<(bool, *const ())> {
        let me = self.id();
        holding
            .iter()
            .rev()
            .find(|e| core::ptr::eq(e.object, me))
            .map(|e| (e.exclusive, e.value))
    }

    /// Runs `f` with shared access (a `&self` method): concurrently with
    /// other shared calls; re-entrantly inside a shared call on this
    /// thread; [`ArgError::Busy`] inside an exclusive call on this thread.
    pub fn with_ref<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, ArgError> {
        // One look at this thread's holdings: what it holds of the object
        // and, if nothing, the read lock taken and recorded there.
        let taken = HOLDING.with(|h| {
            let mut h = h.borrow_mut();
            match self.held_in(&h) {
                Some(held) => Err(held),
                None => {
                    let guard = self.value.read().unwrap_or_else(PoisonError::into_inner);
                    h.push(Holding {
                        object: self.id(),
                        exclusive: false,
                        value: (&*guard as *const T).cast(),
                    });
                    Ok(guard)
                }
            }
        });
        match taken {
            Ok(guard) => {
                let _held = Held;
                Ok(f(&guard))
            }
            Err((true, _)) => Err(ArgError::Busy(BUSY.to_owned())),
            Err((false, value)) => {
                // SAFETY:
                // - `value` was made from the `&T` of a read guard that an
                //   enclosing call on this thread holds; calls on one thread
                //   nest, so that guard outlives this call;
                // - a read guard excludes writers, so the `T` is not written
                //   while this shared reference lives.
                let value = unsafe { &*value.cast::<T>() };
                Ok(f(value))
            }
        }
    }

    /// Runs `f` with exclusive access (a `&mut self` method), waiting for
    /// calls on other threads; [`ArgError::Busy`] if this thread holds the
    /// object already.
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, ArgError> {
        let taken = HOLDING.with(|h| {
            let mut h = h.borrow_mut();
            if self.held_in(&h).is_some() {
                return None;
            }
            let guard = self.value.write().unwrap_or_else(PoisonError::into_inner);
            h.push(Holding {
                object: self.id(),
                exclusive: true,
                value: core::ptr::null(),
            });
            Some(guard)
        });
        let Some(mut guard) = taken else {
            return Err(ArgError::Busy(BUSY.to_owned()));
        };
        let _held = Held;
        Ok(f(&mut guard))
    }
}

/// Registers a new object of class `T` (a `#[new]`'s result).
pub fn new_object<T: Class>(value: T) -> u64 {
    insert(value, describe_class::<T>)
}

/// The live object of class `T` that `handle` names, for one call.
pub fn object<T: Class>(handle: u64) -> Result<Arc<Object<T>>, ArgError> {
    lookup::<T>(handle, describe_class::<T>)
}

/// Closes the object of class `T` that `handle` names: what the class's
/// `close` symbol does.
pub fn close<T: Class>(handle: u64) -> Result<(), ArgError> {
    remove::<T>(handle, describe_class::<T>)
}

/// What a `#[new]` may return: `Self` or `Result<Self, E>`.
///
/// Sealed: implemented by pyo2 only.
pub trait New<T>: sealed::SealedNew {
    /// Appends `Self` or `Result<Self, E>` to `out`.
    fn describe(out: &mut String);
    /// The value, or the error's message.
    fn into_new(self) -> Result<T, String>;
}

impl<T: Class> sealed::SealedNew for T {}
impl<T: Class> New<T> for T {
    fn describe(out: &mut String) {
        out.push_str("Self")
    }
    fn into_new(self) -> Result<T, String> {
        Ok(self)
    }
}

impl<T: Class, E: Display> sealed::SealedNew for Result<T, E> {}
impl<T: Class, E: Display> New<T> for Result<T, E> {
    fn describe(out: &mut String) {
        out.push_str("Result<Self, ");
        let mut e = String::new();
        <Result<(), E> as Return>::describe(&mut e);
        // `Result<(), E>` → `E`.
        let e = e.strip_prefix("Result<(), ").unwrap_or(&e);
        out.push_str(e.strip_suffix('>').unwrap_or(e));
        out.push('>')
    }
    fn into_new(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// What a constructor's wrapper returns: a handle, or an error message.
#[derive(Debug)]
pub struct Created(Result<u64, String>);

impl Created {
    /// Registers a `#[new]`'s result (or keeps its error).
    pub fn new<T: Class, N: New<T>>(value: N) -> Created {
        Created(value.into_new().map(new_object))
    }
}

impl sealed::SealedReturn for Created {}
impl Return for Created {
    type C = u64;
    fn describe(out: &mut String) {
        out.push_str("Self")
    }
    fn into_outcome(self) -> Outcome<u64> {
        match self.0 {
            Ok(handle) => Outcome::Value(handle),
            Err(message) => Outcome::Err(message),
        }
    }
}

// --------------------------------------------------------------- iterators

/// A Python iterator over a Rust iterator: return it from an exported
/// function or a method.
///
/// ```
/// #[pyo2::export]
/// fn countdown(from: u32) -> pyo2::Iter<u32> {
///     pyo2::Iter::new((0..=from).rev())
/// }
/// # assert_eq!(countdown(2).collect::<Vec<_>>(), [2, 1, 0]);
/// ```
///
/// Python gets an iterator that ends with `StopIteration`; Rust's iterator
/// is dropped as soon as it is exhausted, or when Python collects (or
/// closes) the iterator. Items are anything an exported function can
/// return but `Option` and `Result`. An `Iter` is also a Rust iterator.
pub struct Iter<T> {
    items: Box<dyn Iterator<Item = T> + Send>,
}

impl<T> Iter<T> {
    /// Wraps any `IntoIterator` whose iterator can move to another thread.
    pub fn new<I>(items: I) -> Iter<T>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        Iter {
            items: Box::new(items.into_iter()),
        }
    }
}

impl<T> Iterator for Iter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.items.next()
    }
}

impl<T> core::fmt::Debug for Iter<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Iter")
    }
}

/// An iterator object: the iterator until it is exhausted.
struct IterState<T> {
    // A `Mutex` only to make the state `Sync`; it is reached through
    // `Object::with_mut`, i.e. exclusively, with `get_mut`.
    items: Mutex<Option<Box<dyn Iterator<Item = T> + Send>>>,
}

/// What the slot holds when a function returns an [`Iter`]: the iterator's
/// handle and its two entry points.
///
/// # C layout
///
/// ```c
/// typedef struct {
///     uint64_t handle;
///     int32_t (*next)(uint64_t handle, Pyo2Slot *slot);  /* OK + item, or NONE at the end */
///     int32_t (*close)(uint64_t handle, Pyo2Slot *slot); /* OK; BAD_ARG if not live */
/// } Pyo2Iter;
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IterOut {
    /// The iterator's handle.
    pub handle: u64,
    /// Writes the next item to the slot (`OK`), or returns `NONE` at the end.
    pub next: unsafe extern "C" fn(u64, *mut Slot) -> i32,
    /// Closes the iterator (drops Rust's iterator if not yet exhausted).
    pub close: unsafe extern "C" fn(u64, *mut Slot) -> i32,
}

impl<T: Plain + Send + 'static> sealed::SealedReturn for Iter<T> {}
impl<T: Plain + Send + 'static> Return for Iter<T> {
    type C = IterOut;
    fn describe(out: &mut String) {
        out.push_str("Iter<");
        T::describe(out);
        out.push('>');
    }
    fn into_outcome(self) -> Outcome<IterOut> {
        let state = IterState {
            items: Mutex::new(Some(self.items)),
        };
        Outcome::Value(IterOut {
            handle: insert(state, <Iter<T> as Return>::describe),
            next: iter_next::<T>,
            close: iter_close::<T>,
        })
    }
}
impl<T: Plain + Send + 'static> Plain for Iter<T> {}

/// The `next` entry point of iterators of `T`.
///
/// # Safety
///
/// Callers must ensure that:
/// - `slot` is valid for writes of a [`Slot`].
unsafe extern "C" fn iter_next<T: Plain + Send + 'static>(handle: u64, slot: *mut Slot) -> i32 {
    let body = || {
        let state = lookup::<IterState<T>>(handle, <Iter<T> as Return>::describe)
            .map_err(|e| ("self", e))?;
        state
            .with_mut(|state| {
                let items = state
                    .items
                    .get_mut()
                    .unwrap_or_else(PoisonError::into_inner);
                let item = items.as_mut().and_then(Iterator::next);
                if item.is_none() {
                    // Exhausted: free Rust's iterator now.
                    *items = None;
                }
                item
            })
            .map_err(|e| ("self", e))
    };
    // SAFETY: the caller guarantees `slot` is valid for writes.
    unsafe { run::<Option<T>>(slot, body) }
}

/// The `close` entry point of iterators of `T`.
///
/// # Safety
///
/// Callers must ensure that:
/// - `slot` is valid for writes of a [`Slot`].
unsafe extern "C" fn iter_close<T: Plain + Send + 'static>(handle: u64, slot: *mut Slot) -> i32 {
    let body =
        || remove::<IterState<T>>(handle, <Iter<T> as Return>::describe).map_err(|e| ("self", e));
    // SAFETY: the caller guarantees `slot` is valid for writes.
    unsafe { run::<()>(slot, body) }
}

// --------------------------------------------------------------- callbacks

/// The payload of the unwind that carries a callback's exception to the
/// outer call, which returns [`status::CALLBACK_RAISED`](crate::abi::status::CALLBACK_RAISED).
#[derive(Debug)]
pub struct CallbackRaised;

/// Called before a callback's C function: once a callback raised during
/// this thread's call, every later callback unwinds at once, without
/// calling Python.
pub fn callback_enter() {
    if crate::panic::raised() {
        std::panic::resume_unwind(Box::new(CallbackRaised));
    }
}

/// Called with the flag a callback's C function left in `*raised`
/// (zeroed before the call): `0` returns; anything else (Python raised)
/// unwinds to the enclosing exported call, which returns
/// `CALLBACK_RAISED`. On a thread that is inside no exported call (a Rust
/// thread calling a stored [`Callback`]) the unwind ends that thread's
/// work instead, with a [`CallbackRaised`] payload.
pub fn callback_status(raised: i32) {
    if raised != 0 {
        if crate::panic::inside() {
            crate::panic::set_raised();
        }
        std::panic::resume_unwind(Box::new(CallbackRaised));
    }
}

/// A `&str` passed to a callback: a `{ptr, len}` header, laid out as a
/// `PyStr`, that Python only reads.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StrView {
    /// The UTF-8 bytes.
    pub ptr: *const u8,
    /// Their number.
    pub len: usize,
}

/// A parameter type of a callback: scalars, `bool` and `&str`.
///
/// Sealed: implemented by pyo2 only.
pub trait CallbackArg: sealed::SealedCallbackArg {
    /// The C argument.
    type C: Copy;
    /// What the argument is built from, kept alive during the call.
    type Held;
    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);
    /// Builds what is kept.
    fn hold(self) -> Self::Held;
    /// The C argument, valid while `held` is.
    fn as_c(held: &Self::Held) -> Self::C;
}

/// A return type of a callback: scalars, `bool` and `()`.
///
/// Sealed: implemented by pyo2 only.
pub trait CallbackReturn: sealed::SealedCallbackReturn + Sized {
    /// The C return type of the callback's function (`()`: `void`).
    type C: Copy;
    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);
    /// The value the callback's function returned (meaningless, but a
    /// valid `C`, when it raised).
    fn from_c(c: Self::C) -> Self;
}

macro_rules! callback_scalars {
    ($($t:ident)*) => {$(
        impl sealed::SealedCallbackArg for $t {}
        impl CallbackArg for $t {
            type C = $t;
            type Held = $t;
            fn describe(out: &mut String) {
                out.push_str(stringify!($t))
            }
            fn hold(self) -> $t {
                self
            }
            fn as_c(held: &$t) -> $t {
                *held
            }
        }
        impl sealed::SealedCallbackReturn for $t {}
        impl CallbackReturn for $t {
            type C = $t;
            fn describe(out: &mut String) {
                out.push_str(stringify!($t))
            }
            fn from_c(c: $t) -> $t {
                c
            }
        }
    )*};
}
callback_scalars!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize f32 f64);

impl sealed::SealedCallbackArg for bool {}
impl CallbackArg for bool {
    type C = bool;
    type Held = bool;
    fn describe(out: &mut String) {
        out.push_str("bool")
    }
    fn hold(self) -> bool {
        self
    }
    fn as_c(held: &bool) -> bool {
        *held
    }
}

impl sealed::SealedCallbackReturn for bool {}
impl CallbackReturn for bool {
    /// One byte (`uint8_t`): any non-zero value is `true` (never an
    /// invalid `bool`).
    type C = u8;
    fn describe(out: &mut String) {
        out.push_str("bool")
    }
    fn from_c(c: u8) -> bool {
        c != 0
    }
}

impl sealed::SealedCallbackReturn for () {}
impl CallbackReturn for () {
    /// `void`.
    type C = ();
    fn describe(out: &mut String) {
        out.push_str("()")
    }
    fn from_c(_: ()) {}
}

/// The end of one call of a callback: unwinds if it raised (see
/// [`callback_status`]), else `R`'s value from the C return `c`.
pub fn callback_return<R: CallbackReturn>(c: R::C, raised: i32) -> R {
    callback_status(raised);
    R::from_c(c)
}

impl sealed::SealedCallbackArg for &str {}
impl CallbackArg for &str {
    type C = *const StrView;
    type Held = StrView;
    fn describe(out: &mut String) {
        out.push_str("&str")
    }
    fn hold(self) -> StrView {
        StrView {
            ptr: self.as_ptr(),
            len: self.len(),
        }
    }
    fn as_c(held: &StrView) -> *const StrView {
        held
    }
}

/// Appends ` -> R` to a callback's spelling, nothing for `()`.
pub fn describe_callback_return<R: CallbackReturn>(out: &mut String) {
    let mut r = String::new();
    R::describe(&mut r);
    if r != "()" {
        out.push_str(" -> ");
        out.push_str(&r);
    }
}

/// Fails to compile (when instantiated) unless `Option<F>` is one
/// nullable pointer, i.e. `F` is a function pointer.
const fn nullable_fn<F>() {
    const {
        assert!(
            size_of::<Option<F>>() == size_of::<usize>() && size_of::<F>() == size_of::<usize>()
        )
    }
}

/// The C form of a `&mut dyn FnMut(..) -> R` parameter.
///
/// # C layout
///
/// ```c
/// typedef struct {
///     R_C (*call)(void *ctx, A1_C a1, …, int32_t *raised); /* *raised: 0, or non-zero when Python raised */
///     void *ctx;
/// } Pyo2FnMut;
/// ```
#[repr(C)]
#[derive(Debug)]
pub struct ScopedC<F> {
    /// The callback's C function.
    pub call: Option<F>,
    /// Its context, passed back as the first argument.
    pub ctx: *mut c_void,
}

/// A scoped callback, copied out of its [`ScopedC`], for one call.
#[derive(Debug, Clone, Copy)]
pub struct Scoped<F> {
    /// The callback's C function.
    pub call: F,
    /// Its context.
    pub ctx: *mut c_void,
}

// SAFETY: the loader's trampolines take the GIL, so the loader guarantees
// that `call` may be called with `ctx` from any thread while the outer
// call runs (see `abi#callbacks`); `Scoped` is `Copy` data only.
unsafe impl<F: Send> Send for Scoped<F> {}
// SAFETY: as above; calls from several threads at once are serialised by
// the GIL on Python's side.
unsafe impl<F: Sync> Sync for Scoped<F> {}

/// Reads a scoped callback parameter.
///
/// # Safety
///
/// Callers must ensure that:
/// - `c` is null or points to a valid `ScopedC<F>` whose `call`, if not
///   null, is a function of type `F` callable with `ctx` during the call.
pub unsafe fn scoped_from_c<F: Copy>(c: *const ScopedC<F>) -> Result<Scoped<F>, ArgError> {
    nullable_fn::<F>();
    // SAFETY: the caller guarantees a non-null `c` points to a valid `ScopedC<F>`.
    let c = unsafe { c.as_ref() }.ok_or(ArgError::Null)?;
    let call = c.call.ok_or(ArgError::Null)?;
    Ok(Scoped { call, ctx: c.ctx })
}

/// The C form of a `pyo2::Callback<dyn Fn(..) -> R + Send + Sync>`
/// parameter.
///
/// # C layout
///
/// ```c
/// typedef struct {
///     R_C (*call)(void *ctx, A1_C a1, …, int32_t *raised); /* *raised: 0, or non-zero when Python raised */
///     void *ctx;
///     void (*release)(void *ctx); /* called exactly once, from any thread */
/// } Pyo2Callback;
/// ```
#[repr(C)]
#[derive(Debug)]
pub struct StoredC<F> {
    /// The callback's C function.
    pub call: Option<F>,
    /// Its context.
    pub ctx: *mut c_void,
    /// Called once with `ctx` when Rust drops the callback.
    pub release: Option<unsafe extern "C" fn(*mut c_void)>,
}

/// A stored callback: calls `release` exactly once, when dropped.
#[derive(Debug)]
pub struct Stored<F> {
    /// The callback's C function.
    pub call: F,
    /// Its context.
    pub ctx: *mut c_void,
    release: Option<unsafe extern "C" fn(*mut c_void)>,
}

// SAFETY: the loader guarantees that `call` and `release` may be called
// with `ctx` from any thread, at any time until `release` (its trampolines
// take the GIL; see `abi#callbacks`).
unsafe impl<F: Send> Send for Stored<F> {}
// SAFETY: as above; concurrent calls are serialised by the GIL.
unsafe impl<F: Sync> Sync for Stored<F> {}

impl<F> Drop for Stored<F> {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            // SAFETY: the loader handed `ctx` over with this `release`
            // (`stored_from_c`'s contract); `take` makes this the only call.
            unsafe { release(self.ctx) }
        }
    }
}

/// Reads a stored callback parameter; from now on Rust owns `ctx` and
/// calls `release` on it exactly once (when the [`Stored`] drops).
///
/// # Safety
///
/// Callers must ensure that:
/// - `c` is null or points to a valid `StoredC<F>` whose non-null `call`
///   is a function of type `F`, callable with `ctx` from any thread until
///   `release` is called, and whose `release` may be called once with
///   `ctx` from any thread.
pub unsafe fn stored_from_c<F: Copy>(c: *const StoredC<F>) -> Result<Stored<F>, ArgError> {
    nullable_fn::<F>();
    // SAFETY: the caller guarantees a non-null `c` points to a valid `StoredC<F>`.
    let c = unsafe { c.as_ref() }.ok_or(ArgError::Null)?;
    let Some(call) = c.call else {
        if let Some(release) = c.release {
            // SAFETY: the caller guarantees `release` may be called once
            // with `ctx`; Rust keeps nothing of this callback, so this is
            // the only call.
            unsafe { release(c.ctx) }
        }
        return Err(ArgError::Null);
    };
    Ok(Stored {
        call,
        ctx: c.ctx,
        release: c.release,
    })
}

/// A callable that Rust keeps: a parameter type
/// `pyo2::Callback<dyn Fn(A, …) -> R + Send + Sync>` receives a Python
/// callable (or a closure made in Rust with [`Callback::new`]).
///
/// It derefs to the closure, so Rust calls it as `log(msg)`; it can be
/// cloned, stored and called from any thread. The Python callable is kept
/// alive until the last clone is dropped. If the callable raises, the
/// exception comes out of the exported call that is running on this thread
/// (Rust's frames unwinding); on a thread that is inside no exported call
/// the call panics (payload [`CallbackRaised`](crate::abi::CallbackRaised)),
/// Python having reported the exception through `sys.unraisablehook`.
///
/// ```
/// use std::sync::Mutex;
/// static LOGGER: Mutex<Option<pyo2::Callback<dyn Fn(&str) + Send + Sync>>> = Mutex::new(None);
///
/// #[pyo2::export]
/// fn set_logger(log: pyo2::Callback<dyn Fn(&str) + Send + Sync>) {
///     log("logger set");
///     *LOGGER.lock().unwrap() = Some(log);
/// }
/// # set_logger(pyo2::Callback::new(std::sync::Arc::new(|m: &str| assert_eq!(m, "logger set"))));
/// ```
pub struct Callback<F: ?Sized> {
    f: Arc<F>,
}

impl<F: ?Sized> Callback<F> {
    /// A callback calling a Rust closure.
    pub fn new(f: Arc<F>) -> Callback<F> {
        Callback { f }
    }
}

impl<F: ?Sized> Clone for Callback<F> {
    fn clone(&self) -> Self {
        Callback {
            f: Arc::clone(&self.f),
        }
    }
}

impl<F: ?Sized> core::ops::Deref for Callback<F> {
    type Target = F;
    fn deref(&self) -> &F {
        &self.f
    }
}

impl<F: ?Sized> core::fmt::Debug for Callback<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Callback")
    }
}

// ------------------------------------------------------------- descriptors

/// The version of descriptors that spell objects, iterators or callbacks
/// (a loader that reads only [`ABI_VERSION`](crate::abi::ABI_VERSION)
/// refuses them).
pub const OBJECTS_VERSION: u32 = 2;

/// One entry of a class descriptor: its kind (`new`, `method`, `getter`,
/// `static`), the Python name and the C symbol.
pub type ClassEntry = (&'static str, &'static str, &'static str);

/// Builds (once) and returns a class descriptor, what
/// `__pyo2_class__NAME` returns (see [`abi`](crate::abi#objects)).
pub fn describe_class_text(
    cell: &'static OnceLock<std::ffi::CString>,
    name: &str,
    doc: &str,
    entries: &[ClassEntry],
    close: &str,
) -> *const core::ffi::c_char {
    use core::fmt::Write as _;
    cell.get_or_init(|| {
        let mut text = format!("pyo2-class {OBJECTS_VERSION}\nclass {name}\n");
        for (kind, pyname, symbol) in entries {
            let _ = writeln!(text, "{kind} {pyname} {symbol}");
        }
        let _ = write!(text, "close {close}");
        if !doc.is_empty() {
            text.push_str("\n\n");
            text.push_str(doc);
        }
        std::ffi::CString::new(text.replace('\0', "")).unwrap_or_default()
    })
    .as_ptr()
}
