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
//! # A panic's message and location
//!
//! After [`status::PANIC`] the message is the panic's message (its `&str`
//! or `String` payload), then, when pyo2's panic hook saw the panic, its
//! location: a NUL, `pyo2-location`, a NUL, the file, a NUL, the line, a
//! NUL and the column (line and column in decimal). With `␀` for a NUL:
//!
//! ```text
//! index out of bounds: the len is 3 but the index is 5␀pyo2-location␀src/lib.rs␀12␀5
//! ```
//!
//! A file name has no NUL (pyo2 writes any as `?`), so the location is what
//! follows the *last* `\0pyo2-location\0`, and the message may hold anything,
//! NULs and that marker included. Without a location (a hook installed
//! after pyo2's replaced it, or a library built with an older pyo2) the
//! message is all there is. A loader that doesn't know the format shows the
//! location as part of the message, NULs and all; it is valid UTF-8.
//!
//! The hook is installed once, at the first exported call, in front of the
//! hook that was there. While a thread is inside an exported call it
//! records the location and prints nothing, unless `PYO2_PANIC_OUTPUT` was
//! `1` when it was installed, in which case it also calls the previous hook
//! (Rust's prints the panic to stderr). Panics outside exported calls, in
//! the user's own threads for instance, go to the previous hook only.
//!
//! # Owned values and their C mirrors
//!
//! Besides the types above, exported functions take and return owned
//! values and records (issue 12). Each owned type `T` ([`Owned`]) has two
//! C mirrors: `In(T)`, which Python lays out for a parameter, and
//! `Out(T)`, which Rust hands over in a return. Offsets inside every
//! mirror follow C's rules (each field at the next multiple of its
//! alignment; size rounded up to the largest alignment).
//!
//! | `T` | `In(T)` | `Out(T)` |
//! | --- | --- | --- |
//! | scalar (`i8 … u64`, `isize`, `usize`, `f32`, `f64`) | the scalar | the scalar |
//! | `bool` | one byte, 0 or 1 (Python guarantees it) | one byte, 0 or 1 |
//! | `String` | a `PyStr` header `{ptr, len}` inline, UTF-8 checked by Rust | an [`OwnedBuf`] of `len` bytes (UTF-8) |
//! | `Vec<T>` | a `PyVec` header `{ptr, len}` inline, `ptr` to `len` `In(T)` laid out inline | an [`OwnedBuf`] of `len` `Out(T)`s |
//! | `Option<T>` | a pointer to an `In(T)`, `NULL` for `None` | an [`OwnedBuf`] of 0 (`None`) or 1 `Out(T)` |
//! | `[T; N]` (`T` plain) | `N` `T`s inline | `N` `T`s inline |
//! | `(A, B, …)` (2 to 8) | a struct of `In(A)`, `In(B)`, … | a struct of `Out(A)`, `Out(B)`, … ([`Tuple2`] … [`Tuple8`]) |
//! | a plain record | the record itself | the record itself |
//! | an owned record | its `In` struct: `In(field)` of each field, in order | its `Out` struct: `Out(field)` of each field, in order |
//!
//! An `OwnedBuf` inside an `Out` mirror belongs to the outermost
//! [`OwnedBuf`] Python received: Python reads the whole tree, then calls
//! the outermost `drop` **once**, which frees every buffer inside it
//! (calling an inner `drop` first is harmless: it resets that buffer, and
//! the outer `drop` then skips it). Python never frees an `In` mirror's
//! memory through Rust: it is Python's, lent for the call and copied.
//!
//! ## Parameters
//!
//! | Rust parameter (descriptor spelling) | C argument | what the wrapper does |
//! | --- | --- | --- |
//! | `String` | `const PyStr *` (= `In(String) *`) | checks UTF-8, copies (`BAD_ARG` on failure) |
//! | `Vec<T>` (`T` owned) | `const PyVec_InT *` | copies every element (`Vec<String>`: a `PyVec` of inline `PyStr` headers) |
//! | `Option<T>` (`T` owned, scalars too) | `const In(T) *`, `NULL` = `None` | copies (`Option<i64>`: a pointer to an `int64_t`, or `NULL`) |
//! | `Option<&str>`, `Option<&[T]>` | as `&str` / `&[T]`, `NULL` = `None` | as for `&str` / `&[T]` |
//! | `&[&str]` | `const PyVec<&PyStr> *` (pointers to headers, as `&PyVec<&PyStr>`) | checks each item's UTF-8 (`item [i]` in the message), lends a `&[&str]` it builds |
//! | `&[&[T]]` (`T` an element) | `const PyVec<&PyVec<T>> *` | lends a `&[&[T]]` it builds (no copy of the data) |
//! | `&P`, `&mut P` (`P` a plain record) | `const P *` / `P *` | lends Python's record in place (`&mut`: Python writes it back) |
//! | `P` (a plain record by value) | `const P *` | copies the record (never passed by value through libffi) |
//! | `&[P]`, `&mut [P]`, `&PyVec<P>`, `&mut PyVec<P>` | `PyVec_P *`, elements inline | lends in place, zero copy (`&mut`: written back) |
//! | `R` (an owned record by value) | `const In(R) *` | copies (`BAD_ARG`, naming `item [i]` / ``field `f` ``, on bad UTF-8) |
//! | `&[R]` (an owned record) | `const PyVec<In(R)> *`, elements inline | copies into a `Vec<R>`, lends it as `&[R]` |
//!
//! A null pointer where a value is required is `BAD_ARG` (`null
//! pointer`). So is a null element pointer, at any depth, in a parameter
//! whose elements are references (`&PyVec<&PyVec<T>>`, `&mut PyVec<&mut
//! PyVec<T>>`, `&[&str]`, `&[&[T]]`, `&mut [&mut PyVec<T>]`, …): the
//! message names the item, one `item [i]` per level (``parameter `rows`:
//! item [1]: null pointer``, ``parameter `grid`: item [0]: item [2]: null
//! pointer``). The wrapper reads the element pointers as raw pointers
//! ([`Element::check_elements`], one pass over the pointers of nested
//! views, none over scalar data) before it forms any reference to an
//! element. A plain `extern "C"` function marked `#[pyo2::export]` has no
//! wrapper, so no such check: its caller must pass non-null element
//! pointers (pyo2's loader does).
//!
//! `Vec<T>` and `Option<T>` also take records and tuples: an
//! `Option<Person>` is a `const In(Person) *`, a `Vec<Point>` a `const
//! PyVec<Point> *`.
//!
//! ## Returns
//!
//! | Rust return (descriptor spelling) | the slot holds | Python returns |
//! | --- | --- | --- |
//! | `Vec<u8>` | `OwnedBuf` of bytes (unchanged) | `bytes` |
//! | `Vec<T>`, `T` any owned type | `OwnedBuf` of `Out(T)` | a `list` |
//! | `Vec<String>` | `OwnedBuf` of `OwnedBuf`s of bytes | `list[str]` |
//! | `Vec<Vec<T>>` | `OwnedBuf` of `OwnedBuf`s of `Out(T)` | `list[list]` |
//! | `(A, B, …)` | `OwnedBuf` of one `Out((A, B, …))` | a `tuple` |
//! | a record `R` (plain or owned) | `OwnedBuf` of one `Out(R)` | an instance of the record's class |
//! | `Vec<R>` | `OwnedBuf` of `Out(R)`s | a `list` of instances |
//! | `Option<X>`, `Result<X, E>` of any of these | as today: `NONE` / `ERR` status, or `X` | |
//!
//! Every record return is an `OwnedBuf` of one element, plain records
//! too, so one rule reads `R` and `Vec<R>`. `Option<R>` is `NONE` or that.
//!
//! # Records
//!
//! `#[derive(pyo2::Record)]` on a struct `NAME` with named fields makes
//! the library export
//!
//! ```c
//! const char *__pyo2_record__NAME(void);
//! ```
//!
//! returning a NUL-terminated UTF-8 **record descriptor** that lives as
//! long as the library ([`describe_record`], [`record_text`]). A plain
//! record (`#[repr(C)]`, fields scalars, `bool`, `[T; N]` and plain
//! records):
//!
//! ```text
//! pyo2-record 1
//! struct Point plain size=16 align=8 hash=a5502e7d99e7b6fe
//! x: f64 @0
//! y: f64 @8
//!
//! A point in the plane.
//! ```
//!
//! An owned record (no `#[repr]`; fields any [`Owned`] type):
//!
//! ```text
//! pyo2-record 1
//! struct Person owned size=72 align=8 in_size=40 in_align=8 hash=93bda4fe5b999504
//! name: String @0 in@0
//! age: u8 @32 in@16
//! tags: Vec<String> @40 in@24
//!
//! A person, with owned fields.
//! ```
//!
//! - Line 1: `pyo2-record` and the version ([`ABI_VERSION`], the same
//!   number as function descriptors).
//! - Line 2: `struct NAME KIND size=S align=A [in_size=S2 in_align=A2]
//!   hash=H`. `KIND` is `plain` or `owned`. `size`/`align` are those of
//!   the `Out` mirror (for a plain record, the record itself);
//!   `in_size`/`in_align`, only for owned records, those of the `In`
//!   mirror. `H` is 16 lowercase hex digits.
//! - Then one line per field, in declaration order: `FIELD: TYPE @OFF`,
//!   plus ` in@INOFF` for owned records. `TYPE` is spelled as in function
//!   descriptors (`f64`, `bool`, `[u8; 3]`, `String`, `Vec<Vec<f64>>`,
//!   `Option<Point>`, `(u8, String)`); a nested record is spelled by its
//!   name and described by its own `__pyo2_record__NAME` in the same
//!   library. `OFF` is the field's offset in the `Out` mirror, `INOFF` in
//!   the `In` mirror.
//! - If the struct has a doc comment: an empty line, then the doc.
//!
//! `H` is the FNV-1a 64-bit hash of the UTF-8 text of line 2 **without**
//! its ` hash=H` suffix, followed by every field line each preceded by
//! `\n` (i.e. the descriptor's lines 2.. up to the fields, with ` hash=H`
//! removed). It depends only on the name, kind, sizes, alignments and each
//! field's name, type spelling and offsets, never on the library or the
//! doc: the same Rust type compiled into two libraries has the same hash
//! (one Python class), and a different layout under the same name has a
//! different one (a mismatch to report).
//!
//! In a function descriptor, any type name that is not a scalar, `String`,
//! `Vec`, `Option`, `Result`, `PyVec` or `PyStr` is a record, spelled
//! `Point`, `&Point`, `&mut Point`, `&[Point]`, `Vec<Point>`,
//! `Option<Person>`; the loader reads its `__pyo2_record__NAME`.
//!
//! Names are unique per library: the symbol `__pyo2_record__NAME` can be
//! defined once, so two records named alike in one crate are a compile
//! error (`symbol ... is already defined`) and, in two crates linked into
//! one library, a link error. Records defined in an `rlib` are described
//! by every `cdylib` that links it.
//!
//! A plain record must be `#[repr(C)]` (optionally `align(N)`; not
//! `packed`) with only [`PlainField`] fields: a `String` field is a compile
//! error saying to remove `#[repr(C)]`, which makes it an owned record.
//! A struct without `#[repr]` is always an owned record, copied through
//! its mirrors, even if its fields are all scalars.
//!
//! Descriptors that spell none of these new types are exactly as before;
//! a loader that predates them refuses a descriptor that spells one (its
//! parser doesn't know the type), rather than misreading it.
//!
//! # Objects
//!
//! Issue 13: Rust state owned from Python ([`#[pyo2::class]`](crate::class)),
//! Python iterators over Rust iterators ([`Iter`](crate::Iter)) and Python
//! callables called from Rust (`&mut dyn FnMut` and
//! [`Callback`](crate::Callback)). Everything here is **version 2**
//! ([`OBJECTS_VERSION`]); `pyo2 1` descriptors that spell none of it are
//! unchanged, and a loader that reads only version 1 refuses the rest
//! cleanly (it checks the version first).
//!
//! ## The class descriptor
//!
//! `#[pyo2::class] struct NAME` plus one `#[pyo2::methods] impl NAME`
//! block make the library export
//!
//! ```c
//! const char *__pyo2_class__NAME(void);
//! ```
//!
//! returning a NUL-terminated UTF-8 text that lives as long as the library:
//!
//! ```text
//! pyo2-class 2
//! class Tokenizer
//! new new __pyo2_m__Tokenizer__new
//! method encode __pyo2_m__Tokenizer__encode
//! getter seen __pyo2_m__Tokenizer__seen
//! method tokens __pyo2_m__Tokenizer__tokens
//! static builtin_size __pyo2_m__Tokenizer__builtin_size
//! close __pyo2_close__Tokenizer
//!
//! The struct's doc comment, if any.
//! ```
//!
//! - Line 1: `pyo2-class` and the version (2).
//! - Line 2: `class NAME`.
//! - Then one line per method, in source order: `KIND PYNAME SYMBOL`.
//!   `KIND` is `new` (the constructor, at most one), `method` (`&self` or
//!   `&mut self`), `getter` (a `&self` method without parameters: a
//!   read-only property) or `static` (no `self`). `SYMBOL` is the C symbol
//!   to call (today `__pyo2_m__NAME__PYNAME`, but read it from here).
//! - `close SYMBOL`: the class's close entry point (today
//!   `__pyo2_close__NAME`).
//! - If the struct has a doc comment: an empty line, then the doc.
//!
//! Each method's signature is the function descriptor returned by
//! `__pyo2_sig__SYMBOL` (e.g. `__pyo2_sig____pyo2_m__Tokenizer__encode`),
//! in the grammar of exported functions, version 2:
//!
//! ```text
//! pyo2 2
//! fn new(path: &str) -> Result<Self, Error>
//! ```
//!
//! ```text
//! pyo2 2
//! fn encode(&mut self, text: &str) -> Vec<u32>
//! The method's doc comment, if any.
//! ```
//!
//! The parameter list starts with `&self` or `&mut self` for a `method` or
//! `getter`; a `new` returns `Self`, `Result<Self, E>` (the constructor's
//! `Err` raises `pyo2.RustError` like an exported function's). Other
//! types are spelled as for exported functions, plus `Iter<T>` and the
//! callbacks below.
//!
//! ## Handles
//!
//! An object is a `uint64_t` **handle**, never a pointer: an index into
//! the library's registry and a generation, scrambled with a random
//! per-library key. Rust checks every handle against the registry before
//! use: a number that was never a handle of this library (forged, or
//! another library's), a handle of a closed object, or a handle of another
//! class is refused with `BAD_ARG` and a message, never dereferenced:
//!
//! | handle | status | message (after ``parameter `self`: ``) |
//! | --- | --- | --- |
//! | forged, another library's | `BAD_ARG` | `0x… is not a handle of this library (forged, or another library's)` |
//! | closed | `BAD_ARG` | `closed: the object was closed` |
//! | another class | `BAD_ARG` | ``the handle is a `Counter`, not a `Tokenizer` `` |
//!
//! The loader raises `ValueError` for a message starting `closed:` and
//! `TypeError` otherwise. (A loader keeps each object's library with its
//! handle, so a foreign handle only reaches Rust if a user forges it; the
//! check catches it with overwhelming probability, not certainty: a 64-bit
//! number must hit a live index *and* its generation.)
//!
//! ## Calling
//!
//! Every method symbol has the ABI of an exported function ([`Slot`],
//! [`status`]), with the handle first for `&self`/`&mut self` methods:
//!
//! ```c
//! int32_t NEW(P1_C p1, …, Pyo2Slot *slot);               /* OK: slot holds the new uint64_t handle */
//! int32_t METHOD(uint64_t self, P1_C p1, …, Pyo2Slot *slot); /* as an exported function */
//! int32_t STATIC(P1_C p1, …, Pyo2Slot *slot);            /* as an exported function */
//! int32_t CLOSE(uint64_t self, Pyo2Slot *slot);          /* OK, or BAD_ARG if not a live object of the class */
//! ```
//!
//! - **Locking.** Each object has a read-write lock: `&self` methods and
//!   getters run concurrently, a `&mut self` method alone (calls from
//!   other threads wait). The loader needs no lock of its own (ctypes
//!   releases the GIL during the call, so waiting never holds the GIL).
//! - **Re-entrancy.** A call made from a callback, on the same thread, on
//!   an object that an enclosing call holds: a `&self` call inside a
//!   `&self` call runs (it shares the enclosing read lock); a `&mut self`
//!   call inside any call on the object, or any call inside a `&mut self`
//!   call, returns [`status::BUSY`] at once with a message (the loader
//!   raises `RuntimeError`) instead of deadlocking.
//! - **Close and drop.** `CLOSE` removes the handle from the registry
//!   (every later use of it is `BAD_ARG` `closed: …`, a second `CLOSE`
//!   too) and drops the Rust value exactly once: at once if no call is
//!   running on it, else when the last running call returns (on that
//!   call's thread; a panic in `Drop` is then that call's `PANIC`). So
//!   `Drop` never runs while a method runs. The loader calls `CLOSE`
//!   exactly once per object: from `close()` / `__exit__` (a second
//!   `close()` does nothing on Python's side), from the finaliser when the
//!   object is collected, and at interpreter exit (`atexit`) for objects
//!   still alive, so every value is dropped once. A panic in `Drop`
//!   during `CLOSE` is `PANIC`.
//! - A panic in a method is `PANIC` as for functions; the object stays
//!   usable (its lock is not poisoned for later calls).
//! - Objects must be `Send + Sync` (`#[pyo2::class]` fails to compile
//!   otherwise): any Python thread may call any method.
//!
//! # Iterators
//!
//! A function or method returning [`Iter<T>`](crate::Iter) (spelled
//! `Iter<T>`; `T` anything an exported function returns but `Option` and
//! `Result`) writes a [`IterOut`] to the slot on `OK`:
//!
//! ```c
//! typedef struct {
//!     uint64_t handle;
//!     int32_t (*next)(uint64_t handle, Pyo2Slot *slot);
//!     int32_t (*close)(uint64_t handle, Pyo2Slot *slot);
//! } Pyo2Iter;   /* 24 bytes on 64-bit targets */
//! ```
//!
//! `next` is called like a method returning `Option<T>`: `OK` with the
//! next item in the slot (converted as a `T` return is), or `NONE` at the
//! end (the loader raises `StopIteration`); Rust drops its iterator as soon
//! as it is exhausted, and every later `next` is `NONE` again. `close`
//! frees the iterator (exhausted or not) and the handle; the loader calls
//! it once, when the Python iterator is collected (or at exit). The
//! handle is checked like an object's (`BAD_ARG`: forged, closed, or
//! another item type's iterator); `next` re-entered from a callback inside
//! the same iterator's `next` is `BUSY`. The function pointers are the
//! library's: keep them with the handle.
//!
//! # Callbacks
//!
//! Two parameter types take a Python callable. Callback parameters are
//! scalars, `bool` and `&str` ([`CallbackArg`]); returns are scalars,
//! `bool` and `()` ([`CallbackReturn`]).
//!
//! | Rust parameter | descriptor spelling | C argument | valid |
//! | --- | --- | --- | --- |
//! | `&mut dyn FnMut(usize, &str) -> bool` | `&mut dyn FnMut(usize, &str) -> bool` | `const Pyo2FnMut *` ([`ScopedC`]) | during the call only |
//! | `pyo2::Callback<dyn Fn(&str) + Send + Sync>` | `Callback<dyn Fn(&str)>` | `const Pyo2Callback *` ([`StoredC`]) | until Rust calls `release` |
//!
//! (` -> R` is left out for `()`; `Send + Sync` is not spelled.) The
//! macro recognises these two spellings, so a callback type can't hide
//! behind a type alias. "valid" is about `call` and `ctx`: the struct
//! itself is read during the call only (Rust copies its fields), so the
//! loader may reuse its memory once the call returned.
//!
//! ```c
//! typedef struct {
//!     R_C (*call)(void *ctx, A1_C a1, …, int32_t *raised);
//!     void *ctx;
//! } Pyo2FnMut;
//!
//! typedef struct {
//!     R_C (*call)(void *ctx, A1_C a1, …, int32_t *raised);
//!     void *ctx;
//!     void (*release)(void *ctx);
//! } Pyo2Callback;
//! ```
//!
//! | callback type | `Ai_C` | `R_C` (the C return) |
//! | --- | --- | --- |
//! | scalars | the scalar | the scalar |
//! | `bool` | `bool` (one byte, 0 or 1) | `uint8_t`: 0 is `false`, anything else `true` |
//! | `&str` | `const Pyo2StrView *`, a `{const uint8_t *ptr; size_t len;}` header of UTF-8 ([`StrView`]), valid during the callback only, read-only | — |
//! | `()` | — | `void` |
//!
//! The value is returned directly; `raised` points to an `int32_t` that
//! Rust zeroes before each call and reads after it: the callback writes
//! it (any non-zero value) only when Python raised, and then returns any
//! value of `R_C` (Rust ignores it).
//!
//! **The trampoline.** The loader makes one ctypes `CFUNCTYPE` per
//! signature, `call(ctx, args…, raised)`, that finds the Python callable
//! by `ctx` (e.g. a key into a dict), converts the arguments (`&str`:
//! decode `len` bytes at `ptr`), calls it and returns the converted
//! result (ctypes converts it to `R_C`, so the trampoline must hand it a
//! value that converts without loss: an exact `int` in range, a `float`,
//! `0`/`1`). If the callable raises (or the result doesn't convert), it
//! stores the exception in a **per-thread stash**, writes `*raised` and
//! returns a zero value. ctypes trampolines take the GIL, so Rust may
//! call them from any thread; they must stay alive as long as any
//! callback may be called (keep them in a module-level cache).
//!
//! **A raised exception.** When `call` leaves `*raised` non-zero, Rust unwinds its
//! own frames (running destructors) to the exported call running on that
//! thread, which returns [`status::CALLBACK_RAISED`] (slot: a message
//! `OwnedBuf` to free); the loader raises the exception object from its
//! stash (clearing it), so Python sees the very object the callable
//! raised. Until that call returns, every further callback call on that
//! thread unwinds at once without calling Python (even if Rust code
//! caught the unwind), and the call returns `CALLBACK_RAISED` whatever
//! the function did afterwards. The next call starts afresh. A callable
//! may itself call into the library (re-entrancy above); a nested call's
//! `CALLBACK_RAISED` is raised in the callable's frame by the loader as
//! usual. If the exception is raised on a thread that is inside no call
//! of this library (a Rust thread calling a stored `Callback`), Rust has
//! no call to return it from: the loader's trampoline, which knows it
//! isn't inside one of its calls on that thread, reports it with
//! `sys.unraisablehook` instead of stashing it, and Rust unwinds that
//! thread with a [`CallbackRaised`] payload (Rust code there may catch it).
//!
//! **Scoped** (`&mut dyn FnMut`): `ctx` must stay valid until the outer
//! call returns; Rust never calls `call` after that.
//!
//! **Stored** ([`Callback`](crate::Callback)): by passing a
//! `Pyo2Callback`, Python gives Rust one reference to `ctx`. Rust calls
//! `release(ctx)` **exactly once**, when it drops the last clone of the
//! callback: possibly during the call (the function didn't keep it, or
//! the call failed, `BAD_ARG` for another parameter included), possibly
//! much later, from any thread, with or without the GIL. So `release` is a
//! ctypes `CFUNCTYPE` too (it takes the GIL) that drops the loader's
//! reference to the callable; `call` may run on any thread, concurrently
//! with Python code and `gc.collect()`. A `Pyo2Callback` with a null
//! `call` is `BAD_ARG` (`null pointer`), its `release` still called once;
//! a null `release` means "nothing to release". Rust never drops the
//! contents of statics at exit, so a callback stored in a static is never
//! released after interpreter shutdown.
//!
//! # The uniform entry point
//!
//! Next to its typed symbol and its descriptor, every function the
//! attribute wraps (`#[pyo2::export] fn NAME`, not the describe-only
//! `#[no_mangle] extern "C"` form) has a second entry point with one C
//! signature for all functions, for a caller that calls functions it
//! learns about at run time without building a C call for each signature
//! (pyo2's compiled accelerator):
//!
//! ```c
//! typedef union { int64_t i64; uint64_t u64; double f64; const void *ptr; } Pyo2Arg; /* 8 bytes, 8-aligned */
//! int32_t __pyo2_call__NAME(const Pyo2Arg *args, size_t nargs, Pyo2Slot *slot);
//! ```
//!
//! Each method of a `#[pyo2::methods]` block has one too, named with the
//! same prefix before the method's symbol: `__pyo2_call____pyo2_m__CLASS__METHOD`
//! (read the method's symbol from the class descriptor, then prefix it).
//! A class's `close` has none.
//!
//! - `args[i]` ([`ArgSlot`]) holds parameter `i`'s C value, the very
//!   [`Param::C`] the typed symbol takes (the scalar itself, `bool` as one
//!   byte 0 or 1, or the pointer to its header, mirror or callback struct),
//!   at offset 0 of the 8-byte slot, in native representation: a `u8` is
//!   the slot's first byte, an `f32` its first 4 bytes; the other bytes
//!   are ignored. A `&self` / `&mut self` method's handle (`uint64_t`) is
//!   `args[0]`, its parameters follow. Every C value of a parameter type
//!   pyo2 defines fits (at most 8 bytes, aligned to at most 8); a
//!   hand-written [`Param`] whose `C` doesn't fails to compile.
//! - `nargs` must be the number of parameters (the handle included), else
//!   the call is [`status::BAD_ARG`] with the message `expected N
//!   arguments, got M` in the slot. `args` may be null only when `nargs`
//!   is 0 (else `BAD_ARG`, `args is null but nargs is M`).
//! - Then the call is exactly the typed symbol's, with these arguments (the
//!   entry point calls the same generated wrapper): same statuses, same
//!   slot contents, same checks of each argument (`BAD_ARG` naming the
//!   parameter), same panic catching, same ownership of what the slot
//!   holds.
//!
//! Its version is the descriptor's version line: the uniform entry point
//! of a function whose descriptor says `pyo2 N` has the ABI above as of
//! version `N`, and an incompatible change of it bumps `N`. A loader that
//! predates it never looks the symbol up, so older loaders keep working;
//! loaders list no `__pyo2_call__*` symbol as a function of the library.
//!
//! # Releasing the GIL
//!
//! `#[pyo2::export(release_gil)]` on a function (either form), or
//! `#[release_gil]` on a method of a `#[pyo2::methods]` block, adds one
//! symbol to the function's others:
//!
//! ```c
//! const uint8_t __pyo2_release_gil__SYMBOL = 1;
//! ```
//!
//! `SYMBOL` is the function's C symbol: `__pyo2_release_gil__f` for
//! `fn f`, the `#[no_mangle]` / `#[export_name]` symbol of the
//! describe-only form, and for a method the symbol its class descriptor
//! names (`__pyo2_release_gil____pyo2_m__CLASS__METHOD`, as for the
//! uniform entry point). The marker is data, not a function (an
//! `STT_OBJECT` in an ELF symbol table), one byte holding 1: its presence
//! is the mark, and a loader needs only to look it up (a dependency's
//! symbol of that name doesn't count).
//!
//! It asks the loader to release the GIL during every call of the
//! function, whatever its parameters: a long-running function that takes
//! only scalars (a simulation step, a wait, a blocking read) then lets
//! other Python threads run. Nothing else changes: the function, its typed
//! symbol, its uniform entry point and its descriptor (the same text and
//! version) are the unmarked function's.
//!
//! pyo2's loader reads the mark when it makes the compiled accelerator's
//! function (see [the uniform entry point](self#the-uniform-entry-point)),
//! which otherwise releases the GIL only for calls that pass a list or a
//! text: for a scalar-only call, releasing and re-acquiring it costs more
//! than the call. The pure-Python path calls through ctypes, which releases
//! the GIL in every call, marked or not, except a call that lends a
//! writable buffer in place: that one keeps it, so that no Python code
//! changes the buffer while Rust holds a view of it, and the mark doesn't
//! change that. A describe-only `extern "C"` function is always called
//! through ctypes; its mark tells other loaders, and `python -m pyo2
//! inspect` shows it.
//!
//! Compatibility both ways: a loader that predates the mark reads the same
//! descriptor, loads the function as before (releasing the GIL by its own
//! rule) and never lists the marker among the library's functions, which
//! it reads as `STT_FUNC` symbols; a library that predates the mark has no
//! marker, and a newer loader treats its functions as unmarked.
//!
//! # Sealed and unsafe traits
//!
//! The loader trusts each trait here to say what crosses the boundary, so
//! none of them can be implemented wrongly in safe code: [`Scalar`],
//! [`Return`] (and with it [`Plain`] and [`NotResult`]), [`Lend`],
//! [`ExternParam`] and [`ExternReturn`] are sealed (implemented by pyo2
//! only), and so are [`New`], [`CallbackArg`] and [`CallbackReturn`];
//! [`Element`], [`Param`], [`SliceItem`], [`Owned`], [`PlainField`],
//! [`Record`], [`PlainRecord`] and [`Class`] are `unsafe` to implement
//! (`#[derive(pyo2::Record)]` implements the last ones, checking what it
//! promises).
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
    /// The function panicked; the slot holds the panic message as an
    /// [`OwnedBuf`](super::OwnedBuf), followed by the panic's location
    /// when known (see [the format](super#a-panics-message-and-location)).
    pub const PANIC: i32 = 3;
    /// An argument was invalid (null pointer, invalid UTF-8 for `&str`); the
    /// slot holds a message naming it, as an [`OwnedBuf`](super::OwnedBuf).
    pub const BAD_ARG: i32 = 4;
    /// A callback (a Python callable passed to Rust) raised an exception
    /// during the call; Rust unwound its own frames (running destructors).
    /// The slot holds a message as an [`OwnedBuf`](super::OwnedBuf); the
    /// loader raises the exception it stashed instead.
    pub const CALLBACK_RAISED: i32 = 5;
    /// A method was called re-entrantly (from a callback, on the same
    /// thread) on an object that an enclosing call holds in a way that
    /// excludes it (`&mut self` inside any call on the object, or any
    /// call inside a `&mut self` call). The slot holds a message as an
    /// [`OwnedBuf`](super::OwnedBuf); the loader raises `RuntimeError`.
    pub const BUSY: i32 = 6;
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

