//! The expansion of `#[pyo2::export]`, on `proc_macro2` tokens.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    parse2, Attribute, Error, Expr, FnArg, GenericParam, ItemFn, Lifetime, Lit, Meta, Pat,
    ReturnType, Signature, Token, Type, TypeReference,
};

/// Expands `#[pyo2::export]` on `item` (with the attribute's own tokens `attr`).
///
/// On a plain function, it keeps the function and adds an `extern "C"`
/// wrapper plus a descriptor; on an `extern "C"` function with
/// `#[no_mangle]` or `#[export_name]`, it keeps the function exactly as
/// written and adds only the descriptor.
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
    let expanded = options(attr).and_then(|options| {
        if function.sig.abi.is_some() {
            expand_extern(&function, &options)
        } else {
            expand(&function, &options)
        }
    });
    match expanded {
        Ok(tokens) => tokens,
        Err(e) => with_error(item, e),
    }
}

/// The arguments of `#[pyo2::export(...)]`.
#[derive(Default)]
struct Options {
    /// `release_gil`: the library marks the function so that pyo2's loader
    /// releases the GIL during every call (see `pyo2::abi`, "Releasing the
    /// GIL").
    release_gil: bool,
}

/// What `#[pyo2::export(...)]` accepts, for the messages.
const ARGUMENTS: &str = "#[pyo2::export] takes no argument but `release_gil` \
     (#[pyo2::export(release_gil)]: the loader releases the GIL while the function runs, \
     so that other Python threads run meanwhile)";

/// Reads the attribute's own tokens: nothing, or `release_gil`.
fn options(attr: TokenStream) -> Result<Options, Error> {
    let mut options = Options::default();
    if attr.is_empty() {
        return Ok(options);
    }
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated
        .parse2(attr)
        .map_err(|e| Error::new(e.span(), ARGUMENTS))?;
    for meta in metas {
        let path = meta.path();
        if !path.is_ident("release_gil") {
            let name = path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect::<Vec<_>>()
                .join("::");
            return Err(Error::new(
                meta.span(),
                format!("unknown argument `{name}`: {ARGUMENTS}"),
            ));
        }
        if !matches!(meta, Meta::Path(_)) {
            return Err(Error::new(
                meta.span(),
                "`release_gil` takes no value: write #[pyo2::export(release_gil)]",
            ));
        }
        if options.release_gil {
            return Err(Error::new(meta.span(), "`release_gil` is given twice"));
        }
        options.release_gil = true;
    }
    Ok(options)
}

/// The prefix of the marker symbol of a function or method marked
/// `release_gil` (see `pyo2::abi`, "Releasing the GIL").
pub(crate) const RELEASE_GIL_PREFIX: &str = "__pyo2_release_gil__";

/// The marker of `symbol` (a function's or a method's C symbol): an
/// exported one-byte static, data and not a function, so that no loader
/// lists it as a function of the library.
pub(crate) fn release_gil_marker(symbol: &str) -> TokenStream {
    let marker = format!("{RELEASE_GIL_PREFIX}{symbol}");
    quote! {
        const _: () = {
            #[unsafe(export_name = #marker)]
            static __PYO2_RELEASE_GIL: u8 = 1;
        };
    }
}

fn with_error(item: TokenStream, e: Error) -> TokenStream {
    let error = e.to_compile_error();
    quote!(#item #error)
}

/// One checked parameter.
pub(crate) struct Param {
    /// The name Python sees (keyword arguments, messages).
    name: String,
    /// A callback parameter, or an ordinary one.
    kind: Kind,
    /// The type with every lifetime `'static`, for the descriptor.
    static_ty: Type,
    /// The type with every lifetime `'py`, the one lifetime the generated
    /// code is generic over: a type that needs `'static` fails to compile.
    py_ty: Type,
}

/// What kind of parameter: converted by `pyo2::abi::Param`, or a callback
/// that the macro wraps in a closure (recognised by its spelling).
// A handful live for one expansion: their size doesn't matter.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Plain,
    /// `&mut dyn FnMut(args) -> ret`.
    Scoped {
        args: Vec<Type>,
        ret: Type,
    },
    /// `Callback<dyn Fn(args) -> ret + Send + Sync>`; `dyn_ty` is the
    /// `dyn` type as written.
    Stored {
        args: Vec<Type>,
        ret: Type,
        dyn_ty: Type,
    },
}

/// The `Fn*(args) -> ret` bound of a `dyn` type: its trait name, its
/// argument types and its return type.
fn fn_bound(ty: &Type) -> Option<(String, Vec<Type>, Type)> {
    let Type::TraitObject(t) = ty else {
        return None;
    };
    t.bounds.iter().find_map(|b| {
        let syn::TypeParamBound::Trait(tb) = b else {
            return None;
        };
        let last = tb.path.segments.last()?;
        let syn::PathArguments::Parenthesized(p) = &last.arguments else {
            return None;
        };
        let ret: Type = match &p.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        Some((
            last.ident.to_string(),
            p.inputs.iter().cloned().collect(),
            ret,
        ))
    })
}

