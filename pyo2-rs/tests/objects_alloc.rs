//! Objects are freed: a counting global allocator (this test binary's own)
//! sees zero live allocations and zero live objects left after many
//! create/close cycles (1,000,000; fewer under Miri), constructor errors,
//! and iterators closed before and after their end. One test, so no other
//! test allocates meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use pyo2::abi::{live_objects, status, IterOut, OwnedBuf, Slot};

#[path = "common/counting.rs"]
mod counting;

static DROPS: AtomicUsize = AtomicUsize::new(0);

#[pyo2::class]
pub struct Cell {
    name: String,
}

impl Drop for Cell {
    fn drop(&mut self) {
        DROPS.fetch_add(1, SeqCst);
    }
}

#[pyo2::methods]
impl Cell {
    #[new]
    fn new(fail: bool) -> Result<Self, String> {
        if fail {
            return Err("no".to_owned());
        }
        Ok(Cell {
            name: "cell".to_owned(),
        })
    }
    fn letters(&self) -> pyo2::Iter<String> {
        pyo2::Iter::new(self.name.chars().map(String::from).collect::<Vec<_>>())
    }
}

extern "C" {
    #[link_name = "__pyo2_m__Cell__new"]
    fn cell_new(fail: bool, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_m__Cell__letters"]
    fn cell_letters(h: u64, slot: *mut Slot) -> i32;
    #[link_name = "__pyo2_close__Cell"]
    fn cell_close(h: u64, slot: *mut Slot) -> i32;
}

// No libtest harness (`harness = false` in Cargo.toml): its own threads would
// allocate while the count runs, and the count is process-wide.
fn main() {
    a_million_objects_leave_nothing_alive();
    println!("objects_alloc: a million objects leave nothing alive");
}

fn a_million_objects_leave_nothing_alive() {
    let cycles = if cfg!(miri) { 20 } else { 1_000_000 };
    let mut slot = Slot::new();
    for warm_up in [true, false] {
        let before = counting::live();
        let drops = DROPS.load(SeqCst);
        let n = if warm_up { 1 } else { cycles };
        for i in 0..n {
            // SAFETY: a valid slot.
            assert_eq!(unsafe { cell_new(false, &mut slot) }, status::OK);
            // SAFETY: OK from a constructor: a handle.
            let h = unsafe { slot.take::<u64>() };
            if i % 1000 == 0 {
                // SAFETY: a valid slot.
                assert_eq!(unsafe { cell_new(true, &mut slot) }, status::ERR);
                // SAFETY: ERR leaves a message.
                drop(unsafe { slot.take::<OwnedBuf>() });
                // SAFETY: a valid slot.
                assert_eq!(unsafe { cell_letters(h, &mut slot) }, status::OK);
                // SAFETY: OK from a method returning Iter<String>.
                let it = unsafe { slot.take::<IterOut>() };
                // One item taken, then closed before its end.
                // SAFETY: a valid slot; `next` came from the library.
                assert_eq!(unsafe { (it.next)(it.handle, &mut slot) }, status::OK);
                // SAFETY: OK: a String's OwnedBuf.
                drop(unsafe { slot.take::<OwnedBuf>() });
                // SAFETY: a valid slot.
                assert_eq!(unsafe { (it.close)(it.handle, &mut slot) }, status::OK);
            }
            // SAFETY: a valid slot.
            assert_eq!(unsafe { cell_close(h, &mut slot) }, status::OK);
        }
        if !warm_up {
            assert_eq!(live_objects(), 0);
            assert_eq!(DROPS.load(SeqCst) - drops, cycles);
            assert_eq!(
                counting::live(),
                before,
                "live allocations after {cycles} cycles"
            );
        }
    }
}