/// One argument of a [uniform entry point](self#the-uniform-entry-point):
/// 8 bytes aligned to 8, holding a parameter's [`Param::C`] at offset 0 in
/// its native representation (a `u8` is the first byte, an `f32` the first
/// 4 bytes, a pointer the first pointer-sized bytes); the other bytes are
/// ignored.
///
/// # C layout
///
/// ```c
/// typedef union { int64_t i64; uint64_t u64; double f64; const void *ptr; } Pyo2Arg;
/// ```
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub union ArgSlot {
    /// A signed integer (any `iN` is read from the first bytes).
    pub i64: i64,
    /// An unsigned integer or a handle.
    pub u64: u64,
    /// A double.
    pub f64: f64,
    /// A pointer (to a header, a mirror or a callback struct).
    pub ptr: *const core::ffi::c_void,
}

const _: () = assert!(size_of::<ArgSlot>() == 8 && align_of::<ArgSlot>() == 8);

impl ArgSlot {
    /// A slot holding `value` at offset 0 (the other bytes zero), for
    /// callers written in Rust: `ArgSlot::new(3_u8)`,
    /// `ArgSlot::new(&header as *const PyStr)`.
    ///
    /// Fails to compile if a `T` is bigger than 8 bytes or aligned to more.
    pub fn new<T: Copy>(value: T) -> ArgSlot {
        arg_fits::<T>();
        let mut slot = ArgSlot { u64: 0 };
        // SAFETY: `arg_fits` checked that a `T` fits at offset 0 of the
        // 8-byte, 8-aligned slot; `slot` is a live local, valid for writes.
        unsafe { (&mut slot as *mut ArgSlot).cast::<T>().write(value) };
        slot
    }
}