/// Recognises the two callback spellings.
fn callback_kind(ty: &Type) -> Result<Option<Kind>, Error> {
    match ty {
        Type::Reference(r) => {
            let Some((name, args, ret)) = fn_bound(&r.elem) else {
                return Ok(None);
            };
            if name != "FnMut" || r.mutability.is_none() {
                return Err(Error::new(
                    ty.span(),
                    "a callback parameter is `&mut dyn FnMut(A, ...) -> R` (valid for the call)                      or `pyo2::Callback<dyn Fn(A, ...) -> R + Send + Sync>` (kept by Rust)",
                ));
            }
            Ok(Some(Kind::Scoped { args, ret }))
        }
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return Ok(None);
            };
            if last.ident != "Callback" {
                return Ok(None);
            }
            let syn::PathArguments::AngleBracketed(a) = &last.arguments else {
                return Ok(None);
            };
            let Some(syn::GenericArgument::Type(dyn_ty)) = a.args.first() else {
                return Ok(None);
            };
            match fn_bound(dyn_ty) {
                Some((name, args, ret)) if name == "Fn" => Ok(Some(Kind::Stored {
                    args,
                    ret,
                    dyn_ty: dyn_ty.clone(),
                })),
                _ => Err(Error::new(
                    dyn_ty.span(),
                    "pyo2::Callback takes `dyn Fn(A, ...) -> R + Send + Sync`",
                )),
            }
        }
        _ => Ok(None),
    }
}

/// The pieces of a wrapper's parameter handling.
pub(crate) struct Wrapped {
    /// The C type of each parameter.
    pub c_types: Vec<TokenStream>,
    /// Reads every C argument (no early return, so that every callback
    /// read is owned, and released, whatever fails).
    pub read: Vec<TokenStream>,
    /// Checks each read (`?`, in parameter order) and builds closures.
    pub check: Vec<TokenStream>,
    /// The arguments of the Rust call.
    pub lend: Vec<TokenStream>,
    /// The descriptor's `(name, describe)` pairs.
    pub descriptors: Vec<TokenStream>,
}

