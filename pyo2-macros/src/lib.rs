//! The `#[pyo2::export]` attribute and `#[derive(pyo2::Record)]`. Use them
//! through the `pyo2` crate, which re-exports them and holds the runtime
//! they expand to (`pyo2::abi`); the documentation is on `pyo2::export` and
//! `pyo2::Record`.
//!
//! This crate is a thin shell over `expand::export` and `record::derive`,
//! which work on `proc_macro2` tokens so that they can be unit-tested.
#![deny(missing_docs)]

mod class;
mod expand;
mod record;

use proc_macro::TokenStream;

/// Exports a plain Rust function to Python with a signature descriptor.
///
/// `#[pyo2::export(release_gil)]` (its only argument) also exports the
/// marker `__pyo2_release_gil__SYMBOL`, which asks the loader to release
/// the GIL during every call. See `pyo2::export` for the documentation.
#[proc_macro_attribute]
pub fn export(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::export(attr.into(), item.into()).into()
}

/// Describes a struct that crosses the boundary as a record.
///
/// See `pyo2::Record` for the documentation.
#[proc_macro_derive(Record)]
pub fn derive_record(item: TokenStream) -> TokenStream {
    record::derive(item.into()).into()
}

/// Exports a struct as a Python class.
///
/// See `pyo2::class` for the documentation.
#[proc_macro_attribute]
pub fn class(attr: TokenStream, item: TokenStream) -> TokenStream {
    class::class(attr.into(), item.into()).into()
}

/// Exports the methods of a `#[pyo2::class]`.
///
/// `#[new]`, `#[getter]` and `#[release_gil]` mark methods (and are removed
/// from the impl). See `pyo2::methods` for the documentation.
#[proc_macro_attribute]
pub fn methods(attr: TokenStream, item: TokenStream) -> TokenStream {
    class::methods(attr.into(), item.into()).into()
}