/// Fails to compile (when instantiated) unless a `T` fits in an [`ArgSlot`].
const fn arg_fits<T>() {
    const {
        assert!(
            size_of::<T>() <= size_of::<ArgSlot>() && align_of::<T>() <= align_of::<ArgSlot>(),
            "a parameter whose C type is bigger than 8 bytes (or aligned to more) can't go \
             through the uniform entry point"
        )
    }
}

/// Checks the argument array of a [uniform entry
/// point](self#the-uniform-entry-point) of a function with `expected`
/// parameters (the handle included for a method).
///
/// # Errors
///
/// When `nargs != expected`, or `args` is null while `nargs > 0`, writes
/// the message (`expected N arguments, got M`, or `args is null but nargs
/// is M`) to `slot` as an [`OwnedBuf`] and returns [`status::BAD_ARG`] as
/// the `Err`, which the entry point returns.
///
/// # Safety
///
/// Callers must ensure that:
/// - `slot` is valid for writes of a [`Slot`] (its old contents are
///   overwritten, not dropped).
#[inline]
pub unsafe fn check_args(
    args: *const ArgSlot,
    nargs: usize,
    expected: usize,
    slot: *mut Slot,
) -> Result<(), i32> {
    if nargs == expected && (nargs == 0 || !args.is_null()) {
        return Ok(());
    }
    // SAFETY: the caller's guarantee is `bad_args`'.
    Err(unsafe { bad_args(nargs, expected, slot) })
}

