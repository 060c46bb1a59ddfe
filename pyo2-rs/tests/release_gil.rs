//! `#[pyo2::export(release_gil)]` and `#[release_gil]` on a method of
//! `#[pyo2::methods]` (see `pyo2::abi`, "Releasing the GIL"): each adds the
//! marker `__pyo2_release_gil__SYMBOL`, a one-byte static holding 1, and
//! changes nothing else: the function, its typed symbol and its uniform
//! entry point are called as an unmarked function's are. (Bad arguments of
//! the attribute are compile errors: the macro's unit tests and the
//! `compile_fail` examples of `pyo2::export` check them.)

use pyo2::abi::{status, ArgSlot, Slot};
use pyo2::PyVec;

/// Sums `0..n`.
#[pyo2::export(release_gil)]
fn crunch(n: u64) -> u64 {
    (0..n).sum()
}

/// The unmarked twin of `crunch`.
#[pyo2::export]
fn crunch_held(n: u64) -> u64 {
    crunch(n)
}

#[pyo2::export(release_gil)]
#[no_mangle]
pub extern "C" fn crunch_extern(v: &PyVec<u64>) -> u64 {
    v.iter().sum()
}

#[pyo2::class]
pub struct Cruncher {
    base: u64,
}

#[pyo2::methods]
impl Cruncher {
    #[new]
    fn new(base: u64) -> Self {
        Cruncher { base }
    }

    #[release_gil]
    fn crunch(&self, n: u64) -> u64 {
        self.base + crunch(n)
    }

    #[release_gil]
    fn crunch_static(n: u64) -> u64 {
        crunch(n)
    }
}

extern "C" {
    #[link_name = "__pyo2_release_gil__crunch"]
    static MARK_CRUNCH: u8;
    #[link_name = "__pyo2_release_gil__crunch_extern"]
    static MARK_EXTERN: u8;
    #[link_name = "__pyo2_release_gil____pyo2_m__Cruncher__crunch"]
    static MARK_METHOD: u8;
    #[link_name = "__pyo2_release_gil____pyo2_m__Cruncher__crunch_static"]
    static MARK_STATIC: u8;
    #[link_name = "crunch"]
    fn t_crunch(n: u64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__crunch"]
    fn u_crunch(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call__crunch_held"]
    fn u_crunch_held(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call____pyo2_m__Cruncher__new"]
    fn u_new(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call____pyo2_m__Cruncher__crunch"]
    fn u_method(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_call____pyo2_m__Cruncher__crunch_static"]
    fn u_static(args: *const ArgSlot, nargs: usize, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_close__Cruncher"]
    fn close(handle: u64, slot: *mut Slot) -> i32;
}

type Uniform = unsafe extern "C" fn(*const ArgSlot, usize, *mut Slot) -> i32;

/// Calls a uniform entry point whose parameters are `u64`s, returning a
/// `u64` (its status must be `OK`).
fn call(f: Uniform, args: &[u64]) -> u64 {
    let args: Vec<ArgSlot> = args.iter().map(|&a| ArgSlot::new(a)).collect();
    let mut slot = Slot::new();
    // SAFETY: `args` is a live array of `args.len()` slots, each holding the
    // `u64` the function takes (or a handle), and `slot` is a valid slot.
    let code = unsafe { f(args.as_ptr(), args.len(), &mut slot) };
    assert_eq!(code, status::OK);
    // SAFETY: `OK`, and every function called here returns a `u64` (a handle
    // for a constructor).
    unsafe { slot.take::<u64>() }
}

#[test]
// Miri resolves extern functions to the crate's exported ones, not extern statics.
#[cfg_attr(miri, ignore)]
fn markers_are_one_byte_statics_holding_1() {
    // SAFETY: each is a `u8` static defined (and never written) by the
    // macros above, under the `link_name` given.
    let marks = unsafe { [MARK_CRUNCH, MARK_EXTERN, MARK_METHOD, MARK_STATIC] };
    assert_eq!(marks, [1; 4]);
}

#[test]
fn marked_functions_are_called_as_unmarked_ones() {
    // Rust code calls the function as written.
    assert_eq!(crunch(4), 6);
    assert_eq!(Cruncher::crunch_static(5), 10);
    // The typed symbol and the uniform entry point, as for the unmarked twin.
    let mut slot = Slot::new();
    // SAFETY: a scalar and a valid slot.
    assert_eq!(unsafe { t_crunch(4, &mut slot) }, status::OK);
    // SAFETY: `OK` with a `u64` return.
    assert_eq!(unsafe { slot.take::<u64>() }, 6);
    assert_eq!(call(u_crunch, &[100]), call(u_crunch_held, &[100]));
    let mut data = [1_u64, 2, 3];
    // SAFETY: `data` is a live local array, used only through the view.
    let v = unsafe { PyVec::from_raw_parts(data.as_mut_ptr(), 3) };
    assert_eq!(crunch_extern(&v), 6);
    // A marked method and a marked static method.
    let handle = call(u_new, &[10]);
    assert_eq!(call(u_method, &[handle, 4]), 16);
    assert_eq!(call(u_static, &[4]), 6);
    // SAFETY: a live handle of the class and a valid slot.
    assert_eq!(unsafe { close(handle, &mut slot) }, status::OK);
}
