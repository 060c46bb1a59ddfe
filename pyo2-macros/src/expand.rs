//! The expansion of `#[pyo2::export]`, on `proc_macro2` tokens.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    parse2, Attribute, Error, Expr, FnArg, GenericParam, ItemFn, Lifetime, Lit, Meta, Pat,
    ReturnType, Type, TypeReference,
};

/// Expands `#[pyo2::export]` on `item` (with the attribute's own tokens `attr`).
///
/// On a mistake, the function is kept as written (so that its other uses still
/// compile) and a `compile_error!` points at the mistake.
pub fn export(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = match parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(e) => {
            let e = Error::new(
                e.span(),
                "#[pyo2::export] goes on a plain function: `fn name(args) -> T { ... }`",
            );
            return with_error(item, e);
        }
    };
    match expand(attr, &function) {
        Ok(tokens) => tokens,
        Err(e) => with_error(item, e),
    }
}

fn with_error(item: TokenStream, e: Error) -> TokenStream {
    let error = e.to_compile_error();
    quote!(#item #error)
}

/// One checked parameter.
struct Param {
    /// The name Python sees (keyword arguments, messages).
    name: String,
    /// The type with every lifetime `'static`, for the C signature and the descriptor.
    static_ty: Type,
    /// The type with every lifetime `'_`, for the conversion inside the body.
    elided_ty: Type,
}

fn expand(attr: TokenStream, function: &ItemFn) -> Result<TokenStream, Error> {
    if !attr.is_empty() {
        return Err(Error::new(
            attr.span(),
            "#[pyo2::export] takes no arguments",
        ));
    }
    check_signature(function)?;
    let sig = &function.sig;
    let ident = &sig.ident;
    let name = ident.to_string().trim_start_matches("r#").to_owned();
    let mut params = Vec::new();
    for (i, arg) in sig.inputs.iter().enumerate() {
        params.push(param(i, arg)?);
    }
    let ret_static = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            check_type(ty, "return type")?;
            with_lifetimes(ty, Some("static"))
        }
    };
    let doc = doc_text(&function.attrs);
    let sig_symbol = format!("__pyo2_sig__{name}");

    let args: Vec<_> = (0..params.len())
        .map(|i| format_ident!("__pyo2_arg{}", i))
        .collect();
    let c_types = params.iter().map(|p| {
        let ty = &p.static_ty;
        quote!(<#ty as ::pyo2::abi::Param<'static>>::C)
    });
    let conversions = params.iter().zip(&args).map(|(p, arg)| {
        let ty = &p.elided_ty;
        let pname = &p.name;
        quote! {
            // SAFETY: pyo2's loader passes, for each parameter, the C value
            // that the descriptor below asks for: a view of memory it owns
            // and lends to this call only, distinct for each `&mut`.
            let #arg = unsafe { <#ty as ::pyo2::abi::Param<'_>>::from_c(#arg) }
                .map_err(|e| (#pname, e))?;
        }
    });
    let descriptors = params.iter().map(|p| {
        let ty = &p.static_ty;
        let pname = &p.name;
        quote!((#pname, <#ty as ::pyo2::abi::Param<'static>>::describe))
    });

    Ok(quote! {
        #function

        const _: () = {
            #[unsafe(export_name = #name)]
            unsafe extern "C" fn __pyo2_export(
                #(#args: #c_types,)*
                __pyo2_slot: *mut ::pyo2::abi::Slot,
            ) -> i32 {
                let body = move || {
                    #(#conversions)*
                    ::core::result::Result::Ok(#ident(#(#args),*))
                };
                // SAFETY: the loader passes a valid slot for the result, as
                // the descriptor's ABI version says.
                unsafe { ::pyo2::abi::run(__pyo2_slot, body) }
            }

            #[unsafe(export_name = #sig_symbol)]
            extern "C" fn __pyo2_describe() -> *const ::core::ffi::c_char {
                static DESCRIPTOR: ::std::sync::OnceLock<::std::ffi::CString> = ::std::sync::OnceLock::new();
                ::pyo2::abi::describe(
                    &DESCRIPTOR,
                    #name,
                    &[#(#descriptors),*],
                    <#ret_static as ::pyo2::abi::Return>::describe,
                    #doc,
                )
            }
        };
    })
}

fn check_signature(function: &ItemFn) -> Result<(), Error> {
    let sig = &function.sig;
    if let Some(t) = &sig.constness {
        return Err(Error::new(
            t.span(),
            "#[pyo2::export] can't export a const fn; remove `const`",
        ));
    }
    if let Some(t) = &sig.asyncness {
        return Err(Error::new(
            t.span(),
            "#[pyo2::export] can't export an async fn",
        ));
    }
    if let Some(t) = &sig.unsafety {
        return Err(Error::new(
            t.span(),
            "#[pyo2::export] can't export an unsafe fn: Python can't uphold its safety contract",
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(Error::new(
            abi.span(),
            "#[pyo2::export] writes the extern \"C\" wrapper itself; remove `extern`",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(Error::new(
            v.span(),
            "#[pyo2::export] can't export a variadic function",
        ));
    }
    for p in &sig.generics.params {
        if !matches!(p, GenericParam::Lifetime(_)) {
            return Err(Error::new(
                p.span(),
                "#[pyo2::export] can't export a generic function (a C symbol has one signature); \
                 export one non-generic function per type",
            ));
        }
    }
    if let Some(w) = &sig.generics.where_clause {
        return Err(Error::new(
            w.span(),
            "#[pyo2::export] can't export a function with a where clause",
        ));
    }
    for attr in &function.attrs {
        let path = attr.path();
        let unsafe_wrapped = match &attr.meta {
            Meta::List(list) if path.is_ident("unsafe") => Some(list.tokens.to_string()),
            _ => None,
        };
        let is = |name: &str| {
            path.is_ident(name)
                || unsafe_wrapped
                    .as_deref()
                    .is_some_and(|t| t.starts_with(name))
        };
        if is("no_mangle") || is("export_name") {
            return Err(Error::new(
                attr.span(),
                "#[pyo2::export] exports the symbol itself; remove #[no_mangle] / #[export_name]",
            ));
        }
    }
    Ok(())
}

fn param(i: usize, arg: &FnArg) -> Result<Param, Error> {
    let typed = match arg {
        FnArg::Receiver(r) => {
            return Err(Error::new(
                r.span(),
                "#[pyo2::export] exports free functions, not methods",
            ));
        }
        FnArg::Typed(t) => t,
    };
    let name = match &*typed.pat {
        Pat::Ident(p) if p.subpat.is_none() => {
            p.ident.to_string().trim_start_matches("r#").to_owned()
        }
        _ => format!("arg{i}"),
    };
    check_type(&typed.ty, "parameter")?;
    let mut statics = StaticLifetimes(false);
    statics.visit_type_mut(&mut typed.ty.as_ref().clone());
    if statics.0 {
        return Err(Error::new(
            typed.ty.span(),
            "a parameter can't borrow for 'static: Python lends its memory for one call only",
        ));
    }
    Ok(Param {
        name,
        static_ty: with_lifetimes(&typed.ty, Some("static")),
        elided_ty: with_lifetimes(&typed.ty, None),
    })
}

fn check_type(ty: &Type, what: &str) -> Result<(), Error> {
    struct ImplTrait(Option<Span>);
    impl VisitMut for ImplTrait {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(t) = ty {
                self.0.get_or_insert(t.span());
            }
            visit_mut::visit_type_mut(self, ty);
        }
    }
    let mut found = ImplTrait(None);
    found.visit_type_mut(&mut ty.clone());
    match found.0 {
        Some(span) => Err(Error::new(
            span,
            format!("#[pyo2::export] needs a concrete {what}; `impl Trait` has no C layout"),
        )),
        None => Ok(()),
    }
}

/// Sets `.0` when a type mentions `'static`.
struct StaticLifetimes(bool);

impl VisitMut for StaticLifetimes {
    fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
        self.0 |= l.ident == "static";
    }
}

/// Replaces every lifetime of a type, written or elided, by `'static`
/// (`Some("static")`) or by `'_` (`None`).
struct SetLifetimes(Lifetime);

impl VisitMut for SetLifetimes {
    fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
        *l = self.0.clone();
    }
    fn visit_type_reference_mut(&mut self, r: &mut TypeReference) {
        r.lifetime = Some(self.0.clone());
        visit_mut::visit_type_reference_mut(self, r);
    }
}

fn with_lifetimes(ty: &Type, name: Option<&str>) -> Type {
    let lifetime = Lifetime::new(&format!("'{}", name.unwrap_or("_")), Span::call_site());
    let mut ty = ty.clone();
    SetLifetimes(lifetime).visit_type_mut(&mut ty);
    ty
}

/// The function's doc comment, one line per `///` line, without the leading space.
fn doc_text(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(lit) = &nv.value {
                if let Lit::Str(s) = &lit.lit {
                    let value = s.value();
                    for line in value.split('\n') {
                        lines.push(line.strip_prefix(' ').unwrap_or(line).to_owned());
                    }
                }
            }
        }
    }
    let text = lines.join("\n");
    text.trim_matches('\n').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(attr: &str, item: &str) -> String {
        export(attr.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    fn error_of(attr: &str, item: &str) -> String {
        let out = expand_str(attr, item);
        assert!(
            out.contains("compile_error"),
            "expected an error, got {out}"
        );
        out
    }

    #[test]
    fn expands_to_wrapper_and_descriptor() {
        let out = expand_str(
            "",
            "/// Adds.\n/// Twice.\nfn add<'a>(a: u8, s: &'a str, v: &mut [i64], _: bool) -> Result<u8, String> { 0 }",
        );
        assert!(out.contains("export_name = \"add\""), "{out}");
        assert!(out.contains("export_name = \"__pyo2_sig__add\""), "{out}");
        // The original function is kept so Rust code can call it.
        assert!(out.contains("fn add < 'a >"), "{out}");
        // Lifetimes are 'static in the C signature and '_ in the body.
        assert!(
            out.contains("& 'static str as :: pyo2 :: abi :: Param < 'static >"),
            "{out}"
        );
        assert!(
            out.contains("& '_ mut [i64] as :: pyo2 :: abi :: Param < '_ >"),
            "{out}"
        );
        assert!(
            out.contains("(\"arg3\" ,"),
            "a `_` parameter gets a name: {out}"
        );
        assert!(out.contains("\"Adds.\\nTwice.\""), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn raw_identifiers_keep_their_plain_name() {
        let out = expand_str("", "fn r#type(r#in: u8) {}");
        assert!(out.contains("export_name = \"type\""), "{out}");
        assert!(out.contains("(\"in\" ,"), "{out}");
    }

    #[test]
    fn mistakes_are_explained() {
        let cases = [
            ("", "pub extern \"C\" fn f() {}", "remove `extern`"),
            ("", "unsafe fn f() {}", "can't export an unsafe fn"),
            ("", "async fn f() {}", "async"),
            ("", "const fn f() {}", "const fn"),
            ("", "fn f<T>(x: T) {}", "generic function"),
            ("", "fn f<const N: usize>() {}", "generic function"),
            ("", "fn f<'a>(x: &'a u8) where 'a: 'a {}", "where clause"),
            ("", "#[no_mangle] fn f() {}", "remove #[no_mangle]"),
            ("", "#[unsafe(no_mangle)] fn f() {}", "remove #[no_mangle]"),
            (
                "",
                "#[export_name = \"g\"] fn f() {}",
                "remove #[no_mangle]",
            ),
            ("", "fn f(x: &'static str) {}", "'static"),
            ("", "fn f(x: &PyVec<&'static PyStr>) {}", "'static"),
            ("", "fn f(x: impl Into<u8>) {}", "impl Trait"),
            ("", "fn f() -> impl Display {}", "impl Trait"),
            ("name = \"g\"", "fn f() {}", "takes no arguments"),
            ("", "struct S;", "goes on a plain function"),
        ];
        for (attr, item, expected) in cases {
            let out = error_of(attr, item);
            assert!(
                out.contains(expected),
                "{item}: expected {expected:?} in {out}"
            );
        }
    }

    #[test]
    fn a_bad_function_is_still_emitted() {
        let out = error_of("", "unsafe fn keep_me() {}");
        assert!(out.contains("fn keep_me"), "{out}");
    }
}