/// The generated handling of `params`, whose C arguments are named `args`.
pub(crate) fn wrap_params(params: &[Param], args: &[syn::Ident]) -> Wrapped {
    let py = py_lifetime();
    let mut w = Wrapped {
        c_types: Vec::new(),
        read: Vec::new(),
        check: Vec::new(),
        lend: Vec::new(),
        descriptors: Vec::new(),
    };
    for (i, (p, arg)) in params.iter().zip(args).enumerate() {
        let pname = &p.name;
        match &p.kind {
            Kind::Plain => {
                let ty = &p.py_ty;
                w.c_types
                    .push(quote_spanned!(ty.span()=> <#ty as ::pyo2::abi::Param<#py>>::C));
                // Spanned on the parameter's type: a type that needs `'static`
                // fails to compile here, and the error points at it.
                let from_c = quote_spanned!(ty.span()=> <#ty as ::pyo2::abi::Param<#py>>::from_c);
                w.read.push(quote! {
                    // SAFETY: pyo2's loader passes, for each parameter, the C value
                    // that the descriptor below asks for: a view of memory it owns
                    // and lends to this call only (the generic `'py`, which no
                    // parameter can outlive), distinct for each `&mut`.
                    let #arg = unsafe { #from_c(#arg) };
                });
                w.check.push(quote! {
                    let mut #arg = #arg.map_err(|e| (#pname, e))?;
                });
                w.lend.push(quote!(::pyo2::abi::Lend::lend(&mut #arg)));
                let sty = &p.static_ty;
                w.descriptors
                    .push(quote!((#pname, <#sty as ::pyo2::abi::Param<'static>>::describe)));
            }
            Kind::Scoped { args: cargs, ret }
            | Kind::Stored {
                args: cargs, ret, ..
            } => {
                let stored = matches!(p.kind, Kind::Stored { .. });
                let statics: Vec<Type> =
                    cargs.iter().map(|t| with_lifetimes(t, "static")).collect();
                let ret_static = with_lifetimes(ret, "static");
                let fn_ty = quote! {
                    unsafe extern "C" fn(
                        *mut ::core::ffi::c_void,
                        #(<#statics as ::pyo2::abi::CallbackArg>::C,)*
                        *mut i32,
                    ) -> <#ret_static as ::pyo2::abi::CallbackReturn>::C
                };
                let raw = format_ident!("__pyo2_raw{}", i);
                let names: Vec<_> = (0..cargs.len())
                    .map(|j| format_ident!("__pyo2_c{}", j))
                    .collect();
                let holds: Vec<_> = (0..cargs.len())
                    .map(|j| format_ident!("__pyo2_h{}", j))
                    .collect();
                let closure = quote! {
                    move |#(#names: #cargs),*| -> #ret {
                        // The whole callback is captured (it releases `ctx` when dropped).
                        let __pyo2_cb = &#raw;
                        #(let #holds = <#cargs as ::pyo2::abi::CallbackArg>::hold(#names);)*
                        let mut __pyo2_raised: i32 = 0;
                        ::pyo2::abi::callback_enter();
                        // SAFETY:
                        // - the loader passed `call` with the C type the descriptor
                        //   spells, callable with `ctx` (for a scoped callback,
                        //   during this call; for a stored one, until `release`);
                        // - each argument is valid for the call (a `&str`'s header
                        //   lives in `#holds` until after it returns);
                        // - `__pyo2_raised` is a valid, zeroed flag for the call.
                        let __pyo2_c = unsafe {
                            (__pyo2_cb.call)(
                                __pyo2_cb.ctx,
                                #(<#statics as ::pyo2::abi::CallbackArg>::as_c(&#holds),)*
                                &mut __pyo2_raised,
                            )
                        };
                        ::pyo2::abi::callback_return::<#ret_static>(__pyo2_c, __pyo2_raised)
                    }
                };
                let (c_struct, from_c, prefix, suffix) = if stored {
                    (
                        quote!(::pyo2::abi::StoredC),
                        quote!(::pyo2::abi::stored_from_c),
                        "Callback<dyn Fn(",
                        ">",
                    )
                } else {
                    (
                        quote!(::pyo2::abi::ScopedC),
                        quote!(::pyo2::abi::scoped_from_c),
                        "&mut dyn FnMut(",
                        "",
                    )
                };
                w.c_types.push(quote!(*const #c_struct<#fn_ty>));
                w.read.push(quote! {
                    // SAFETY: the loader passes a null pointer or a valid callback
                    // struct whose `call` has the C type the descriptor spells
                    // (see `pyo2::abi#callbacks`).
                    let #arg = unsafe { #from_c(#arg) };
                });
                if let Kind::Stored { dyn_ty, .. } = &p.kind {
                    w.check.push(quote! {
                        let #raw = #arg.map_err(|e| (#pname, e))?;
                        let #arg = {
                            let __pyo2_f: ::std::sync::Arc<#dyn_ty> = ::std::sync::Arc::new(#closure);
                            ::pyo2::Callback::new(__pyo2_f)
                        };
                    });
                    w.lend.push(quote!(#arg));
                } else {
                    w.check.push(quote! {
                        let #raw = #arg.map_err(|e| (#pname, e))?;
                        let mut #arg = #closure;
                    });
                    w.lend.push(quote!(&mut #arg));
                }
                let seps = (0..statics.len()).map(|j| if j == 0 { "" } else { ", " });
                w.descriptors.push(quote! {
                    (#pname, {
                        fn __pyo2_describe(out: &mut ::std::string::String) {
                            out.push_str(#prefix);
                            #(
                                out.push_str(#seps);
                                <#statics as ::pyo2::abi::CallbackArg>::describe(out);
                            )*
                            out.push(')');
                            ::pyo2::abi::describe_callback_return::<#ret_static>(out);
                            out.push_str(#suffix);
                        }
                        __pyo2_describe as fn(&mut ::std::string::String)
                    })
                });
            }
        }
    }
    w
}

/// The lifetime of Python's loan in the generated code.
fn py_lifetime() -> Lifetime {
    Lifetime::new(&format!("'{PY}"), Span::call_site())
}

/// The name of [`py_lifetime`].
const PY: &str = "py";

fn expand(function: &ItemFn, options: &Options) -> Result<TokenStream, Error> {
    check_signature(&function.sig, "export")?;
    check_plain(function)?;
    let sig = &function.sig;
    let ident = &sig.ident;
    let name = ident.to_string().trim_start_matches("r#").to_owned();
    let params = params(function)?;
    let ret_static = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            check_type(ty, "return type")?;
            with_lifetimes(ty, "static")
        }
    };
    let doc = doc_text(&function.attrs);
    let sig_symbol = format!("__pyo2_sig__{name}");
    let py = py_lifetime();

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
    let uniform = uniform_entry(
        &format!("{CALL_PREFIX}{name}"),
        &format_ident!("__pyo2_call"),
        &quote!(__pyo2_export),
        false,
        &c_types,
    );
    let marker = options.release_gil.then(|| release_gil_marker(&name));

    Ok(quote! {
        #function

        #marker

        const _: () = {
            #[unsafe(export_name = #name)]
            unsafe extern "C" fn __pyo2_export<#py>(
                #(#args: #c_types,)*
                __pyo2_slot: *mut ::pyo2::abi::Slot,
            ) -> i32 {
                let body = move || {
                    #(#read)*
                    #(#check)*
                    ::core::result::Result::Ok(#ident(#(#lend),*))
                };
                // SAFETY: the loader passes a valid slot for the result, as
                // the descriptor's ABI version says.
                unsafe { ::pyo2::abi::run(__pyo2_slot, body) }
            }

            #uniform

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

/// The prefix of a uniform entry point's symbol (see `pyo2::abi`, "The
/// uniform entry point").
pub(crate) const CALL_PREFIX: &str = "__pyo2_call__";

/// The uniform entry point `symbol`, a function named `ident` that checks
/// `nargs`, reads each argument from its 8-byte slot as the C type in
/// `c_types` (after the `u64` handle, argument 0, when `handle`: a
/// `&self` / `&mut self` method) and calls the typed wrapper `typed` with
/// them: the same generated code, so the two can't drift.
pub(crate) fn uniform_entry(
    symbol: &str,
    ident: &syn::Ident,
    typed: &TokenStream,
    handle: bool,
    c_types: &[TokenStream],
) -> TokenStream {
    let py = py_lifetime();
    let first = usize::from(handle);
    let expected = first + c_types.len();
    let indices = (first..expected).map(syn::Index::from);
    let handle = if handle {
        quote!(::pyo2::abi::read_arg::<u64>(__pyo2_args, 0),)
    } else {
        quote!()
    };
    quote! {
        #[unsafe(export_name = #symbol)]
        unsafe extern "C" fn #ident<#py>(
            __pyo2_args: *const ::pyo2::abi::ArgSlot,
            __pyo2_nargs: usize,
            __pyo2_slot: *mut ::pyo2::abi::Slot,
        ) -> i32 {
            // SAFETY: the caller passes a valid slot, as for the typed symbol.
            if let ::core::result::Result::Err(status) = unsafe {
                ::pyo2::abi::check_args(__pyo2_args, __pyo2_nargs, #expected, __pyo2_slot)
            } {
                return status;
            }
            // SAFETY:
            // - `check_args` made sure there are `#expected` slots and that
            //   `args` is non-null if there is any;
            // - the caller stores in each slot, at offset 0, the C value the
            //   typed symbol takes for that parameter (the descriptor's
            //   ABI), which the typed wrapper then checks as usual;
            // - `slot` is valid, as above.
            unsafe {
                #typed(
                    #handle
                    #(::pyo2::abi::read_arg::<#c_types>(__pyo2_args, #indices),)*
                    __pyo2_slot,
                )
            }
        }
    }
}

/// `#[pyo2::export]` on a `#[no_mangle] extern "C" fn`: the function stays
/// as written; only a descriptor is added.
fn expand_extern(function: &ItemFn, options: &Options) -> Result<TokenStream, Error> {
    check_signature(&function.sig, "export")?;
    let sig = &function.sig;
    if let Some(abi) = &sig.abi {
        if let Some(name) = &abi.name {
            if name.value() != "C" {
                return Err(Error::new(
                    name.span(),
                    format!(
                        "#[pyo2::export] describes only extern \"C\" functions, not extern {:?}; \
                         write `extern \"C\"` (or remove `extern` and #[no_mangle] and let \
                         #[pyo2::export] write the wrapper)",
                        name.value()
                    ),
                ));
            }
        }
    }
    if let Some(t) = &sig.unsafety {
        return Err(Error::new(
            t.span(),
            "#[pyo2::export] can't describe an unsafe extern \"C\" fn: Python can't uphold its \
             safety contract; make it a safe fn (check the arguments inside)",
        ));
    }
    let name = match symbol_attr(&function.attrs)? {
        Some((_, SymbolAttr::ExportName(name))) => name,
        Some((_, SymbolAttr::NoMangle)) => {
            sig.ident.to_string().trim_start_matches("r#").to_owned()
        }
        None => {
            return Err(Error::new(
                sig.ident.span(),
                "#[pyo2::export] on an extern \"C\" fn needs its C symbol: add #[unsafe(no_mangle)] \
                 (#[no_mangle] in edition 2021) or #[unsafe(export_name = \"...\")]; or remove \
                 `extern \"C\"` and let #[pyo2::export] export the function itself",
            ));
        }
    };
    let params = params(function)?;
    for (p, arg) in params.iter().zip(&sig.inputs) {
        if !matches!(p.kind, Kind::Plain) {
            return Err(Error::new(
                arg.span(),
                "a plain extern \"C\" function can't take a callback; remove `extern \"C\"` and                  #[no_mangle] and let #[pyo2::export] write the wrapper",
            ));
        }
        if let FnArg::Typed(t) = arg {
            check_extern_param(&t.ty, &p.name)?;
        }
    }
    let ret: Type = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            check_type(ty, "return type")?;
            check_extern_return(ty)?;
            (**ty).clone()
        }
    };
    let ident = &sig.ident;
    let doc = doc_text(&function.attrs);
    let sig_symbol = format!("__pyo2_sig__{name}");
    let py = py_lifetime();
    let py_types: Vec<_> = params.iter().map(|p| &p.py_ty).collect();
    let param_checks = py_types.iter().map(
        |ty| quote_spanned!(ty.span()=> let _ = <#ty as ::pyo2::abi::ExternParam<#py>>::describe;),
    );
    let ret_check =
        quote_spanned!(ret.span()=> let _ = <#ret as ::pyo2::abi::ExternReturn>::describe;);
    let descriptors = params.iter().map(|p| {
        let ty = &p.static_ty;
        let pname = &p.name;
        quote!((#pname, <#ty as ::pyo2::abi::ExternParam<'static>>::describe))
    });
    let marker = options.release_gil.then(|| release_gil_marker(&name));

    Ok(quote! {
        #function

        #marker

        const _: () = {
            // Compile-time checks, never called: each parameter's C ABI is
            // what pyo2 passes for the type the descriptor spells, and the
            // function accepts borrows of any `'py`, so none lasts beyond
            // the call.
            #[allow(dead_code)]
            fn __pyo2_check<#py>(_: &#py ()) {
                #(#param_checks)*
                #ret_check
                let _: extern "C" fn(#(#py_types),*) -> #ret = #ident;
            }

            #[unsafe(export_name = #sig_symbol)]
            extern "C" fn __pyo2_describe() -> *const ::core::ffi::c_char {
                static DESCRIPTOR: ::std::sync::OnceLock<::std::ffi::CString> = ::std::sync::OnceLock::new();
                ::pyo2::abi::describe_extern(
                    &DESCRIPTOR,
                    #name,
                    &[#(#descriptors),*],
                    <#ret as ::pyo2::abi::ExternReturn>::describe,
                    #doc,
                )
            }
        };
    })
}

/// Checks shared by both forms of `#[pyo2::export]` and by the methods of
/// `#[pyo2::methods]` (`attr_name`, for the messages): no async, variadic,
/// generics (but for lifetimes), where clause, or lifetime bound that could
/// be `'static`.
pub(crate) fn check_signature(sig: &Signature, attr_name: &str) -> Result<(), Error> {
    let kind = if attr_name == "methods" {
        "method"
    } else {
        "function"
    };
    if let Some(t) = &sig.asyncness {
        return Err(Error::new(
            t.span(),
            format!("#[pyo2::{attr_name}] can't export an async fn"),
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(Error::new(
            v.span(),
            format!("#[pyo2::{attr_name}] can't export a variadic function"),
        ));
    }
    for p in &sig.generics.params {
        match p {
            GenericParam::Lifetime(l) => {
                if let Some(bound) = l.bounds.iter().find(|b| b.ident == "static") {
                    return Err(Error::new(
                        bound.span(),
                        format!(
                            "#[pyo2::{attr_name}] refuses `{}: 'static`: Python lends its memory \
                             for one call only; remove the bound",
                            l.lifetime
                        ),
                    ));
                }
            }
            _ => {
                return Err(Error::new(
                    p.span(),
                    format!(
                        "#[pyo2::{attr_name}] can't export a generic {kind} (a C symbol has one \
                         signature); export one non-generic {kind} per type"
                    ),
                ));
            }
        }
    }
    if let Some(w) = &sig.generics.where_clause {
        return Err(Error::new(
            w.span(),
            format!("#[pyo2::{attr_name}] can't export a {kind} with a where clause"),
        ));
    }
    Ok(())
}

/// Checks of the plain form, where the attribute writes the wrapper.
fn check_plain(function: &ItemFn) -> Result<(), Error> {
    let sig = &function.sig;
    if let Some(t) = &sig.constness {
        return Err(Error::new(
            t.span(),
            "#[pyo2::export] can't export a const fn; remove `const`",
        ));
    }
    if let Some(t) = &sig.unsafety {
        return Err(Error::new(
            t.span(),
            "#[pyo2::export] can't export an unsafe fn: Python can't uphold its safety contract",
        ));
    }
    if let Some((span, _)) = symbol_attr(&function.attrs)? {
        return Err(Error::new(
            span,
            "#[pyo2::export] exports the symbol itself; remove #[no_mangle] / #[export_name] \
             (or make the function `extern \"C\"` to keep its own symbol and add only a descriptor)",
        ));
    }
    Ok(())
}

/// How a function names its own C symbol.
enum SymbolAttr {
    NoMangle,
    ExportName(String),
}

/// The function's `#[no_mangle]` or `#[export_name = "..."]`, written plain
/// or inside `#[unsafe(...)]`.
fn symbol_attr(attrs: &[Attribute]) -> Result<Option<(Span, SymbolAttr)>, Error> {
    for attr in attrs {
        let inner;
        let meta = match &attr.meta {
            Meta::List(list) if attr.path().is_ident("unsafe") => {
                inner = parse2::<Meta>(list.tokens.clone())?;
                &inner
            }
            meta => meta,
        };
        if meta.path().is_ident("no_mangle") {
            return Ok(Some((attr.span(), SymbolAttr::NoMangle)));
        }
        if meta.path().is_ident("export_name") {
            let name = match meta {
                Meta::NameValue(nv) => match &nv.value {
                    Expr::Lit(lit) => match &lit.lit {
                        Lit::Str(s) => Some(s.value()),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            };
            let Some(name) = name else {
                return Err(Error::new(
                    attr.span(),
                    "#[pyo2::export] reads #[export_name = \"...\"] with a string literal",
                ));
            };
            return Ok(Some((attr.span(), SymbolAttr::ExportName(name))));
        }
    }
    Ok(None)
}

fn params(function: &ItemFn) -> Result<Vec<Param>, Error> {
    let mut params = Vec::new();
    for (i, arg) in function.sig.inputs.iter().enumerate() {
        params.push(param(i, arg)?);
    }
    Ok(params)
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
    typed_param(i, typed)
}

/// One typed parameter (of a function or a method).
pub(crate) fn typed_param(i: usize, typed: &syn::PatType) -> Result<Param, Error> {
    let name = match &*typed.pat {
        Pat::Ident(p) if p.subpat.is_none() => {
            p.ident.to_string().trim_start_matches("r#").to_owned()
        }
        _ => format!("arg{i}"),
    };
    check_type(&typed.ty, "parameter")?;
    if let Some(kind) = callback_kind(&typed.ty)? {
        return Ok(Param {
            name,
            kind,
            static_ty: with_lifetimes(&typed.ty, "static"),
            py_ty: (*typed.ty).clone(),
        });
    }
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
        kind: Kind::Plain,
        static_ty: with_lifetimes(&typed.ty, "static"),
        py_ty: with_lifetimes(&typed.ty, PY),
    })
}

/// Refuses, by their spelling, the parameter types whose Rust ABI differs
/// from what pyo2 passes (the sealed `ExternParam` catches the rest, aliases
/// included).
fn check_extern_param(ty: &Type, name: &str) -> Result<(), Error> {
    let fix = "pyo2 passes one pointer to a {ptr, len} header: use &PyStr / &PyVec<T> / \
               &mut PyVec<T>, or remove `extern \"C\"` and #[no_mangle] and let \
               #[pyo2::export] write the wrapper";
    let message = match ty {
        Type::Reference(r) => match &*r.elem {
            Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => Some(format!(
                "parameter `{name}`: &str is two words in Rust's ABI; {fix}"
            )),
            Type::Slice(_) => Some(format!(
                "parameter `{name}`: a slice reference is two words in Rust's ABI; {fix}"
            )),
            _ => None,
        },
        Type::Path(p) => {
            let last = p.path.segments.last().map(|s| s.ident.to_string());
            match last.as_deref() {
                Some(owned @ ("String" | "Vec" | "Box" | "Option" | "PyVec")) => Some(format!(
                    "parameter `{name}`: a plain extern \"C\" function can't take `{owned}` by \
                     value; pyo2 passes scalars by value and lists and strings as \
                     &PyStr / &PyVec<T> / &mut PyVec<T>"
                )),
                _ => None,
            }
        }
        Type::Ptr(_) => Some(format!(
            "parameter `{name}`: raw pointers can't be described; use &PyVec<T> / &mut PyVec<T>"
        )),
        _ => None,
    };
    match message {
        Some(message) => Err(Error::new(ty.span(), message)),
        None => Ok(()),
    }
}

/// Refuses, by their spelling, the owned returns of the wrapped form.
fn check_extern_return(ty: &Type) -> Result<(), Error> {
    if let Type::Path(p) = ty {
        let last = p.path.segments.last().map(|s| s.ident.to_string());
        if let Some(owned @ ("String" | "Vec" | "Option" | "Result" | "Box")) = last.as_deref() {
            return Err(Error::new(
                ty.span(),
                format!(
                    "a plain extern \"C\" function can't return `{owned}` to pyo2 (it returns a \
                     scalar, bool or ()); remove `extern \"C\"` and #[no_mangle] and let \
                     #[pyo2::export] write the wrapper, which converts owned returns"
                ),
            ));
        }
    }
    Ok(())
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

/// Replaces every lifetime of a type, written or elided, by `'name`.
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

fn with_lifetimes(ty: &Type, name: &str) -> Type {
    let lifetime = Lifetime::new(&format!("'{name}"), Span::call_site());
    let mut ty = ty.clone();
    SetLifetimes(lifetime).visit_type_mut(&mut ty);
    ty
}

/// The function's doc comment, one line per `///` line, without the leading space.
pub(crate) fn doc_text(attrs: &[Attribute]) -> String {
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
        // The uniform entry point: four parameters, each read from its
        // slot as the typed symbol's C type, then the typed wrapper.
        assert!(out.contains("export_name = \"__pyo2_call__add\""), "{out}");
        assert!(
            out.contains("check_args (__pyo2_args , __pyo2_nargs , 4usize , __pyo2_slot)"),
            "{out}"
        );
        assert!(
            out.contains("read_arg :: < < & 'py str as :: pyo2 :: abi :: Param < 'py >> :: C > (__pyo2_args , 1)"),
            "{out}"
        );
        assert!(
            out.contains("__pyo2_export (:: pyo2 :: abi :: read_arg"),
            "{out}"
        );
        // The original function is kept so Rust code can call it.
        assert!(out.contains("fn add < 'a >"), "{out}");
        // Lifetimes are 'static in the descriptor; the wrapper is generic
        // over 'py and converts every parameter with all its lifetimes 'py.
        assert!(
            out.contains("& 'static str as :: pyo2 :: abi :: Param < 'static >> :: describe"),
            "{out}"
        );
        assert!(
            out.contains("unsafe extern \"C\" fn __pyo2_export < 'py >"),
            "{out}"
        );
        assert!(
            out.contains("< & 'py str as :: pyo2 :: abi :: Param < 'py >> :: C"),
            "{out}"
        );
        assert!(
            out.contains("< & 'py mut [i64] as :: pyo2 :: abi :: Param < 'py >> :: from_c"),
            "{out}"
        );
        assert!(!out.contains("'_"), "{out}");
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
            ("", "unsafe fn f() {}", "can't export an unsafe fn"),
            ("", "async fn f() {}", "async"),
            ("", "const fn f() {}", "const fn"),
            ("", "fn f<T>(x: T) {}", "generic function"),
            ("", "fn f<const N: usize>() {}", "generic function"),
            ("", "fn f<'a>(x: &'a u8) where 'a: 'a {}", "where clause"),
            ("", "#[no_mangle] fn f() {}", "remove #[no_mangle]"),
            (
                "",
                "fn f<'a: 'static>(x: &'a str) {}",
                "refuses `'a: 'static`",
            ),
            (
                "",
                "fn f<'b, 'a: 'b + 'static>(x: &'a str) {}",
                "refuses `'a: 'static`",
            ),
            ("", "#[unsafe(no_mangle)] fn f() {}", "remove #[no_mangle]"),
            (
                "",
                "#[export_name = \"g\"] fn f() {}",
                "remove #[no_mangle]",
            ),
            ("", "fn f(x: &'static str) {}", "'static"),
            ("", "fn f(x: &PyVec<&'static PyStr>) {}", "'static"),
            ("", "fn f(x: impl Into<u8>) {}", "impl Trait"),
            // A plain extern "C" function that carries a descriptor.
            ("", "pub extern \"C\" fn f() {}", "needs its C symbol"),
            (
                "",
                "#[no_mangle] pub extern \"system\" fn f() {}",
                "describes only extern",
            ),
            (
                "",
                "#[no_mangle] pub extern \"C-unwind\" fn f() {}",
                "describes only extern",
            ),
            (
                "",
                "#[no_mangle] pub unsafe extern \"C\" fn f() {}",
                "can't describe an unsafe extern",
            ),
            (
                "",
                "#[no_mangle] pub extern \"C\" fn f<T>(x: T) {}",
                "generic function",
            ),
            (
                "",
                "#[no_mangle] pub extern \"C\" fn f<'a: 'static>(x: &'a PyStr) {}",
                "refuses `'a: 'static`",
            ),
            (
                "",
                "#[no_mangle] pub extern \"C\" fn f(x: &'static PyStr) {}",
                "'static",
            ),
            (
                "",
                "#[no_mangle] pub extern \"C\" fn f(s: &str) {}",
                "parameter `s`: &str is two words",
            ),
            (
                "",
                "#[no_mangle] pub extern \"C\" fn f(s: &mut [u8]) {}",
                "a slice reference is two words",
            ),
            (
                "",
                "#[no_mangle] pub extern \"C\" fn f(v: Vec<u8>) {}",
                "can't take `Vec` by value",
            ),
            (
                "",
                "#[no_mangle] pub extern \"C\" fn f() -> Option<u8> {}",
                "can't return `Option`",
            ),
            (
                "",
                "#[export_name = g] pub extern \"C\" fn f() {}",
                "with a string literal",
            ),
            ("", "#[no_mangle] async extern \"C\" fn f() {}", "async"),
            (
                "",
                "#[no_mangle] pub extern \"C\" fn f(g: &mut dyn FnMut(u8)) {}",
                "can't take a callback",
            ),
            ("", "fn f(g: &dyn Fn(u8)) {}", "a callback parameter is"),
            ("", "fn f() -> impl Display {}", "impl Trait"),
            (
                "name = \"g\"",
                "fn f() {}",
                "unknown argument `name`: #[pyo2::export] takes no argument but `release_gil`",
            ),
            ("gil", "fn f() {}", "unknown argument `gil`"),
            (
                "pyo2::release_gil",
                "fn f() {}",
                "unknown argument `pyo2::release_gil`",
            ),
            ("release_gil, fast", "fn f() {}", "unknown argument `fast`"),
            (
                "release_gil = true",
                "fn f() {}",
                "`release_gil` takes no value",
            ),
            (
                "release_gil(1)",
                "fn f() {}",
                "`release_gil` takes no value",
            ),
            ("release_gil, release_gil", "fn f() {}", "given twice"),
            (
                "\"release_gil\"",
                "fn f() {}",
                "takes no argument but `release_gil`",
            ),
            (
                "release_gil",
                "#[no_mangle] pub extern \"C\" fn f(s: &str) {}",
                "&str is two words",
            ),
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
    fn an_extern_fn_gets_only_a_descriptor() {
        let item = "/// Scales.\n#[unsafe(no_mangle)]\npub extern \"C\" fn scale(v: &mut PyVec<f64>, k: f64) -> f64 { 0.0 }";
        let out = expand_str("", item);
        assert!(!out.contains("compile_error"), "{out}");
        // The function itself is emitted exactly as written.
        let original = parse2::<ItemFn>(item.parse().unwrap()).unwrap();
        let original = quote!(#original).to_string();
        assert!(out.starts_with(&original), "{out}");
        assert!(out.contains("export_name = \"__pyo2_sig__scale\""), "{out}");
        assert!(!out.contains("export_name = \"scale\""), "{out}");
        assert!(!out.contains("__pyo2_export"), "{out}");
        assert!(!out.contains("__pyo2_call__"), "{out}");
        assert!(out.contains(":: pyo2 :: abi :: describe_extern"), "{out}");
        assert!(
            out.contains("< & 'static mut PyVec < f64 > as :: pyo2 :: abi :: ExternParam < 'static >> :: describe"),
            "{out}"
        );
        // Never called: checks the types and that borrows last one call.
        assert!(
            out.contains("fn __pyo2_check < 'py > (_ : & 'py ())"),
            "{out}"
        );
        assert!(
            out.contains(
                "let _ : extern \"C\" fn (& 'py mut PyVec < f64 > , f64) -> f64 = scale ;"
            ),
            "{out}"
        );
        assert!(out.contains("\"Scales.\""), "{out}");
    }

    #[test]
    fn an_extern_fn_is_described_under_its_symbol() {
        let out = expand_str(
            "",
            "#[unsafe(export_name = \"renamed\")] extern \"C\" fn inner(x: u8) {}",
        );
        assert!(
            out.contains("export_name = \"__pyo2_sig__renamed\""),
            "{out}"
        );
        assert!(out.contains("\"renamed\" , & [(\"x\""), "{out}");
        let out = expand_str("", "#[no_mangle] extern fn r#type(r#in: u8) {}");
        assert!(out.contains("export_name = \"__pyo2_sig__type\""), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn release_gil_adds_a_marker_and_changes_nothing_else() {
        let item = "/// Sleeps.\nfn nap(ms: u64) -> u64 { ms }";
        let plain = expand_str("", item);
        for attr in ["release_gil", "release_gil,"] {
            let marked = expand_str(attr, item);
            assert!(!marked.contains("compile_error"), "{marked}");
            let marker = "const _ : () = { # [unsafe (export_name = \"__pyo2_release_gil__nap\")] \
                          static __PYO2_RELEASE_GIL : u8 = 1 ; } ;";
            assert!(marked.contains(marker), "{marked}");
            // Without the marker, the expansion is the unmarked one: same
            // symbols, same descriptor.
            assert_eq!(
                marked.replacen(marker, "", 1).replace("  ", " "),
                plain.replace("  ", " ")
            );
        }
        assert!(!plain.contains("__pyo2_release_gil__"), "{plain}");
        // The describe-only form: the marker is named after the C symbol.
        let out = expand_str(
            "release_gil",
            "#[unsafe(export_name = \"renamed\")] pub extern \"C\" fn inner(x: u8) {}",
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(
            out.contains("export_name = \"__pyo2_release_gil__renamed\""),
            "{out}"
        );
        assert!(
            out.contains("export_name = \"__pyo2_sig__renamed\""),
            "{out}"
        );
    }

    #[test]
    fn a_bad_function_is_still_emitted() {
        let out = error_of("", "unsafe fn keep_me() {}");
        assert!(out.contains("fn keep_me"), "{out}");
    }
}
