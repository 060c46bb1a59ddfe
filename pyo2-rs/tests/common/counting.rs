//! The counting global allocator of the allocation tests (`alloc.rs`,
//! `objects_alloc.rs`, each `harness = false`): it forwards to `System` and
//! counts the live allocations of the whole test binary, read with [`live`].
//! Included by path (`#[path = "common/counting.rs"] mod counting;`), so each
//! binary that includes it gets its own allocator and count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments,
// so `System`'s guarantees are this allocator's; the counter only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(1, SeqCst);
        // SAFETY: the caller's contract is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(1, SeqCst);
        // SAFETY: `ptr` came from `alloc` above with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations of this binary are live (allocated, not yet freed).
pub fn live() -> isize {
    LIVE.load(SeqCst)
}
