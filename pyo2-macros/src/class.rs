//! The expansions of `#[pyo2::class]` and `#[pyo2::methods]`, on
//! `proc_macro2` tokens.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{
    parse2, Error, FnArg, ImplItem, ImplItemFn, ItemImpl, ItemStruct, Meta, ReturnType, Type,
};

use crate::expand::{
    check_signature, doc_text, release_gil_marker, typed_param, uniform_entry, wrap_params,
    Wrapped, CALL_PREFIX,
};

fn with_error(item: TokenStream, e: Error) -> TokenStream {
    let error = e.to_compile_error();
    quote!(#item #error)
}

/// Expands `#[pyo2::class]` on a struct: the struct, and its
/// `pyo2::abi::Class` impl.
pub fn class(attr: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = parse2::<ItemStruct>(item.clone()).and_then(|s| {
        if !attr.is_empty() {
            return Err(Error::new(attr.span(), "#[pyo2::class] takes no arguments"));
        }
        if !s.generics.params.is_empty() || s.generics.where_clause.is_some() {
            return Err(Error::new(
                s.generics.span(),
                "#[pyo2::class] can't export a generic struct (a class has one set of C \
                 symbols); define one class per type",
            ));
        }
        Ok(s)
    });
    let s = match parsed {
        Ok(s) => s,
        Err(e) => return with_error(item, e),
    };
    let ident = &s.ident;
    let name = ident.to_string().trim_start_matches("r#").to_owned();
    let doc = doc_text(&s.attrs);
    quote! {
        #s

        // SAFETY: written by #[pyo2::class]: `NAME` is the struct's name,
        // as #[pyo2::methods] spells it in the class's symbols.
        unsafe impl ::pyo2::abi::Class for #ident {
            const NAME: &'static str = #name;
            const DOC: &'static str = #doc;
        }
    }
}

/// What a method is to Python.
#[derive(Clone, Copy, PartialEq)]
enum MethodKind {
    New,
    Method,
    Getter,
    Static,
}

/// The markers on one method: `#[new]` / `#[getter]`, and `#[release_gil]`.
#[derive(Clone, Copy, Default)]
struct Marks {
    kind: Option<MethodKind>,
    /// The loader releases the GIL during every call (see `pyo2::abi`,
    /// "Releasing the GIL").
    release_gil: bool,
}

/// Whether `attr` is `#[pyo2::export]` (with or without arguments).
fn is_export(attr: &syn::Attribute) -> bool {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments == ["pyo2", "export"]
}

