//! The path generated code names runtime items by.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

/// `::auth_core::__private`, or the same module reached through the name the
/// user's `Cargo.toml` gives `auth-core`, or through `auth-poem`'s re-export
/// when only `auth-poem` is a dependency.
///
/// Where neither is found (a build without `Cargo.toml`, say), the plain path
/// is used and rustc names the missing crate.
pub(crate) fn private() -> TokenStream {
    private_at(Span::call_site())
}

/// [`private`], every token of it at `span`: for an expression whose errors
/// (say, a future that is not `Send`) belong on the user's token.
pub(crate) fn private_at(span: Span) -> TokenStream {
    let core = crate_name("auth-core").ok();
    let poem = crate_name("auth-poem").ok();
    let root = root(core.as_ref(), poem.as_ref(), span);
    quote_spanned!(span=> #root::__private)
}

/// `::auth_poem::__private`, through the name the user's `Cargo.toml` gives
/// `auth-poem` (`web = { package = "auth-poem", ... }` makes it
/// `::web::__private`). Inside auth-poem, `extern crate self as auth_poem`
/// makes the plain path work; where `Cargo.toml` cannot be read, the plain
/// path is used and rustc names the missing crate.
pub(crate) fn poem_private() -> TokenStream {
    let root = poem_root(crate_name("auth-poem").ok().as_ref());
    quote!(#root::__private)
}

/// The path of `auth_poem` given what `Cargo.toml` has.
fn poem_root(poem: Option<&FoundCrate>) -> TokenStream {
    match poem {
        Some(FoundCrate::Name(name)) => {
            let name = Ident::new(name, Span::call_site());
            quote!(::#name)
        }
        Some(FoundCrate::Itself) | None => quote!(::auth_poem),
    }
}

/// The path of `auth_core` given what `Cargo.toml` has.
fn root(core: Option<&FoundCrate>, poem: Option<&FoundCrate>, span: Span) -> TokenStream {
    match (core, poem) {
        // Inside auth-core itself, `extern crate self as auth_core` makes the
        // absolute path work in the library and its tests alike.
        (Some(FoundCrate::Itself), _) | (None, None | Some(FoundCrate::Itself)) => {
            quote_spanned!(span=> ::auth_core)
        }
        (Some(FoundCrate::Name(name)), _) => {
            let name = Ident::new(name, span);
            quote_spanned!(span=> ::#name)
        }
        (None, Some(FoundCrate::Name(name))) => {
            let name = Ident::new(name, span);
            quote_spanned!(span=> ::#name::auth_core)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> FoundCrate {
        FoundCrate::Name(name.to_owned())
    }

    #[test]
    fn a_direct_dependency_on_auth_core_wins() {
        let path = root(
            Some(&named("auth_core")),
            Some(&named("auth_poem")),
            Span::call_site(),
        );
        assert_eq!(path.to_string(), ":: auth_core");
    }

    #[test]
    fn a_renamed_auth_core_is_named_as_renamed() {
        let path = root(Some(&named("core_of_auth")), None, Span::call_site());
        assert_eq!(path.to_string(), ":: core_of_auth");
    }

    #[test]
    fn auth_poem_alone_reaches_auth_core_through_its_re_export() {
        let path = root(None, Some(&named("web_auth")), Span::call_site());
        assert_eq!(path.to_string(), ":: web_auth :: auth_core");
    }

    #[test]
    fn a_renamed_auth_poem_is_named_as_renamed_and_itself_by_its_own_name() {
        assert_eq!(
            poem_root(Some(&named("web_auth"))).to_string(),
            ":: web_auth"
        );
        assert_eq!(
            poem_root(Some(&FoundCrate::Itself)).to_string(),
            ":: auth_poem"
        );
        assert_eq!(poem_root(None).to_string(), ":: auth_poem");
    }

    #[test]
    fn neither_crate_falls_back_to_the_plain_path() {
        assert_eq!(
            root(None, None, Span::call_site()).to_string(),
            ":: auth_core"
        );
        assert_eq!(
            root(Some(&FoundCrate::Itself), None, Span::call_site()).to_string(),
            ":: auth_core"
        );
    }
}