/// The refusal of [`check_args`], out of the way of the hot path.
///
/// # Safety
///
/// Callers must ensure that:
/// - `slot` is valid for writes of a [`Slot`].
#[cold]
#[inline(never)]
unsafe fn bad_args(nargs: usize, expected: usize, slot: *mut Slot) -> i32 {
    let message = if nargs != expected {
        let s = if expected == 1 { "" } else { "s" };
        format!("expected {expected} argument{s}, got {nargs}")
    } else {
        format!("args is null but nargs is {nargs}")
    };
    // SAFETY: the caller guarantees `slot` is valid for writes of a `Slot`,
    // and an `OwnedBuf` fits in one (checked at compile time).
    unsafe {
        slot.cast::<OwnedBuf>()
            .write(OwnedBuf::from_string(message))
    };
    status::BAD_ARG
}

/// Reads argument `i` of a [uniform entry
/// point](self#the-uniform-entry-point) as a `C` (a parameter's
/// [`Param::C`]) from offset 0 of its slot.
///
/// Fails to compile if a `C` is bigger than 8 bytes or aligned to more.
///
/// # Safety
///
/// Callers must ensure that:
/// - `args` is non-null, aligned and valid for reads of more than `i`
///   [`ArgSlot`]s;
/// - the first `size_of::<C>()` bytes of slot `i` are initialised and a
///   valid `C` (for `bool`: 0 or 1; a pointer keeps the provenance it was
///   written with).
pub unsafe fn read_arg<C: Copy>(args: *const ArgSlot, i: usize) -> C {
    arg_fits::<C>();
    // SAFETY:
    // - `args.add(i)` stays inside the caller's array of more than `i`
    //   slots, and is aligned to 8;
    // - `arg_fits` checked that a `C` fits at offset 0 of the slot with an
    //   alignment of at most 8, so the read is in bounds and aligned;
    // - the caller guarantees those bytes are a valid `C`.
    unsafe { args.add(i).cast::<C>().read() }
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
    /// C `drop` field, exactly once. Freeing drops every element, so a
    /// buffer of buffers (or of records that hold buffers) frees everything
    /// it holds, recursively, with its one `drop`.
    pub fn from_vec<T: Send + 'static>(v: Vec<T>) -> OwnedBuf {
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

    /// A pointer to the first element (null when the buffer owns nothing).
    pub fn as_ptr(&self) -> *const core::ffi::c_void {
        self.ptr
    }

    /// The elements of the buffer (`len` of them).
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - `T` is the element type the buffer was made from (for a returned
    ///   value, the `Out` mirror the descriptor's type has).
    pub unsafe fn as_slice<T>(&self) -> &[T] {
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

// SAFETY: an `OwnedBuf` owns a `Vec<T>` with `T: Send` (the bound of
// `from_vec`, its only constructor of owning buffers) and a plain function
// pointer; moving it to another thread moves that `Vec`, which is sound.
unsafe impl Send for OwnedBuf {}

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
unsafe extern "C" fn drop_vec<T>(buf: *mut OwnedBuf) {
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
pub(crate) mod sealed {
    /// Seals [`Scalar`](super::Scalar).
    pub trait Sealed {}
    /// Seals [`Return`](super::Return).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` can't be returned by a function exported with #[pyo2::export]",
        note = "return a scalar, bool, (), String, Vec<T>, a tuple, a record (#[derive(pyo2::Record)]), \
                an Option of those, or a Result of those with an error type that implements Display"
    )]
    pub trait SealedReturn {}
    /// Seals [`ExternParam`](super::ExternParam).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` can't be a parameter of a plain extern \"C\" function marked #[pyo2::export]",
        note = "its C ABI must be what pyo2 passes: a scalar, bool, &PyStr, &PyVec<T> or &mut PyVec<T>",
        note = "for &str, &[T] and &mut [T], remove `extern \"C\"` and #[no_mangle] and let #[pyo2::export] write the wrapper"
    )]
    pub trait SealedExternParam {}
    /// Seals [`Lend`](super::Lend).
    pub trait SealedLend {}
    /// Seals [`ExternReturn`](super::ExternReturn).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` can't be returned by a plain extern \"C\" function marked #[pyo2::export]",
        note = "return a scalar, bool or (); for String, Vec<T>, Option and Result, remove \
                `extern \"C\"` and #[no_mangle] and let #[pyo2::export] write the wrapper"
    )]
    pub trait SealedExternReturn {}
    /// Seals [`New`](super::New).
    #[diagnostic::on_unimplemented(
        message = "a #[new] constructor returns `Self` or `Result<Self, E>` (E: Display), not `{Self}`"
    )]
    pub trait SealedNew {}
    /// Seals [`CallbackArg`](super::CallbackArg).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` can't be a parameter of a callback",
        note = "callback parameters are scalars, bool and &str"
    )]
    pub trait SealedCallbackArg {}
    /// Seals [`CallbackReturn`](super::CallbackReturn).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` can't be returned by a callback",
        note = "callbacks return scalars, bool or ()"
    )]
    pub trait SealedCallbackReturn {}
}

pub use crate::objects::{
    callback_enter, callback_return, callback_status, close, describe_callback_return,
    describe_class_text, live_objects, new_object, object, scoped_from_c, stored_from_c,
    CallbackArg, CallbackRaised, CallbackReturn, Class, ClassEntry, Created, IterOut, New, Object,
    Scoped, ScopedC, Stored, StoredC, StrView, OBJECTS_VERSION,
};

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
/// A C caller may put a null pointer where an element is a reference (a
/// `NULL` among the header pointers of a `PyVec<&PyVec<T>>`, at any
/// depth): the wrappers refuse it as `BAD_ARG` naming the item (`item
/// [1]: null pointer`, `item [0]: item [2]: null pointer` two levels down)
/// with [`check_elements`](Self::check_elements), which reads the element
/// pointers as raw pointers before any reference to an element is formed.
///
/// # Safety
///
/// Implementors must ensure that:
/// - Python's layout of the element, as [`describe`](Self::describe)
///   spells it, is exactly `Self`'s (a scalar, or one pointer to a `PyVec`
///   header);
/// - every borrow inside `Self` lasts at most `'a`;
/// - [`check_elements`](Self::check_elements) returns `Ok` only if every
///   bit pattern Python may have written (per the contract of
///   [`Param::from_c`], where pointers to headers may be null) is a valid
///   `Self`: the default, which checks nothing, is right only for types
///   without references (scalars, plain records).
pub unsafe trait Element<'a> {
    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);

    /// Checks the `len` elements at `elems` as raw data, before any
    /// reference to them is formed: for a reference element (`&PyVec<T>`,
    /// `&mut PyVec<T>`), that no pointer is null, then the elements of
    /// each header it points to, recursively. Scalars and plain records
    /// have nothing to check (the default). A null `elems` is an empty
    /// array, whatever `len` says.
    ///
    /// # Errors
    ///
    /// [`ArgError::Null`] for the first null pointer, inside one
    /// `item [i]` per level ([`ArgError::at_item`]).
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - `elems` is null, or aligned and valid for reads of `len`
    ///   consecutive elements in Python's layout of `Self` (for a
    ///   reference element, `len` pointer words), as
    ///   [`PyVec::from_raw_parts`] requires;
    /// - every non-null pointer inside them, all the way down, is valid as
    ///   [`Param::from_c`] requires (a null pointer to a header is what
    ///   this refuses).
    unsafe fn check_elements(elems: *const Self, len: usize) -> Result<(), ArgError>
    where
        Self: Sized,
    {
        let _ = (elems, len);
        Ok(())
    }
}

// SAFETY: Python lays elements of a scalar type out as that C scalar; a
// scalar borrows nothing, and every bit pattern Python writes for it is
// valid (`bool` is 0 or 1), so there is nothing to check.
unsafe impl<T: Scalar> Element<'_> for T {
    fn describe(out: &mut String) {
        T::describe(out)
    }
}

// SAFETY: an element `&'a PyVec<T>` is one pointer to a header, borrowed
// for `'a`, and its own elements borrow for `'a` too; `check_elements`
// refuses a null one, and recurses into the header's elements.
unsafe impl<'a, T: Element<'a>> Element<'a> for &'a PyVec<T> {
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&")
    }
    unsafe fn check_elements(elems: *const Self, len: usize) -> Result<(), ArgError> {
        // SAFETY:
        // - a `&PyVec<T>` and a `*const PyVec<T>` have the same size,
        //   alignment and layout (one thin pointer), so `elems` is valid for
        //   reads of `len` pointer words, as `check_headers` requires;
        // - the pointers inside the headers are valid down to the elements,
        //   null header pointers excepted (the caller's guarantee).
        unsafe { check_headers::<T>(elems.cast::<*const PyVec<T>>(), len) }
    }
}

// SAFETY: an element `&'a mut PyVec<T>` is one pointer to a header, each
// distinct (Python refuses to pass the same list twice), borrowed for
// `'a`, and its own elements borrow for `'a` too; `check_elements`
// refuses a null one, and recurses into the header's elements.
unsafe impl<'a, T: Element<'a>> Element<'a> for &'a mut PyVec<T> {
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&mut ")
    }
    unsafe fn check_elements(elems: *const Self, len: usize) -> Result<(), ArgError> {
        // SAFETY:
        // - a `&mut PyVec<T>` and a `*const PyVec<T>` have the same size,
        //   alignment and layout (one thin pointer), so `elems` is valid for
        //   reads of `len` pointer words, as `check_headers` requires;
        // - the pointers inside the headers are valid down to the elements,
        //   null header pointers excepted (the caller's guarantee).
        unsafe { check_headers::<T>(elems.cast::<*const PyVec<T>>(), len) }
    }
}

