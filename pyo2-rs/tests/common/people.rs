//! The C mirrors of an owned record `{ name: String, age: u8, tags:
//! Vec<String> }` as Python lays them out (`pyo2::abi`, "Owned values"),
//! shared by `records.rs` and `adversarial.rs` (each exports its own record
//! of that shape). Included by path (`#[path = "common/people.rs"] mod
//! people;`).

use pyo2::abi::OwnedBuf;
use pyo2::{PyStr, PyVec};

/// `In(Person)`: what Python passes.
#[repr(C)]
pub struct PersonIn {
    pub name: PyStr,
    pub age: u8,
    pub tags: PyVec<PyStr>,
}

/// `Out(Person)`: what Rust returns, inside an `OwnedBuf`.
#[repr(C)]
pub struct PersonOut {
    pub name: OwnedBuf,
    pub age: u8,
    pub tags: OwnedBuf,
}

/// An `In(Person)` of views of `name` and `tags`, which the caller keeps
/// alive and touches only through the mirror while it is used.
pub fn person_in(name: &mut [u8], age: u8, tags: &mut [PyStr]) -> PersonIn {
    PersonIn {
        // SAFETY: `name` is a live, initialised slice; the caller keeps it
        // alive and untouched while the view is used.
        name: unsafe { PyStr::from_raw_parts(name.as_mut_ptr(), name.len()) },
        age,
        // SAFETY: as above, for `tags`.
        tags: unsafe { PyVec::from_raw_parts(tags.as_mut_ptr(), tags.len()) },
    }
}

/// The text of an `OwnedBuf` made from a `String` (an `Out(String)`).
pub fn buf_text(buf: &OwnedBuf) -> String {
    // SAFETY: every caller passes an `OwnedBuf` made from a `String`: bytes.
    String::from_utf8(unsafe { buf.as_slice::<u8>() }.to_vec()).unwrap()
}
