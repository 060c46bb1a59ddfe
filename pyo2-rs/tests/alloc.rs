//! Every byte Rust hands over is freed exactly once: a counting global
//! allocator (this test binary's own) sees zero live allocations left after
//! many calls that return records and `Vec<String>`, `Err`s and panics,
//! each result freed as Python frees it (by the one `drop` of the outermost
//! buffer). One test, so no other test allocates meanwhile.

use pyo2::abi::{status, OwnedBuf, Slot};
use pyo2::{PyStr, PyVec};

#[path = "common/counting.rs"]
mod counting;

#[derive(pyo2::Record)]
pub struct Person {
    pub name: String,
    pub tags: Vec<String>,
    pub best: Option<Box3>,
}

#[derive(pyo2::Record, Clone)]
#[repr(C)]
pub struct Box3 {
    pub side: [f64; 3],
}

#[pyo2::export]
fn people(n: usize, fail: u8) -> Result<Vec<Person>, String> {
    let v: Vec<Person> = (0..n)
        .map(|i| Person {
            name: format!("p{i}"),
            tags: vec![i.to_string(); i],
            best: (i % 2 == 0).then_some(Box3 { side: [1.0; 3] }),
        })
        .collect();
    match fail {
        1 => Err(format!("{} people", v.len())),
        2 => panic!("built {} people", v.len()),
        _ => Ok(v),
    }
}

#[pyo2::export]
fn words(text: &str) -> (Vec<String>, Option<String>) {
    let w: Vec<String> = text.split(' ').map(str::to_owned).collect();
    let last = w.last().cloned();
    (w, last)
}

#[pyo2::export]
fn echo(p: Person) -> Person {
    p
}

extern "C" {
    #[link_name = "people"]
    fn c_people(n: usize, fail: u8, slot: *mut Slot) -> i32;
    #[link_name = "words"]
    fn c_words(text: *const PyStr, slot: *mut Slot) -> i32;
    #[link_name = "echo"]
    fn c_echo(p: *const PersonIn, slot: *mut Slot) -> i32;
}

#[repr(C)]
struct PersonIn {
    name: PyStr,
    tags: PyVec<PyStr>,
    best: *const Box3,
}

// No libtest harness (`harness = false` in Cargo.toml): its own threads would
// allocate while the count runs, and the count is process-wide.
fn main() {
    nothing_is_left_alive();
    println!("alloc: nothing is left alive");
}

fn nothing_is_left_alive() {
    // A silent hook: the default one prints (and may buffer) each panic.
    std::panic::set_hook(Box::new(|_| {}));
    let rounds = if cfg!(miri) { 3 } else { 200 };
    let mut text = *b"a bb ccc";
    // SAFETY: `text` is a live local array used only through the view.
    let view = unsafe { PyStr::from_raw_parts(text.as_mut_ptr(), text.len()) };
    let (mut tag, mut bad_tag) = (*b"t", *b"t\xff");
    // SAFETY: as above.
    let mut tags = [unsafe { PyStr::from_raw_parts(tag.as_mut_ptr(), 1) }];
    let mut bad_tags = [
        // SAFETY: as above; 2 bytes, the second not UTF-8.
        unsafe { PyStr::from_raw_parts(bad_tag.as_mut_ptr(), 2) },
    ];
    let b = Box3 { side: [2.0; 3] };
    let mut name = *b"n";
    let mut slot = Slot::new();
    // One round before counting: lazily made statics (the panic machinery's) stay.
    for warm_up in [true, false] {
        let before = counting::live();
        for _ in 0..if warm_up { 1 } else { rounds } {
            for fail in 0..3 {
                // SAFETY: a valid slot.
                let code = unsafe { c_people(4, fail, &mut slot) };
                assert_eq!(
                    code,
                    [status::OK, status::ERR, status::PANIC][fail as usize]
                );
                // SAFETY: every status here leaves an OwnedBuf in the slot;
                // dropping it is what Python's call of its `drop` does.
                drop(unsafe { slot.take::<OwnedBuf>() });
            }
            // SAFETY: a valid header, a valid slot.
            assert_eq!(unsafe { c_words(&view, &mut slot) }, status::OK);
            // SAFETY: as above.
            drop(unsafe { slot.take::<OwnedBuf>() });
            for (tags, best, ok) in [
                (&mut tags[..], &b as *const Box3, true),
                (&mut bad_tags[..], core::ptr::null(), false),
            ] {
                let p = PersonIn {
                    // SAFETY: a live local array, used only through the view.
                    name: unsafe { PyStr::from_raw_parts(name.as_mut_ptr(), 1) },
                    // SAFETY: as above.
                    tags: unsafe { PyVec::from_raw_parts(tags.as_mut_ptr(), tags.len()) },
                    best,
                };
                // SAFETY: a valid mirror, a valid slot.
                let code = unsafe { c_echo(&p, &mut slot) };
                assert_eq!(code, if ok { status::OK } else { status::BAD_ARG });
                // SAFETY: as above.
                drop(unsafe { slot.take::<OwnedBuf>() });
            }
        }
        if !warm_up {
            assert_eq!(
                counting::live(),
                before,
                "live allocations after {rounds} rounds"
            );
        }
    }
    let _ = std::panic::take_hook();
}