/// Refuses a null pointer among `len` pointers to headers, then checks
/// each header's elements with [`Element::check_elements`], reading every
/// pointer and header through raw pointers (no reference to a header or
/// an element is formed).
///
/// # Safety
///
/// Callers must ensure that:
/// - `elems` is null, or aligned and valid for reads of `len` consecutive
///   pointer words;
/// - each of those pointers is null or points to a header valid as
///   [`PyVec::from_raw_parts`] requires, whose elements are valid as
///   [`Element::check_elements`] requires for `T`.
unsafe fn check_headers<'a, T: Element<'a>>(
    elems: *const *const PyVec<T>,
    len: usize,
) -> Result<(), ArgError> {
    if elems.is_null() {
        return Ok(());
    }
    for i in 0..len {
        // SAFETY:
        // - `i < len` and `elems` is non-null, aligned and valid for reads of
        //   `len` pointer words (the caller's guarantee), so `elems.add(i)`
        //   stays inside that array and the read is in bounds and aligned;
        // - the word is read as a raw pointer, for which every value (null
        //   included) is valid, so no reference to a header is formed.
        let header = unsafe { elems.add(i).read() };
        if header.is_null() {
            return Err(ArgError::Null.at_item(i));
        }
        // SAFETY:
        // - `header` is non-null, so by the caller's guarantee it is aligned
        //   and valid for reads of one header.
        let (inner, n) = unsafe { PyVec::raw_parts(header) };
        // SAFETY:
        // - `inner` is null, or (a valid header's non-null `ptr`, the
        //   caller's guarantee) aligned and valid for reads of `n` elements
        //   of `T`, whose own pointers are valid down to the elements, null
        //   header pointers excepted.
        unsafe { T::check_elements(inner, n) }.map_err(|e| e.at_item(i))?;
    }
    Ok(())
}

/// Refuses a null `c`, and then a null pointer anywhere among its
/// elements (see [`Element::check_elements`]), before any reference to
/// the header or its elements is formed.
///
/// # Safety
///
/// Callers must ensure that:
/// - a non-null `c` points to a header valid as [`PyVec::from_raw_parts`]
///   requires, whose elements are valid as [`Element::check_elements`]
///   requires for `T`.
unsafe fn check_vec<'a, T: Element<'a>>(c: *const PyVec<T>) -> Result<(), ArgError> {
    if c.is_null() {
        return Err(ArgError::Null);
    }
    // SAFETY:
    // - `c` is non-null, so by the caller's guarantee it is aligned and valid
    //   for reads of one header.
    let (elems, len) = unsafe { PyVec::raw_parts(c) };
    // SAFETY:
    // - `elems` is null, or a valid header's non-null `ptr`: aligned and
    //   valid for reads of `len` elements of `T` (the caller's guarantee);
    // - the pointers inside those elements are valid down to the elements,
    //   null header pointers excepted (the caller's guarantee).
    unsafe { T::check_elements(elems, len) }
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
    /// A handle (`self` of a method, an iterator) is not a live object of
    /// the right class of this library: forged, another library's, closed,
    /// or of another class. The message says which.
    #[error("{0}")]
    Handle(String),
    /// The object is held by an enclosing call on this thread (see
    /// [`status::BUSY`]).
    #[error("{0}")]
    Busy(String),
    /// The error is inside the argument: at an item (`item [2]`) or a
    /// record's field (`field `name``).
    #[error("{at}: {error}")]
    At {
        /// Where, as `item [i]` or ``field `name` ``.
        at: String,
        /// What is wrong there.
        error: Box<ArgError>,
    },
}

impl ArgError {
    /// This error, inside item `index` of a list.
    pub fn at_item(self, index: usize) -> ArgError {
        ArgError::At {
            at: format!("item [{index}]"),
            error: Box::new(self),
        }
    }

    /// This error, inside the field `name` of a record.
    pub fn at_field(self, name: &str) -> ArgError {
        ArgError::At {
            at: format!("field `{name}`"),
            error: Box::new(self),
        }
    }
}

/// A parameter type of an exported function.
///
/// Implemented for every [`Scalar`], `&'a PyStr`, `&'a PyVec<T>`,
/// `&'a mut PyVec<T>` (`T` an [`Element<'a>`](Element)), the sugar
/// `&'a str`, `&'a [T]` (`T` a [`SliceItem<'a>`](SliceItem)) and
/// `&'a mut [T]`, the owned `String`, `Vec<T>` and `Option<T>` (`T`
/// [`Owned`]), `Option<&'a str>`, `Option<&'a [T]>`, every [`Record`] by
/// value, and `&'a T` / `&'a mut T` for a [`PlainRecord`]: every borrow in
/// the parameter lasts at most the call's `'a`.
///
/// The wrapper first builds a [`Held`](Self::Held) from the C value (the
/// parameter itself in a [`Direct`], or storage such as the `Vec<&str>`
/// behind a `&[&str]`), then lends it to the function with [`Lend`].
///
/// # Safety
///
/// Implementors must ensure that:
/// - [`describe`](Self::describe) spells a type whose Python-side C value is
///   exactly [`C`](Self::C);
/// - every borrow inside `Self` and [`Held`](Self::Held) lasts at most `'a`,
///   so that nothing built by [`from_c`](Self::from_c) can outlive the
///   memory Python lent.
pub unsafe trait Param<'a>: Sized {
    /// The C type of the argument. It must fit in an [`ArgSlot`] (at most
    /// 8 bytes, aligned to at most 8) for the
    /// [uniform entry point](self#the-uniform-entry-point): an exported
    /// function with a parameter whose `C` doesn't fails to compile.
    type C: Copy;

    /// What the wrapper keeps during the call and lends to the function
    /// through [`Lend`].
    type Held;

    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);

    /// Builds the parameter (or its storage) from its C value, checking
    /// what can be checked.
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - `c` is the C value the [module documentation](self) specifies for
    ///   the type [`describe`](Self::describe) spells: a non-null pointer
    ///   in it points to a valid value of that C form (`PyVec` headers,
    ///   records, pointers inside them, all the way down), valid, as
    ///   [`PyVec::from_raw_parts`] requires, for all of `'a` (a null
    ///   pointer, `c` itself or one to a header among the elements at any
    ///   depth, is allowed: it is refused as [`ArgError`]);
    /// - for `&mut` types, nothing else accesses that memory during `'a`.
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError>;
}

/// A parameter the wrapper holds as itself (see [`Param::Held`]).
#[derive(Debug)]
pub struct Direct<T>(Option<T>);

impl<T> Direct<T> {
    /// Holds `value`.
    pub fn new(value: T) -> Direct<T> {
        Direct(Some(value))
    }

    /// The value, if it was not lent yet.
    pub fn into_inner(self) -> Option<T> {
        self.0
    }
}

/// Lends what the wrapper holds for a parameter to the function, for the
/// borrow `'b` of the holder: `&'b [&'a str]` from a `Vec<&'a str>`, the
/// value itself from a [`Direct`].
///
/// Sealed: implemented by pyo2 only.
pub trait Lend<'b, T>: sealed::SealedLend {
    /// The parameter. A [`Direct`] gives its value once.
    fn lend(&'b mut self) -> T;
}

impl<T> sealed::SealedLend for Direct<T> {}
impl<T> Lend<'_, T> for Direct<T> {
    fn lend(&mut self) -> T {
        // The wrapper lends each parameter exactly once, so the value is
        // there; were it not, the panic is caught like any other.
        self.0.take().expect("pyo2: a parameter is lent once")
    }
}

impl<T> sealed::SealedLend for Vec<T> {}
impl<'b, T> Lend<'b, &'b [T]> for Vec<T> {
    fn lend(&'b mut self) -> &'b [T] {
        self
    }
}

impl<H> sealed::SealedLend for Option<H> {}
impl<'b, T, H: Lend<'b, T>> Lend<'b, Option<T>> for Option<H> {
    fn lend(&'b mut self) -> Option<T> {
        self.as_mut().map(Lend::lend)
    }
}

macro_rules! scalar_params {
    ($($t:ident)*) => {$(
        // SAFETY: a scalar crosses by value, as the same C type.
        unsafe impl Param<'_> for $t {
            type C = $t;
            type Held = Direct<$t>;
            fn describe(out: &mut String) {
                out.push_str(stringify!($t));
            }
            unsafe fn from_c(c: $t) -> Result<Direct<$t>, ArgError> {
                Ok(Direct::new(c))
            }
        }
    )*};
}
scalar_params!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize f32 f64 bool);

// SAFETY: `&PyVec<T>` crosses as a pointer to its header.
unsafe impl<'a, T: Element<'a>> Param<'a> for &'a PyVec<T> {
    type C = *const PyVec<T>;
    type Held = Direct<Self>;
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&")
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        // SAFETY:
        // - a non-null `c` points to a valid header whose elements are valid
        //   down to the elements, null header pointers excepted (the
        //   caller's guarantee).
        unsafe { check_vec(c) }?;
        // SAFETY:
        // - `check_vec` refused a null `c`, and the caller guarantees a
        //   non-null one is valid for `'a`;
        // - `check_vec` refused every null pointer among the elements, all
        //   the way down, so every element is a valid `T`.
        let v = unsafe { c.as_ref() }.ok_or(ArgError::Null)?;
        Ok(Direct::new(v))
    }
}

// SAFETY: `&mut PyVec<T>` crosses as a pointer to its header.
unsafe impl<'a, T: Element<'a>> Param<'a> for &'a mut PyVec<T> {
    type C = *mut PyVec<T>;
    type Held = Direct<Self>;
    fn describe(out: &mut String) {
        describe_vec::<T>(out, "&mut ")
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        // SAFETY:
        // - a non-null `c` points to a valid header whose elements are valid
        //   down to the elements, null header pointers excepted (the
        //   caller's guarantee); `check_vec` only reads them.
        unsafe { check_vec(c.cast_const()) }?;
        // SAFETY:
        // - `check_vec` refused a null `c`, and the caller guarantees a
        //   non-null one is valid and exclusive for `'a`;
        // - `check_vec` refused every null pointer among the elements, all
        //   the way down, so every element is a valid `T`.
        let v = unsafe { c.as_mut() }.ok_or(ArgError::Null)?;
        Ok(Direct::new(v))
    }
}

/// `&'a str` from a `PyStr` header: checked UTF-8.
///
/// # Safety
///
/// Callers must ensure that:
/// - a non-null `c` points to a `PyStr` header valid, as
///   [`PyVec::from_raw_parts`] requires, for all of `'a`.
unsafe fn str_from_c<'a>(c: *const PyStr) -> Result<&'a str, ArgError> {
    // SAFETY: the caller guarantees a non-null `c` is valid for `'a`.
    let s: &'a PyStr = unsafe { c.as_ref() }.ok_or(ArgError::Null)?;
    Ok(s.as_str()?)
}