/// Expands `#[pyo2::methods]` on an inherent impl: the impl (with the
/// `#[new]` / `#[getter]` / `#[release_gil]` markers removed), a hidden
/// impl holding one C wrapper and one descriptor per method, the class's
/// `close` and its class descriptor, and the marker symbol of each
/// `#[release_gil]` method.
pub fn methods(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut imp = match parse2::<ItemImpl>(item.clone()) {
        Ok(imp) => imp,
        Err(e) => {
            let e = Error::new(
                e.span(),
                "#[pyo2::methods] goes on an inherent impl: `impl MyClass { ... }`",
            );
            return with_error(item, e);
        }
    };
    let mut kinds = Vec::new();
    let mut mistake = None;
    for it in &mut imp.items {
        if let ImplItem::Fn(f) = it {
            let mut marks = Marks::default();
            f.attrs.retain(|a| {
                if a.path().is_ident("new") {
                    marks.kind = Some(MethodKind::New);
                    false
                } else if a.path().is_ident("getter") {
                    marks.kind = Some(MethodKind::Getter);
                    false
                } else if a.path().is_ident("release_gil") {
                    if !matches!(a.meta, Meta::Path(_)) {
                        mistake.get_or_insert_with(|| {
                            Error::new(a.span(), "#[release_gil] takes no arguments")
                        });
                    }
                    marks.release_gil = true;
                    false
                } else {
                    if is_export(a) {
                        mistake.get_or_insert_with(|| {
                            Error::new(
                                a.span(),
                                "#[pyo2::export] goes on free functions; in #[pyo2::methods], \
                                 every fn is exported: mark a long-running method \
                                 #[release_gil] instead of #[pyo2::export(release_gil)]",
                            )
                        });
                    }
                    true
                }
            });
            kinds.push(marks);
        }
    }
    let expanded = if !attr.is_empty() {
        Err(Error::new(
            attr.span(),
            "#[pyo2::methods] takes no arguments",
        ))
    } else if let Some(e) = mistake {
        Err(e)
    } else {
        expand(&imp, &kinds)
    };
    match expanded {
        Ok(tokens) => tokens,
        Err(e) => with_error(quote!(#imp), e),
    }
}

fn expand(imp: &ItemImpl, kinds: &[Marks]) -> Result<TokenStream, Error> {
    if imp.trait_.is_some() {
        return Err(Error::new(
            imp.span(),
            "#[pyo2::methods] goes on an inherent impl, not a trait impl",
        ));
    }
    if !imp.generics.params.is_empty() || imp.generics.where_clause.is_some() {
        return Err(Error::new(
            imp.generics.span(),
            "#[pyo2::methods] can't export a generic impl",
        ));
    }
    let self_ty = &imp.self_ty;
    let class = match &**self_ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string().trim_start_matches("r#").to_owned()),
        _ => None,
    }
    .ok_or_else(|| Error::new(self_ty.span(), "#[pyo2::methods] needs `impl ClassName`"))?;

    let mut wrappers = Vec::new();
    let mut entries = Vec::new();
    let fns = imp.items.iter().filter_map(|it| match it {
        ImplItem::Fn(f) => Some(f),
        _ => None,
    });
    let mut markers = Vec::new();
    for (i, (f, marks)) in fns.zip(kinds).enumerate() {
        let (tokens, entry) = method(&class, i, f, marks.kind)?;
        if marks.release_gil {
            markers.push(release_gil_marker(&entry.2));
        }
        wrappers.push(tokens);
        entries.push(entry);
    }
    let close_symbol = format!("__pyo2_close__{class}");
    let class_symbol = format!("__pyo2_class__{class}");
    let entry_tokens = entries
        .iter()
        .map(|(kind, pyname, symbol)| quote!((#kind, #pyname, #symbol)));
    Ok(quote! {
        #imp

        #[doc(hidden)]
        #[allow(non_snake_case)]
        impl #self_ty {
            #(#wrappers)*

            #[unsafe(export_name = #close_symbol)]
            unsafe extern "C" fn __pyo2_close(
                __pyo2_handle: u64,
                __pyo2_slot: *mut ::pyo2::abi::Slot,
            ) -> i32 {
                let body = move || ::pyo2::abi::close::<Self>(__pyo2_handle).map_err(|e| ("self", e));
                // SAFETY: the loader passes a valid slot for the result.
                unsafe { ::pyo2::abi::run(__pyo2_slot, body) }
            }

            #[unsafe(export_name = #class_symbol)]
            extern "C" fn __pyo2_class() -> *const ::core::ffi::c_char {
                static DESCRIPTOR: ::std::sync::OnceLock<::std::ffi::CString> = ::std::sync::OnceLock::new();
                ::pyo2::abi::describe_class_text(
                    &DESCRIPTOR,
                    <Self as ::pyo2::abi::Class>::NAME,
                    <Self as ::pyo2::abi::Class>::DOC,
                    &[#(#entry_tokens),*],
                    #close_symbol,
                )
            }
        }

        #(#markers)*
    })
}

/// The wrapper and descriptor of one method, and its class-descriptor entry.
fn method(
    class: &str,
    index: usize,
    f: &ImplItemFn,
    kind: Option<MethodKind>,
) -> Result<(TokenStream, (&'static str, String, String)), Error> {
    let sig = &f.sig;
    check_signature(sig, "methods")?;
    if let Some(t) = &sig.unsafety {
        return Err(Error::new(
            t.span(),
            "#[pyo2::methods] can't export an unsafe fn: Python can't uphold its safety contract",
        ));
    }
    let ident = &sig.ident;
    let pyname = ident.to_string().trim_start_matches("r#").to_owned();
    let receiver = sig.inputs.first().and_then(|a| match a {
        FnArg::Receiver(r) => Some(r),
        FnArg::Typed(_) => None,
    });
    let receiver_kind = match receiver {
        None => None,
        Some(r) if r.reference.is_some() && r.colon_token.is_none() => Some(r.mutability.is_some()),
        Some(r) => {
            return Err(Error::new(
                r.span(),
                "a method exported to Python takes `&self` or `&mut self` (Python owns the \
                 object; it can't be moved out)",
            ))
        }
    };
    let kind = match (kind, receiver_kind) {
        (Some(MethodKind::New), None) => MethodKind::New,
        (Some(MethodKind::New), Some(_)) => {
            return Err(Error::new(
                sig.span(),
                "a #[new] constructor takes no `self`",
            ))
        }
        (Some(MethodKind::Getter), Some(false)) if sig.inputs.len() == 1 => MethodKind::Getter,
        (Some(MethodKind::Getter), _) => {
            return Err(Error::new(
                sig.span(),
                "a #[getter] takes `&self` and nothing else",
            ))
        }
        (_, None) => MethodKind::Static,
        (_, Some(_)) => MethodKind::Method,
    };
    let typed: Vec<&syn::PatType> = sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let params = typed
        .iter()
        .enumerate()
        .map(|(i, t)| typed_param(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    let args: Vec<_> = (0..params.len())
        .map(|i| format_ident!("__pyo2_arg{}", i))
        .collect();
    let Wrapped {
        c_types,
        read,
        check,
        lend,
        descriptors,
    } = wrap_params(&params, &args);

    let symbol = format!("__pyo2_m__{class}__{pyname}");
    let sig_symbol = format!("__pyo2_sig__{symbol}");
    let wrapper = format_ident!("__pyo2_m{}_{}", index, ident);
    let describer = format_ident!("__pyo2_sig{}_{}", index, ident);
    let uniform = uniform_entry(
        &format!("{CALL_PREFIX}{symbol}"),
        &format_ident!("__pyo2_c{}_{}", index, ident),
        &quote!(Self::#wrapper),
        receiver_kind.is_some(),
        &c_types,
    );
    let doc = doc_text(&f.attrs);
    let ret: Type = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    let (self_param, lookup, unwrap, call, receiver_text) = match receiver_kind {
        Some(exclusive) => {
            let with = if exclusive {
                quote!(with_mut)
            } else {
                quote!(with_ref)
            };
            (
                quote!(__pyo2_self: u64,),
                quote!(let __pyo2_obj = ::pyo2::abi::object::<Self>(__pyo2_self);),
                quote!(let __pyo2_obj = __pyo2_obj.map_err(|e| ("self", e))?;),
                quote! {
                    __pyo2_obj
                        .#with(|__pyo2_this| Self::#ident(__pyo2_this, #(#lend),*))
                        .map_err(|e| ("self", e))
                },
                if exclusive { "&mut self" } else { "&self" },
            )
        }
        None if kind == MethodKind::New => (
            quote!(),
            quote!(),
            quote!(),
            quote!(::core::result::Result::Ok(::pyo2::abi::Created::new::<Self, _>(
                Self::#ident(#(#lend),*)
            ))),
            "",
        ),
        None => (
            quote!(),
            quote!(),
            quote!(),
            quote!(::core::result::Result::Ok(Self::#ident(#(#lend),*))),
            "",
        ),
    };
    let ret_describe = if kind == MethodKind::New {
        quote!(<#ret as ::pyo2::abi::New<Self>>::describe)
    } else {
        quote!(<#ret as ::pyo2::abi::Return>::describe)
    };
    let kind_text = match kind {
        MethodKind::New => "new",
        MethodKind::Method => "method",
        MethodKind::Getter => "getter",
        MethodKind::Static => "static",
    };
    let tokens = quote! {
        #[unsafe(export_name = #symbol)]
        unsafe extern "C" fn #wrapper<'py>(
            #self_param
            #(#args: #c_types,)*
            __pyo2_slot: *mut ::pyo2::abi::Slot,
        ) -> i32 {
            let body = move || {
                #lookup
                #(#read)*
                #unwrap
                #(#check)*
                #call
            };
            // SAFETY: the loader passes a valid slot for the result, as
            // the descriptor's ABI version says.
            unsafe { ::pyo2::abi::run(__pyo2_slot, body) }
        }

        #uniform

        #[unsafe(export_name = #sig_symbol)]
        extern "C" fn #describer() -> *const ::core::ffi::c_char {
            static DESCRIPTOR: ::std::sync::OnceLock<::std::ffi::CString> = ::std::sync::OnceLock::new();
            ::pyo2::abi::describe_method(
                &DESCRIPTOR,
                #pyname,
                #receiver_text,
                &[#(#descriptors),*],
                #ret_describe,
                #doc,
            )
        }
    };
    Ok((tokens, (kind_text, pyname, symbol)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods_str(item: &str) -> String {
        methods(TokenStream::new(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn methods_get_wrappers_descriptors_and_close() {
        let out = methods_str(
            "impl Tok { #[new] fn new(p: &str) -> Result<Self, E> { todo!() } \
             fn encode(&mut self, t: &str) -> Vec<u32> { todo!() } \
             #[getter] fn seen(&self) -> u64 { 0 } \
             fn each(&self, f: &mut dyn FnMut(u32, &str) -> bool) {} \
             fn helper() -> u8 { 1 } }",
        );
        assert!(!out.contains("compile_error"), "{out}");
        for needle in [
            "export_name = \"__pyo2_m__Tok__new\"",
            "export_name = \"__pyo2_sig____pyo2_m__Tok__encode\"",
            "export_name = \"__pyo2_close__Tok\"",
            "export_name = \"__pyo2_call____pyo2_m__Tok__encode\"",
            "export_name = \"__pyo2_call____pyo2_m__Tok__helper\"",
            // A method's handle is argument 0, counted in nargs.
            "check_args (__pyo2_args , __pyo2_nargs , 2usize , __pyo2_slot)",
            "Self :: __pyo2_m1_encode (:: pyo2 :: abi :: read_arg :: < u64 > (__pyo2_args , 0) ,",
            "export_name = \"__pyo2_class__Tok\"",
            "(\"getter\" , \"seen\" , \"__pyo2_m__Tok__seen\")",
            "(\"static\" , \"helper\" , \"__pyo2_m__Tok__helper\")",
            ":: pyo2 :: abi :: Created :: new :: < Self , _ >",
            ". with_mut (",
            ". with_ref (",
            ":: pyo2 :: abi :: scoped_from_c",
            "\"&mut self\"",
        ] {
            assert!(out.contains(needle), "{needle} in {out}");
        }
        // The markers are gone from the user's impl.
        assert!(
            !out.contains("# [new]") && !out.contains("# [getter]"),
            "{out}"
        );
    }

    #[test]
    fn release_gil_marks_a_method() {
        let out = methods_str(
            "impl Tok { #[release_gil] fn slow(&self, n: u64) -> u64 { n } \
             fn quick(&self) -> u8 { 1 } \
             #[new] #[release_gil] fn new() -> Self { todo!() } }",
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(
            out.contains("export_name = \"__pyo2_release_gil____pyo2_m__Tok__slow\"")
                && out.contains("export_name = \"__pyo2_release_gil____pyo2_m__Tok__new\""),
            "{out}"
        );
        assert!(
            !out.contains("__pyo2_release_gil____pyo2_m__Tok__quick"),
            "{out}"
        );
        assert!(out.contains("static __PYO2_RELEASE_GIL : u8 = 1"), "{out}");
        // The marker is gone from the user's impl; the class descriptor is as without it.
        assert!(!out.contains("# [release_gil]"), "{out}");
        assert!(
            out.contains("(\"method\" , \"slow\" , \"__pyo2_m__Tok__slow\")"),
            "{out}"
        );
    }

    #[test]
    fn mistakes_are_explained() {
        let cases = [
            (
                "impl Tok { #[release_gil(yes)] fn f(&self) {} }",
                "#[release_gil] takes no arguments",
            ),
            (
                "impl Tok { #[pyo2::export(release_gil)] fn f(&self) {} }",
                "mark a long-running method #[release_gil]",
            ),
            ("impl<T> Tok<T> { fn f(&self) {} }", "generic impl"),
            ("impl Tok { fn f(self) {} }", "`&self` or `&mut self`"),
            (
                "impl Tok { #[new] fn f(&self) -> Self { todo!() } }",
                "takes no `self`",
            ),
            (
                "impl Tok { #[getter] fn f(&self, x: u8) -> u8 { x } }",
                "#[getter] takes",
            ),
            ("impl Tok { async fn f(&self) {} }", "async"),
            ("impl Tok { fn f<T>(&self, x: T) {} }", "generic method"),
            (
                "impl Tok { fn f<'a>(&self, x: &'a str) where 'a: 'a {} }",
                "method with a where clause",
            ),
            (
                "impl Tok { fn f<'a: 'static>(&self, x: &'a str) {} }",
                "refuses `'a: 'static`",
            ),
            (
                "impl Tok { fn f(&self, g: &dyn Fn(u8)) {} }",
                "a callback parameter is",
            ),
            (
                "impl Tok { fn f(&self, g: Callback<dyn FnMut(u8)>) {} }",
                "takes `dyn Fn",
            ),
            ("impl Display for Tok {}", "not a trait impl"),
            ("fn f() {}", "goes on an inherent impl"),
        ];
        for (item, expected) in cases {
            let out = methods_str(item);
            assert!(out.contains("compile_error"), "{item}: {out}");
            assert!(
                out.contains(expected),
                "{item}: expected {expected:?} in {out}"
            );
        }
        let out = class(TokenStream::new(), "struct G<T>(T);".parse().unwrap()).to_string();
        assert!(out.contains("generic struct"), "{out}");
        let out = class(
            TokenStream::new(),
            "/// Doc.\npub struct C { x: u8 }".parse().unwrap(),
        )
        .to_string();
        assert!(
            out.contains("unsafe impl :: pyo2 :: abi :: Class for C"),
            "{out}"
        );
        assert!(
            out.contains("const DOC : & 'static str = \"Doc.\""),
            "{out}"
        );
    }
}
