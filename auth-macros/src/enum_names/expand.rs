//! The `Resource`/`Permission`, `Display` and `FromStr` impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::ast::{Enum, Kind};
use crate::support::runtime;

/// The impls for a checked enum whose variants are called `names`.
pub(crate) fn expand(input: &Enum<'_>, names: &[String]) -> TokenStream {
    let private = runtime::private();
    let ident = input.ident;
    let trait_ = format_ident!("{}", input.kind.derive_name());
    let from_str = match input.kind {
        Kind::Resource => quote!(resource_from_str),
        Kind::Permission => quote!(permission_from_str),
    };
    let variants: Vec<_> = input.variants.iter().map(|v| v.ident).collect();
    quote! {
        #[automatically_derived]
        #[allow(deprecated)]
        impl #private::#trait_ for #ident {
            fn name(&self) -> &'static #private::str {
                match *self {
                    #(Self::#variants => #names,)*
                }
            }

            fn all() -> &'static [Self] {
                &[#(Self::#variants),*]
            }
        }

        #[automatically_derived]
        impl #private::fmt::Display for #ident {
            fn fmt(&self, f: &mut #private::fmt::Formatter<'_>) -> #private::fmt::Result {
                #private::write_name(f, <Self as #private::#trait_>::name(self))
            }
        }

        #[automatically_derived]
        impl #private::FromStr for #ident {
            type Err = #private::PermissionError;

            fn from_str(s: &#private::str) -> #private::Result<Self, Self::Err> {
                #private::#from_str(s)
            }
        }
    }
}