// SAFETY: `&str` crosses as a pointer to a `PyStr` header.
unsafe impl<'a> Param<'a> for &'a str {
    type C = *const PyStr;
    type Held = Direct<Self>;
    fn describe(out: &mut String) {
        out.push_str("&str")
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        // SAFETY: the caller's guarantee is `str_from_c`'s.
        Ok(Direct::new(unsafe { str_from_c(c) }?))
    }
}

/// An element type of a `&'a [T]` parameter: how Python lays out the
/// elements ([`View`](Self::View)) and what the wrapper builds from them
/// ([`Held`](Self::Held)).
///
/// Implemented for every [`Element<'a>`](Element) (lent in place, zero
/// copy), `&'a str` (a `PyVec<&PyStr>`, each item checked UTF-8, lent as a
/// `&[&str]` the wrapper builds), `&'a [T]` (a `PyVec<&PyVec<T>>`, `T` an
/// element, lent as a `&[&[T]]` the wrapper builds) and owned records (a
/// `PyVec` of the record's `In` mirror, copied into a `Vec` of records that
/// the wrapper lends as a slice; `#[derive(pyo2::Record)]` implements it).
///
/// # Safety
///
/// Implementors must ensure that:
/// - [`describe`](Self::describe) spells a type whose Python-side element
///   is exactly a [`View`](Self::View);
/// - every borrow inside `Self` and [`Held`](Self::Held) lasts at most `'a`;
/// - [`hold`](Self::hold) refuses a null pointer among the elements
///   (with [`Element::check_elements`]) before it forms a reference to
///   any element whose view holds references.
pub unsafe trait SliceItem<'a>: Sized {
    /// One element of the `PyVec` Python passes.
    type View: 'a;
    /// What the wrapper keeps and lends as `&[Self]`.
    type Held: for<'b> Lend<'b, &'b [Self]>;
    /// Appends the Rust spelling of the element type to `out`.
    fn describe(out: &mut String);
    /// Builds the held slice.
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - every non-null pointer inside the elements of `v` is valid, as
    ///   the [module documentation](self) specifies for the element type
    ///   [`describe`](Self::describe) spells, for all of `'a` (a null
    ///   pointer to a header is refused as [`ArgError::Null`], naming the
    ///   item).
    unsafe fn hold(v: &'a PyVec<Self::View>) -> Result<Self::Held, ArgError>;
}

/// A slice lent in place (see [`SliceItem`]).
#[derive(Debug)]
pub struct InPlace<'a, T>(&'a [T]);

impl<T> sealed::SealedLend for InPlace<'_, T> {}
impl<'b, T> Lend<'b, &'b [T]> for InPlace<'_, T> {
    fn lend(&'b mut self) -> &'b [T] {
        self.0
    }
}

// SAFETY: an element crosses in place: the view's elements are the slice.
unsafe impl<'a, T: Element<'a> + 'a> SliceItem<'a> for T {
    type View = T;
    type Held = InPlace<'a, T>;
    fn describe(out: &mut String) {
        T::describe(out)
    }
    unsafe fn hold(v: &'a PyVec<T>) -> Result<InPlace<'a, T>, ArgError> {
        // SAFETY:
        // - `v.as_ptr()` is null, or aligned and valid for reads of
        //   `v.len()` elements (the header's invariant);
        // - the pointers inside them are valid down to the elements, null
        //   header pointers excepted (the caller's guarantee).
        unsafe { T::check_elements(v.as_ptr(), v.len()) }?;
        Ok(InPlace(v.as_slice()))
    }
}

// SAFETY: a `&str` element is a pointer to a `PyStr` header, checked here.
unsafe impl<'a> SliceItem<'a> for &'a str {
    type View = &'a PyStr;
    type Held = Vec<&'a str>;
    fn describe(out: &mut String) {
        out.push_str("&str")
    }
    unsafe fn hold(v: &'a PyVec<&'a PyStr>) -> Result<Vec<&'a str>, ArgError> {
        // SAFETY:
        // - `v.as_ptr()` is null, or aligned and valid for reads of
        //   `v.len()` pointer words (the header's invariant);
        // - each non-null one points to a valid `PyStr` header (the
        //   caller's guarantee).
        unsafe { <&'a PyStr as Element<'a>>::check_elements(v.as_ptr(), v.len()) }?;
        v.iter()
            .enumerate()
            .map(|(i, s)| s.as_str().map_err(|e| ArgError::from(e).at_item(i)))
            .collect()
    }
}

// SAFETY: a `&[T]` element is a pointer to a `PyVec<T>` header.
unsafe impl<'a, T: Element<'a> + 'a> SliceItem<'a> for &'a [T] {
    type View = &'a PyVec<T>;
    type Held = Vec<&'a [T]>;
    fn describe(out: &mut String) {
        out.push_str("&[");
        T::describe(out);
        out.push(']');
    }
    unsafe fn hold(v: &'a PyVec<&'a PyVec<T>>) -> Result<Vec<&'a [T]>, ArgError> {
        // SAFETY:
        // - `v.as_ptr()` is null, or aligned and valid for reads of
        //   `v.len()` pointer words (the header's invariant);
        // - the pointers inside them are valid down to the elements, null
        //   header pointers excepted (the caller's guarantee).
        unsafe { <&'a PyVec<T> as Element<'a>>::check_elements(v.as_ptr(), v.len()) }?;
        Ok(v.iter().map(|inner| inner.as_slice()).collect())
    }
}

// SAFETY: `&[T]` crosses as a pointer to a `PyVec<T::View>` header.
unsafe impl<'a, T: SliceItem<'a>> Param<'a> for &'a [T] {
    type C = *const PyVec<T::View>;
    type Held = T::Held;
    fn describe(out: &mut String) {
        out.push_str("&[");
        T::describe(out);
        out.push(']');
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        // SAFETY: the caller guarantees a non-null `c` is valid for `'a`.
        let v: &'a PyVec<T::View> = unsafe { c.as_ref() }.ok_or(ArgError::Null)?;
        // SAFETY: the caller's guarantee covers the elements too.
        unsafe { T::hold(v) }
    }
}

// SAFETY: `&mut [T]` crosses as a pointer to a `PyVec<T>` header.
unsafe impl<'a, T: Element<'a>> Param<'a> for &'a mut [T] {
    type C = *mut PyVec<T>;
    type Held = Direct<Self>;
    fn describe(out: &mut String) {
        out.push_str("&mut [");
        T::describe(out);
        out.push(']');
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        // SAFETY:
        // - a non-null `c` points to a valid header whose elements are valid
        //   down to the elements, null header pointers excepted (the
        //   caller's guarantee); `check_vec` only reads them.
        unsafe { check_vec(c.cast_const()) }?;
        // SAFETY:
        // - `check_vec` refused a null `c`, and the caller guarantees a
        //   non-null one is valid and exclusive for `'a`;
        // - `check_vec` refused every null pointer among the elements, all
        //   the way down, so every element is a valid `T`.
        let v: &'a mut PyVec<T> = unsafe { c.as_mut() }.ok_or(ArgError::Null)?;
        Ok(Direct::new(v.as_mut_slice()))
    }
}

// SAFETY: `Option<&str>` crosses as `&str` does, null for `None`.
unsafe impl<'a> Param<'a> for Option<&'a str> {
    type C = *const PyStr;
    type Held = Direct<Self>;
    fn describe(out: &mut String) {
        out.push_str("Option<&str>")
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        if c.is_null() {
            return Ok(Direct::new(None));
        }
        // SAFETY: the caller's guarantee is `str_from_c`'s.
        Ok(Direct::new(Some(unsafe { str_from_c(c) }?)))
    }
}

// SAFETY: `Option<&[T]>` crosses as `&[T]` does, null for `None`.
unsafe impl<'a, T: SliceItem<'a>> Param<'a> for Option<&'a [T]> {
    type C = *const PyVec<T::View>;
    type Held = Option<T::Held>;
    fn describe(out: &mut String) {
        out.push_str("Option<");
        <&'a [T] as Param<'a>>::describe(out);
        out.push('>');
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        if c.is_null() {
            return Ok(None);
        }
        // SAFETY: the caller's guarantee is that of `&[T]`.
        unsafe { <&'a [T] as Param<'a>>::from_c(c) }.map(Some)
    }
}

// SAFETY: an owned `String` crosses as a pointer to its `In` form, a
// `PyStr` header; it is copied after a UTF-8 check.
unsafe impl Param<'_> for String {
    type C = *const PyStr;
    type Held = Direct<String>;
    fn describe(out: &mut String) {
        out.push_str("String")
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        // SAFETY: the caller guarantees a non-null `c` is valid.
        unsafe { owned_from_c::<String>(c) }.map(Direct::new)
    }
}

// SAFETY: an owned `Vec<T>` crosses as a pointer to its `In` form, a
// `PyVec<T::In>` header; it is copied.
unsafe impl<T: Owned> Param<'_> for Vec<T> {
    type C = *const PyVec<T::In>;
    type Held = Direct<Vec<T>>;
    fn describe(out: &mut String) {
        <Vec<T> as Owned>::describe(out)
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        // SAFETY: the caller guarantees a non-null `c` is valid.
        unsafe { owned_from_c::<Vec<T>>(c) }.map(Direct::new)
    }
}

// SAFETY: `Option<T>` crosses as a pointer to `T`'s `In` form (for
// scalars too), null for `None`; the value is copied.
unsafe impl<T: Owned> Param<'_> for Option<T> {
    type C = *const T::In;
    type Held = Direct<Option<T>>;
    fn describe(out: &mut String) {
        <Option<T> as Owned>::describe(out)
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        // SAFETY: the caller guarantees a non-null `c` is valid.
        unsafe { <Option<T> as Owned>::from_in(&c) }.map(Direct::new)
    }
}

// SAFETY: a record by value crosses as a pointer to its `In` form (the
// record itself for a plain one); it is copied, never passed by value.
unsafe impl<T: Record> Param<'_> for T {
    type C = *const T::In;
    type Held = Direct<T>;
    fn describe(out: &mut String) {
        T::describe(out)
    }
    unsafe fn from_c(c: Self::C) -> Result<Self::Held, ArgError> {
        // SAFETY: the caller guarantees a non-null `c` is valid.
        unsafe { owned_from_c::<T>(c) }.map(Direct::new)
    }
}

/// An owned `T` copied from a pointer to its `In` form.
///
/// # Safety
///
/// Callers must ensure that:
/// - `c` is null, or points to a valid `T::In` as the
///   [module documentation](self) specifies (pointers inside it too).
pub unsafe fn owned_from_c<T: Owned>(c: *const T::In) -> Result<T, ArgError> {
    // SAFETY: the caller guarantees a non-null `c` is valid.
    let c = unsafe { c.as_ref() }.ok_or(ArgError::Null)?;
    // SAFETY: as above, all the way down.
    unsafe { T::from_in(c) }
}

