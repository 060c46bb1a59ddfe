//! The expansion of `#[derive(pyo2::Record)]`, on `proc_macro2` tokens.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse2, Data, DeriveInput, Error, Fields, Meta};

use crate::expand::doc_text;

/// Expands `#[derive(pyo2::Record)]` on `item`: the record's trait impls,
/// its C mirrors (for an owned record) and its descriptor symbol
/// `__pyo2_record__NAME`.
pub fn derive(item: TokenStream) -> TokenStream {
    match parse2::<DeriveInput>(item).and_then(|input| expand(&input)) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

/// What the struct's `#[repr(...)]` says.
fn is_repr_c(input: &DeriveInput) -> Result<bool, Error> {
    let mut c = false;
    for attr in &input.attrs {
        if !attr.path().is_ident("repr") {
            continue;
        }
        let Meta::List(list) = &attr.meta else {
            continue;
        };
        let mut bad = None;
        list.parse_nested_meta(|meta| {
            if meta.path.is_ident("C") {
                c = true;
            } else if meta.path.is_ident("align") {
                // `align(N)`: the layout stays C's, offsets are measured.
                let _ = meta.input.parse::<TokenStream>();
            } else {
                bad = Some(meta.path.span());
                let _ = meta.input.parse::<TokenStream>();
            }
            Ok(())
        })?;
        if let Some(span) = bad {
            return Err(Error::new(
                span,
                "#[derive(pyo2::Record)] takes #[repr(C)] (a plain record, lent by pointer), \
                 optionally with align(N), or no #[repr] (an owned record); not packed, \
                 transparent or an integer repr",
            ));
        }
    }
    Ok(c)
}

fn expand(input: &DeriveInput) -> Result<TokenStream, Error> {
    let ident = &input.ident;
    let name = ident.to_string().trim_start_matches("r#").to_owned();
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        return Err(Error::new(
            input.generics.span(),
            "#[derive(pyo2::Record)] can't describe a generic struct (a record has one layout); \
             define one record per type",
        ));
    }
    let fields =
        match &input.data {
            Data::Struct(s) => match &s.fields {
                Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
                other => return Err(Error::new(
                    other.span(),
                    "#[derive(pyo2::Record)] needs named fields: `struct Name { field: T, ... }`",
                )),
            },
            Data::Enum(e) => {
                return Err(Error::new(
                    e.enum_token.span(),
                    "#[derive(pyo2::Record)] goes on a struct with named fields, not an enum",
                ))
            }
            Data::Union(u) => {
                return Err(Error::new(
                    u.union_token.span(),
                    "#[derive(pyo2::Record)] goes on a struct with named fields, not a union",
                ))
            }
        };
    if fields.is_empty() {
        return Err(Error::new(
            ident.span(),
            "#[derive(pyo2::Record)] needs at least one field",
        ));
    }
    let plain = is_repr_c(input)?;
    let doc = doc_text(&input.attrs);
    let symbol = format!("__pyo2_record__{name}");
    let field_idents: Vec<_> = fields.iter().map(|f| f.ident.clone().unwrap()).collect();
    let field_names: Vec<String> = field_idents
        .iter()
        .map(|i| i.to_string().trim_start_matches("r#").to_owned())
        .collect();
    let field_types: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let vis = &input.vis;

    let (in_ty, out_ty, mirrors, owned_impl, kind_impls) = if plain {
        let checks = field_types
            .iter()
            .map(|ty| quote_spanned!(ty.span()=> __pyo2_plain::<#ty>();));
        let owned_impl = quote! {
            // SAFETY: a plain record is its own `In` and `Out` mirror
            // (#[repr(C)], checked by the derive; every field plain data,
            // checked by `__pyo2_fields`), and it owns nothing.
            unsafe impl ::pyo2::abi::Owned for #ident {
                type In = #ident;
                type Out = #ident;
                fn describe(out: &mut ::std::string::String) {
                    out.push_str(#name)
                }
                unsafe fn from_in(c: &#ident) -> ::core::result::Result<#ident, ::pyo2::abi::ArgError> {
                    // SAFETY: the caller guarantees `c` is a valid record;
                    // `#ident` is plain data.
                    ::core::result::Result::Ok(unsafe { ::pyo2::abi::read_plain(c) })
                }
                fn into_out(self) -> #ident {
                    self
                }
            }
        };
        let kind_impls = quote! {
            #[allow(dead_code)]
            fn __pyo2_fields() {
                fn __pyo2_plain<T: ::pyo2::abi::PlainField + ::pyo2::abi::Owned>() {}
                #(#checks)*
            }

            // SAFETY: #[repr(C)] (checked by the derive) and every field is
            // plain data (checked by `__pyo2_fields`), so the record is too.
            unsafe impl ::pyo2::abi::PlainField for #ident {}

            // SAFETY: as for `PlainField`.
            unsafe impl ::pyo2::abi::PlainRecord for #ident {}

            // SAFETY: Python lays out an element of this type as the record
            // itself, by its descriptor; it borrows nothing.
            unsafe impl<'a> ::pyo2::abi::Element<'a> for #ident {
                fn describe(out: &mut ::std::string::String) {
                    out.push_str(#name)
                }
            }

            // SAFETY: `&Record` crosses as a pointer to the record, valid
            // for the call's `'a` by the caller's guarantee.
            unsafe impl<'a> ::pyo2::abi::Param<'a> for &'a #ident {
                type C = *const #ident;
                type Held = ::pyo2::abi::Direct<Self>;
                fn describe(out: &mut ::std::string::String) {
                    out.push('&');
                    out.push_str(#name)
                }
                unsafe fn from_c(c: *const #ident) -> ::core::result::Result<Self::Held, ::pyo2::abi::ArgError> {
                    // SAFETY: the caller guarantees a non-null `c` points
                    // to a valid record for `'a`.
                    let r = unsafe { c.as_ref() }.ok_or(::pyo2::abi::ArgError::Null)?;
                    ::core::result::Result::Ok(::pyo2::abi::Direct::new(r))
                }
            }

            // SAFETY: `&mut Record` crosses as a pointer to the record,
            // valid and exclusive for the call's `'a` by the caller's
            // guarantee.
            unsafe impl<'a> ::pyo2::abi::Param<'a> for &'a mut #ident {
                type C = *mut #ident;
                type Held = ::pyo2::abi::Direct<Self>;
                fn describe(out: &mut ::std::string::String) {
                    out.push_str("&mut ");
                    out.push_str(#name)
                }
                unsafe fn from_c(c: *mut #ident) -> ::core::result::Result<Self::Held, ::pyo2::abi::ArgError> {
                    // SAFETY: the caller guarantees a non-null `c` points
                    // to a valid record, exclusive for `'a`.
                    let r = unsafe { c.as_mut() }.ok_or(::pyo2::abi::ArgError::Null)?;
                    ::core::result::Result::Ok(::pyo2::abi::Direct::new(r))
                }
            }
        };
        (
            quote!(#ident),
            quote!(#ident),
            quote!(),
            owned_impl,
            kind_impls,
        )
    } else {
        let in_fields = field_idents
            .iter()
            .zip(&field_types)
            .map(|(f, ty)| quote_spanned!(ty.span()=> #f: <#ty as ::pyo2::abi::Owned>::In));
        let out_fields = field_idents
            .iter()
            .zip(&field_types)
            .map(|(f, ty)| quote_spanned!(ty.span()=> #f: <#ty as ::pyo2::abi::Owned>::Out));
        let mirrors = quote! {
            /// The `In` mirror of the record (what Python lays out).
            #[repr(C)]
            #[allow(dead_code, non_camel_case_types)]
            #vis struct __Pyo2In {
                #(#in_fields,)*
            }

            /// The `Out` mirror of the record (what Python reads and frees).
            #[repr(C)]
            #[allow(dead_code, non_camel_case_types)]
            #vis struct __Pyo2Out {
                #(#out_fields,)*
            }
        };
        let from_fields =
            field_idents
                .iter()
                .zip(&field_types)
                .zip(&field_names)
                .map(|((f, ty), fname)| {
                    quote! {
                        #f: {
                            // SAFETY: the caller guarantees every field of `c`
                            // is a valid mirror.
                            unsafe { <#ty as ::pyo2::abi::Owned>::from_in(&c.#f) }
                                .map_err(|e| e.at_field(#fname))?
                        }
                    }
                });
        let into_fields = field_idents
            .iter()
            .zip(&field_types)
            .map(|(f, ty)| quote!(#f: <#ty as ::pyo2::abi::Owned>::into_out(#f)));
        let owned_impl = quote! {
            // SAFETY: `In` and `Out` are the #[repr(C)] structs of the
            // fields' mirrors, in declaration order; `into_out` hands
            // every field over, so dropping the `Out` frees each once.
            unsafe impl ::pyo2::abi::Owned for #ident {
                type In = __Pyo2In;
                type Out = __Pyo2Out;
                fn describe(out: &mut ::std::string::String) {
                    out.push_str(#name)
                }
                unsafe fn from_in(c: &__Pyo2In) -> ::core::result::Result<#ident, ::pyo2::abi::ArgError> {
                    ::core::result::Result::Ok(#ident {
                        #(#from_fields,)*
                    })
                }
                fn into_out(self) -> __Pyo2Out {
                    let #ident { #(#field_idents),* } = self;
                    __Pyo2Out {
                        #(#into_fields,)*
                    }
                }
            }
        };
        let kind_impls = quote! {
            // SAFETY: Python lays out the elements of a `&[Record]` as
            // `In` mirrors; the wrapper copies them into a `Vec` it lends.
            unsafe impl<'a> ::pyo2::abi::SliceItem<'a> for #ident {
                type View = __Pyo2In;
                type Held = ::std::vec::Vec<#ident>;
                fn describe(out: &mut ::std::string::String) {
                    out.push_str(#name)
                }
                unsafe fn hold(v: &'a ::pyo2::PyVec<__Pyo2In>) -> ::core::result::Result<Self::Held, ::pyo2::abi::ArgError> {
                    // SAFETY: the caller guarantees every element is valid.
                    unsafe { <#ident as ::pyo2::abi::Owned>::vec_from_in(v.as_slice()) }
                }
            }
        };
        (
            quote!(__Pyo2In),
            quote!(__Pyo2Out),
            mirrors,
            owned_impl,
            kind_impls,
        )
    };

    let layouts =
        field_idents
            .iter()
            .zip(&field_types)
            .zip(&field_names)
            .map(|((f, ty), fname)| {
                quote! {
                    ::pyo2::abi::FieldLayout {
                        name: #fname,
                        describe: <#ty as ::pyo2::abi::Owned>::describe,
                        offset: ::core::mem::offset_of!(#out_ty, #f),
                        in_offset: ::core::mem::offset_of!(#in_ty, #f),
                    }
                }
            });
    let describe_fn = format_ident!("__pyo2_record_{}", name);

    Ok(quote! {
        const _: () = {
            #mirrors

            #owned_impl

            // SAFETY: `__pyo2_record__NAME` below returns the descriptor of
            // this record's mirrors, and `Owned::describe` spells NAME.
            unsafe impl ::pyo2::abi::Record for #ident {
                const NAME: &'static str = #name;
            }

            #kind_impls

            #[unsafe(export_name = #symbol)]
            extern "C" fn #describe_fn() -> *const ::core::ffi::c_char {
                static DESCRIPTOR: ::std::sync::OnceLock<::std::ffi::CString> = ::std::sync::OnceLock::new();
                ::pyo2::abi::describe_record(
                    &DESCRIPTOR,
                    &::pyo2::abi::RecordLayout {
                        name: #name,
                        plain: #plain,
                        size: ::core::mem::size_of::<#out_ty>(),
                        align: ::core::mem::align_of::<#out_ty>(),
                        in_size: ::core::mem::size_of::<#in_ty>(),
                        in_align: ::core::mem::align_of::<#in_ty>(),
                        fields: &[#(#layouts),*],
                        doc: #doc,
                    },
                )
            }
        };
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(item: &str) -> String {
        derive(item.parse().unwrap()).to_string()
    }

    #[test]
    fn plain_and_owned_records() {
        let out =
            expand_str("/// A point.\n#[repr(C)] pub struct Point { pub x: f64, pub y: f64 }");
        assert!(
            out.contains("export_name = \"__pyo2_record__Point\""),
            "{out}"
        );
        assert!(out.contains("plain : true"), "{out}");
        assert!(out.contains("PlainRecord for Point"), "{out}");
        assert!(out.contains("\"A point.\""), "{out}");
        let out = expand_str("pub struct Person { pub name: String, pub r#type: u8 }");
        assert!(out.contains("plain : false"), "{out}");
        assert!(out.contains("struct __Pyo2In"), "{out}");
        assert!(out.contains("SliceItem < 'a > for Person"), "{out}");
        assert!(out.contains("name : \"type\""), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn mistakes_are_explained() {
        let cases = [
            ("struct P<T> { x: T }", "generic struct"),
            ("struct P<'a> { x: &'a u8 }", "generic struct"),
            ("struct P(f64);", "named fields"),
            ("struct P;", "named fields"),
            ("struct P {}", "at least one field"),
            ("enum P { A }", "not an enum"),
            ("#[repr(C, packed)] struct P { x: u8 }", "not packed"),
            ("#[repr(transparent)] struct P { x: u8 }", "not packed"),
        ];
        for (item, expected) in cases {
            let out = expand_str(item);
            assert!(out.contains("compile_error"), "{item}: {out}");
            assert!(
                out.contains(expected),
                "{item}: expected {expected:?} in {out}"
            );
        }
    }
}
