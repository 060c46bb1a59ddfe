//! The `#[pyo2::export]` attribute. Use it through the `pyo2` crate, which
//! re-exports it and holds the runtime it expands to (`pyo2::abi`); the
//! documentation is on `pyo2::export`.
//!
//! This crate is a thin shell over `expand::export`, which works on
//! `proc_macro2` tokens so that it can be unit-tested.
#![deny(missing_docs)]

mod expand;

use proc_macro::TokenStream;

/// Exports a plain Rust function to Python with a signature descriptor.
///
/// See `pyo2::export` for the documentation.
#[proc_macro_attribute]
pub fn export(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::export(attr.into(), item.into()).into()
}