/// A value that crosses the boundary by copy: built from a C mirror Python
/// lays out ([`In`](Self::In)) when it is a parameter, and handed over as a
/// C mirror Python reads and frees ([`Out`](Self::Out)) when it is
/// returned.
///
/// Implemented for every [`Scalar`] (both mirrors are the scalar),
/// `String`, `Vec<T>`, `Option<T>` (`T: Owned`), `[T; N]` (`T` a
/// [`PlainField`]), tuples of 2 to 8 `Owned` values, and records
/// (`#[derive(pyo2::Record)]`). The mirrors are listed in the
/// [module documentation](self#owned-values-and-their-c-mirrors).
///
/// # Safety
///
/// Implementors must ensure that:
/// - [`In`](Self::In) and [`Out`](Self::Out) are exactly the C mirrors the
///   module documentation specifies for the type
///   [`describe`](Self::describe) spells;
/// - [`into_out`](Self::into_out) hands over everything the value owns, so
///   that dropping the `Out` (which [`OwnedBuf`]'s `drop` does) frees it
///   exactly once.
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't cross the boundary as an owned value",
    note = "owned values are scalars, bool, String, Vec<T>, Option<T>, [T; N] of plain data, \
            tuples of those and records (#[derive(pyo2::Record)])"
)]
pub unsafe trait Owned: Sized + Send + 'static {
    /// The C mirror of a parameter (what Python lays out).
    type In;
    /// The C mirror of a returned value (what Python reads, then frees
    /// through the [`OwnedBuf`] that holds it).
    type Out: Send + 'static;

    /// Appends the Rust spelling of the type to `out`.
    fn describe(out: &mut String);

    /// Copies a value out of its `In` mirror, checking what can be checked
    /// (UTF-8 of strings).
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - `c` is a valid `In` mirror as the module documentation specifies:
    ///   every non-null pointer in it (headers and elements, all the way
    ///   down) is valid for reads for the duration of the call, and every
    ///   scalar is a valid value of its type (`bool` is 0 or 1).
    unsafe fn from_in(c: &Self::In) -> Result<Self, ArgError>;

    /// Copies a whole `PyVec` of `In` mirrors (scalars override it with a
    /// plain copy).
    ///
    /// # Safety
    ///
    /// Callers must ensure that:
    /// - every element of `v` is valid as [`from_in`](Self::from_in)
    ///   requires.
    unsafe fn vec_from_in(v: &[Self::In]) -> Result<Vec<Self>, ArgError> {
        v.iter()
            .enumerate()
            // SAFETY: the caller guarantees every element is valid.
            .map(|(i, c)| unsafe { Self::from_in(c) }.map_err(|e| e.at_item(i)))
            .collect()
    }

    /// Hands the value over as its `Out` mirror.
    fn into_out(self) -> Self::Out;

    /// Hands a whole `Vec` over (scalars override it: their `Vec` is its
    /// own mirror).
    fn vec_into_out(v: Vec<Self>) -> Vec<Self::Out> {
        v.into_iter().map(Self::into_out).collect()
    }
}

macro_rules! scalar_owned {
    ($($t:ident)*) => {$(
        // SAFETY: a scalar's mirrors are the scalar itself; it owns nothing.
        unsafe impl Owned for $t {
            type In = $t;
            type Out = $t;
            fn describe(out: &mut String) {
                out.push_str(stringify!($t));
            }
            unsafe fn from_in(c: &$t) -> Result<$t, ArgError> {
                Ok(*c)
            }
            unsafe fn vec_from_in(v: &[$t]) -> Result<Vec<$t>, ArgError> {
                Ok(v.to_vec())
            }
            fn into_out(self) -> $t {
                self
            }
            fn vec_into_out(v: Vec<$t>) -> Vec<$t> {
                v
            }
        }
    )*};
}
scalar_owned!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize f32 f64 bool);

// SAFETY: `String`'s `In` is a `PyStr` header (checked UTF-8, copied);
// its `Out` an `OwnedBuf` of its bytes, freed by that buffer's `drop`.
unsafe impl Owned for String {
    type In = PyStr;
    type Out = OwnedBuf;
    fn describe(out: &mut String) {
        out.push_str("String")
    }
    unsafe fn from_in(c: &PyStr) -> Result<String, ArgError> {
        Ok(c.as_str()?.to_owned())
    }
    fn into_out(self) -> OwnedBuf {
        OwnedBuf::from_string(self)
    }
}

// SAFETY: `Vec<T>`'s `In` is a `PyVec<T::In>` header (elements inline);
// its `Out` an `OwnedBuf` of `T::Out`, whose `drop` drops every element.
unsafe impl<T: Owned> Owned for Vec<T> {
    type In = PyVec<T::In>;
    type Out = OwnedBuf;
    fn describe(out: &mut String) {
        out.push_str("Vec<");
        T::describe(out);
        out.push('>');
    }
    unsafe fn from_in(c: &PyVec<T::In>) -> Result<Vec<T>, ArgError> {
        // SAFETY: the caller guarantees the header and its elements are valid.
        unsafe { T::vec_from_in(c.as_slice()) }
    }
    fn into_out(self) -> OwnedBuf {
        OwnedBuf::from_vec(T::vec_into_out(self))
    }
}

// SAFETY: `Option<T>`'s `In` is a pointer to a `T::In`, null for `None`;
// its `Out` an `OwnedBuf` of zero or one `T::Out`.
unsafe impl<T: Owned> Owned for Option<T> {
    type In = *const T::In;
    type Out = OwnedBuf;
    fn describe(out: &mut String) {
        out.push_str("Option<");
        T::describe(out);
        out.push('>');
    }
    unsafe fn from_in(c: &*const T::In) -> Result<Option<T>, ArgError> {
        // SAFETY: the caller guarantees a non-null pointer is valid.
        match unsafe { c.as_ref() } {
            None => Ok(None),
            // SAFETY: as above, all the way down.
            Some(c) => unsafe { T::from_in(c) }.map(Some),
        }
    }
    fn into_out(self) -> OwnedBuf {
        OwnedBuf::from_vec(self.into_iter().map(T::into_out).collect::<Vec<_>>())
    }
}

// SAFETY: a plain array is its own mirror, element by element in place.
unsafe impl<T: PlainField + Owned, const N: usize> Owned for [T; N] {
    type In = [T; N];
    type Out = [T; N];
    fn describe(out: &mut String) {
        out.push('[');
        <T as Owned>::describe(out);
        let _ = write!(out, "; {N}]");
    }
    unsafe fn from_in(c: &[T; N]) -> Result<[T; N], ArgError> {
        // SAFETY: the caller guarantees `c` is a valid value; plain data
        // owns nothing, so a bitwise copy is a value of its own.
        Ok(unsafe { read_plain(c) })
    }
    fn into_out(self) -> [T; N] {
        self
    }
}

/// Data that crosses as its own bytes: a [`Scalar`], an array `[T; N]` of
/// plain data, or a plain record (`#[derive(pyo2::Record)]` on a
/// `#[repr(C)]` struct). It owns nothing, has no pointers and every value
/// Python writes by its layout (with `bool`s 0 or 1) is valid.
///
/// # Safety
///
/// Implementors must ensure that:
/// - `Self` owns nothing (no heap memory, no handle), holds no references
///   or pointers, and has a layout fixed by `#[repr(C)]` (or is a scalar
///   or an array of plain data);
/// - a bitwise copy of a valid `Self` is a valid `Self` of its own.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not plain data, so it can't be a field of a #[repr(C)] record",
    note = "the fields of a #[repr(C)] record (a plain record, lent by pointer) are scalars, \
            bool, [T; N] arrays of those and other #[repr(C)] records",
    note = "for String, Vec, Option and other owned fields, remove #[repr(C)]: the record \
            becomes an owned record, copied across the boundary"
)]
pub unsafe trait PlainField: 'static {}

// SAFETY: a scalar is plain data.
unsafe impl<T: Scalar> PlainField for T {}
// SAFETY: an array of plain data is plain data.
unsafe impl<T: PlainField, const N: usize> PlainField for [T; N] {}

/// A bitwise copy of plain data (a plain record lent by Python).
///
/// # Safety
///
/// Callers must ensure that:
/// - `c` is a valid `T` (for `bool`s, 0 or 1).
pub unsafe fn read_plain<T: PlainField>(c: &T) -> T {
    // SAFETY: `c` is a valid, aligned reference; `T: PlainField` owns
    // nothing, so the copy and the original never free anything twice.
    unsafe { core::ptr::read(c) }
}

/// A struct that crosses the boundary, with a descriptor of its layout
/// exported by the library: implemented by `#[derive(pyo2::Record)]`.
///
/// # Safety
///
/// Implementors must ensure that:
/// - the library exports `__pyo2_record__NAME` ([`NAME`](Self::NAME)),
///   returning the record descriptor of `Self`'s mirrors, built by
///   [`describe_record`];
/// - [`Owned::describe`] spells [`NAME`](Self::NAME).
pub unsafe trait Record: Owned {
    /// The record's name, as its descriptor symbol and every signature
    /// spell it.
    const NAME: &'static str;
}

/// A plain record: `#[repr(C)]`, only [`PlainField`]s, its own `In` and
/// `Out` mirror; lent by pointer (`&T`, `&mut T`, `&[T]`, `&mut [T]`) or
/// copied from a pointer (`T`).
///
/// # Safety
///
/// Implementors must ensure that:
/// - `Self` is `#[repr(C)]` and every field is a [`PlainField`].
pub unsafe trait PlainRecord: Record + Owned<In = Self, Out = Self> + PlainField {}

