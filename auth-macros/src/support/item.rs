//! Pointing at an item.

use proc_macro2::Span;
use syn::Item;
use syn::spanned::Spanned;

/// The span of the keyword that says what an item is (`fn`, `impl`, ...),
/// where "this macro does not go on this kind of item" is reported.
pub(crate) fn keyword_span(item: &Item) -> Span {
    match item {
        Item::Fn(f) => f.sig.fn_token.span,
        Item::Struct(s) => s.struct_token.span,
        Item::Enum(e) => e.enum_token.span,
        Item::Union(u) => u.union_token.span,
        Item::Type(t) => t.type_token.span,
        Item::Impl(i) => i.impl_token.span,
        Item::Trait(t) => t.trait_token.span,
        Item::Mod(m) => m.mod_token.span,
        Item::Const(c) => c.const_token.span,
        Item::Static(s) => s.static_token.span,
        Item::Use(u) => u.use_token.span,
        other => other.span(),
    }
}