/// A repr(C) struct of a returned tuple's `Out` mirrors, in order.
macro_rules! tuples {
    ($($name:ident ($($t:ident $i:tt),*);)*) => {$(
        /// The C mirror of a tuple of this many values: one field per
        /// value, in order, at C offsets.
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name<$($t),*>($(pub $t),*);

        // SAFETY: a tuple's mirrors are the repr(C) structs of its values'
        // mirrors; `into_out` hands each value over, dropping the struct
        // drops each `Out`.
        unsafe impl<$($t: Owned),*> Owned for ($($t,)*) {
            type In = $name<$($t::In),*>;
            type Out = $name<$($t::Out),*>;
            fn describe(out: &mut String) {
                out.push('(');
                let mut _first = true;
                $(
                    if !_first {
                        out.push_str(", ");
                    }
                    _first = false;
                    $t::describe(out);
                )*
                out.push(')');
            }
            unsafe fn from_in(c: &Self::In) -> Result<Self, ArgError> {
                // SAFETY: the caller guarantees every field is valid.
                Ok(($(unsafe { $t::from_in(&c.$i) }.map_err(|e| e.at_field(stringify!($i)))?,)*))
            }
            fn into_out(self) -> Self::Out {
                $name($(self.$i.into_out()),*)
            }
        }

        impl<$($t: Owned),*> sealed::SealedReturn for ($($t,)*) {}
        impl<$($t: Owned),*> Return for ($($t,)*) {
            type C = OwnedBuf;
            fn describe(out: &mut String) {
                <Self as Owned>::describe(out)
            }
            fn into_outcome(self) -> Outcome<OwnedBuf> {
                Outcome::Value(OwnedBuf::from_vec(vec![self.into_out()]))
            }
        }
        impl<$($t: Owned),*> Plain for ($($t,)*) {}
    )*};
}
tuples! {
    Tuple2(A 0, B 1);
    Tuple3(A 0, B 1, C 2);
    Tuple4(A 0, B 1, C 2, D 3);
    Tuple5(A 0, B 1, C 2, D 3, E 4);
    Tuple6(A 0, B 1, C 2, D 3, E 4, F 5);
    Tuple7(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    Tuple8(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
}

/// One field of a [`RecordLayout`].
#[derive(Debug, Clone, Copy)]
pub struct FieldLayout {
    /// The field's name.
    pub name: &'static str,
    /// Its type's [`Owned::describe`].
    pub describe: fn(&mut String),
    /// Its offset in the `Out` mirror (the record itself, if plain).
    pub offset: usize,
    /// Its offset in the `In` mirror (the same, if plain).
    pub in_offset: usize,
}

/// What a record descriptor says; `#[derive(pyo2::Record)]` fills it from
/// `size_of`, `align_of` and `offset_of!` of the mirrors.
#[derive(Debug, Clone, Copy)]
pub struct RecordLayout<'f> {
    /// The record's name.
    pub name: &'static str,
    /// `#[repr(C)]` plain data (lent by pointer) or an owned record (copied).
    pub plain: bool,
    /// Size of the `Out` mirror (the record, if plain).
    pub size: usize,
    /// Alignment of the `Out` mirror.
    pub align: usize,
    /// Size of the `In` mirror (the same, if plain).
    pub in_size: usize,
    /// Alignment of the `In` mirror.
    pub in_align: usize,
    /// The fields, in declaration order.
    pub fields: &'f [FieldLayout],
    /// The doc comment, or `""`.
    pub doc: &'static str,
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The text of a record descriptor (see the
/// [module documentation](self#records) for the format).
pub fn record_text(layout: &RecordLayout<'_>) -> String {
    let kind = if layout.plain { "plain" } else { "owned" };
    let mut head = format!(
        "struct {} {kind} size={} align={}",
        layout.name, layout.size, layout.align
    );
    if !layout.plain {
        let _ = write!(
            head,
            " in_size={} in_align={}",
            layout.in_size, layout.in_align
        );
    }
    let mut fields = String::new();
    for f in layout.fields {
        let _ = write!(fields, "\n{}: ", f.name);
        (f.describe)(&mut fields);
        let _ = write!(fields, " @{}", f.offset);
        if !layout.plain {
            let _ = write!(fields, " in@{}", f.in_offset);
        }
    }
    let hash = fnv1a(format!("{head}{fields}").as_bytes());
    let mut text = format!("pyo2-record {ABI_VERSION}\n{head} hash={hash:016x}{fields}");
    if !layout.doc.is_empty() {
        text.push_str("\n\n");
        text.push_str(layout.doc);
    }
    text
}

/// Builds (once) and returns the descriptor of a record; what
/// `__pyo2_record__NAME` returns.
pub fn describe_record(
    cell: &'static OnceLock<CString>,
    layout: &RecordLayout<'_>,
) -> *const c_char {
    cell.get_or_init(|| CString::new(record_text(layout).replace('\0', "")).unwrap_or_default())
        .as_ptr()
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
/// `Vec<T>` (`T` [`Owned`]: `Vec<String>`, `Vec<Vec<T>>`, `Vec<Record>`, …),
/// tuples of 2 to 8 [`Owned`] values, records, `Option` of those, and
/// `Result` of those or of their `Option`, with any error type that
/// implements [`Display`].
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
    note = "return a scalar, bool, (), String, Vec<T>, a tuple, a record (#[derive(pyo2::Record)]), \
            an Option of those, or a Result of those with an error type that implements Display"
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

impl sealed::SealedReturn for () {}
impl sealed::SealedReturn for String {}
impl<T: Owned> sealed::SealedReturn for Vec<T> {}
impl<T: Record> sealed::SealedReturn for T {}
impl<T: Plain> sealed::SealedReturn for Option<T> {}
impl<T: NotResult, E: Display> sealed::SealedReturn for Result<T, E> {}

macro_rules! scalar_returns {
    ($($t:ident)*) => {$(
        impl sealed::SealedReturn for $t {}
        impl Return for $t {
            type C = $t;
            fn describe(out: &mut String) {
                out.push_str(stringify!($t))
            }
            fn into_outcome(self) -> Outcome<$t> {
                Outcome::Value(self)
            }
        }
        impl Plain for $t {}
    )*};
}
scalar_returns!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize f32 f64 bool);

impl<T: Record> Return for T {
    type C = OwnedBuf;
    fn describe(out: &mut String) {
        <T as Owned>::describe(out)
    }
    fn into_outcome(self) -> Outcome<OwnedBuf> {
        Outcome::Value(OwnedBuf::from_vec(vec![self.into_out()]))
    }
}
impl<T: Record> Plain for T {}

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

impl<T: Owned> Return for Vec<T> {
    type C = OwnedBuf;
    fn describe(out: &mut String) {
        <Vec<T> as Owned>::describe(out)
    }
    fn into_outcome(self) -> Outcome<OwnedBuf> {
        Outcome::Value(self.into_out())
    }
}
impl<T: Owned> Plain for Vec<T> {}

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
/// Nothing checks these arguments (there is no wrapper): unlike for an
/// exported function, a null pointer, outer or among the elements, is
/// undefined behaviour, so the caller must not pass one.
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
    // Also clears the callback-raised flag for this call (and puts the
    // enclosing call's back when it drops).
    let inside = crate::panic::enter();
    let caught = catch_unwind(AssertUnwindSafe(|| body().map(Return::into_outcome)));
    let caught = match caught {
        // A callback raised: whatever the function did after that (caught
        // the unwind, returned a value), the Python exception wins.
        Ok(value) if inside.raised() => {
            if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
                drop_payload(second);
            }
            Err(Box::new(crate::objects::CallbackRaised) as Box<dyn Any + Send>)
        }
        other => other,
    };
    let (code, message) = match caught {
        Ok(Ok(Outcome::Value(v))) => {
            // SAFETY: the caller guarantees `slot` is valid for writes of a
            // `Slot`, and `fits` checked that an `R::C` fits in one.
            unsafe { slot.cast::<R::C>().write(v) };
            return status::OK;
        }
        Ok(Ok(Outcome::None)) => return status::NONE,
        Ok(Ok(Outcome::Err(message))) => (status::ERR, message),
        Ok(Err((_, ArgError::Busy(message)))) => (status::BUSY, message),
        Ok(Err((param, e))) => (status::BAD_ARG, format!("parameter `{param}`: {e}")),
        Err(payload) if payload.is::<crate::objects::CallbackRaised>() => {
            drop_payload(payload);
            (
                status::CALLBACK_RAISED,
                "a callback raised an exception".to_owned(),
            )
        }
        Err(payload) => {
            let message = crate::panic::locate(panic_message(&*payload));
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
    descriptor(cell, "fn", name, None, params, ret, doc)
}

/// Builds (once) and returns the descriptor of a method of a class
/// (version [`OBJECTS_VERSION`]): `receiver` is `&self`, `&mut self`, or
/// `""` for a constructor or a static method.
pub fn describe_method(
    cell: &'static OnceLock<CString>,
    name: &str,
    receiver: &str,
    params: &[ParamDescriptor],
    ret: fn(&mut String),
    doc: &str,
) -> *const c_char {
    descriptor(cell, "fn", name, Some(receiver), params, ret, doc)
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
    descriptor(
        cell,
        "#[no_mangle] extern \"C\" fn",
        name,
        None,
        params,
        ret,
        doc,
    )
}

fn descriptor(
    cell: &'static OnceLock<CString>,
    kind: &str,
    name: &str,
    receiver: Option<&str>,
    params: &[ParamDescriptor],
    ret: fn(&mut String),
    doc: &str,
) -> *const c_char {
    cell.get_or_init(|| {
        let mut text = format!("{kind} {name}(");
        let method = receiver.is_some();
        let receiver = receiver.filter(|r| !r.is_empty());
        if let Some(receiver) = receiver {
            text.push_str(receiver);
        }
        for (i, (pname, describe)) in params.iter().enumerate() {
            if i > 0 || receiver.is_some() {
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
        // Methods, and signatures that spell an iterator or a callback,
        // are version 2: a loader that reads version 1 refuses them.
        let spells_new = ["Iter<", "&mut dyn FnMut(", "Callback<dyn Fn("]
            .iter()
            .any(|new| text.contains(new));
        let version = if kind == "fn" && (method || spells_new) {
            crate::objects::OBJECTS_VERSION
        } else {
            ABI_VERSION
        };
        let mut text = format!("pyo2 {version}\n{text}");
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
                // The location after a panic's message is tested in `crate::panic`.
                let text = text
                    .rsplit_once(crate::panic::MARKER)
                    .map_or(text.clone(), |(m, _)| m.to_owned());
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
        let held = unsafe { <&str as Param<'_>>::from_c(&ok) }.unwrap();
        assert_eq!(held.into_inner(), Some("ok"));
    }

    #[test]
    fn slices_borrow_the_view() {
        let mut data = [1_i32, 2, 3];
        // SAFETY: a live local array of 3 elements.
        let mut view = unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), 3) };
        // SAFETY: `&mut view` is valid and exclusive while `s` lives.
        let mut held = unsafe { <&mut [i32] as Param<'_>>::from_c(&mut view) }.unwrap();
        let s: &mut [i32] = Lend::lend(&mut held);
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
    fn only_new_kinds_make_version_2() {
        static PLAIN: OnceLock<CString> = OnceLock::new();
        static METHOD: OnceLock<CString> = OnceLock::new();
        let ret = <Result<u8, Box<dyn std::error::Error>> as Return>::describe;
        let p = describe(&PLAIN, "f", &[], ret, "");
        // SAFETY: `p` points into PLAIN's CString, alive for 'static.
        let text = unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(text, "pyo2 1\nfn f() -> Result<u8, Box<dyn Error>>");
        let p = describe_method(
            &METHOD,
            "g",
            "&mut self",
            &[("x", <u8 as Param<'_>>::describe)],
            ret,
            "",
        );
        // SAFETY: as above, for METHOD.
        let text = unsafe { core::ffi::CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(
            text,
            "pyo2 2\nfn g(&mut self, x: u8) -> Result<u8, Box<dyn Error>>"
        );
    }

    #[test]
    fn descriptors_are_built_once() {
        static CELL: OnceLock<CString> = OnceLock::new();
        let params: [ParamDescriptor; 2] = [
            ("s", <&str as Param<'_>>::describe),
            ("v", <&mut [u8] as Param<'_>>::describe),
        ];
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
