//! Argument types rewritten so a constant can ask about them.

use std::collections::BTreeSet;

use syn::visit_mut::{self, VisitMut};
use syn::{GenericParam, Generics, Lifetime, Type, parse_quote};

/// Rewrites a type so it can be asked about in a constant: lifetimes
/// become `'_`, the item's own type parameters (and `impl Trait`) become
/// `()`, and `Self` becomes `self_ty`. The answers `Probe` gives do not
/// depend on what is replaced: an argument of a generic type is never
/// taken for the auth argument, and a `Result` stays a `Result`.
struct Sanitize<'a> {
    params: &'a BTreeSet<String>,
    self_ty: Option<&'a Type>,
}

impl VisitMut for Sanitize<'_> {
    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        *lifetime = Lifetime::new("'_", lifetime.span());
    }

    fn visit_type_mut(&mut self, ty: &mut Type) {
        match ty {
            Type::ImplTrait(_) => *ty = parse_quote!(()),
            Type::Path(path) if path.qself.is_none() => {
                if let Some(ident) = path.path.get_ident() {
                    if self.params.contains(&ident.to_string()) {
                        *ty = parse_quote!(());
                        return;
                    }
                    if let (true, Some(self_ty)) = (ident == "Self", self.self_ty) {
                        *ty = self_ty.clone();
                        return;
                    }
                }
                visit_mut::visit_type_mut(self, ty);
            }
            _ => visit_mut::visit_type_mut(self, ty),
        }
    }
}

/// The names of the type and const parameters of `generics`.
pub(super) fn param_names(generics: &Generics) -> BTreeSet<String> {
    generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(ty) => Some(ty.ident.to_string()),
            GenericParam::Const(c) => Some(c.ident.to_string()),
            GenericParam::Lifetime(_) => None,
        })
        .collect()
}

pub(super) fn sanitized(ty: &Type, params: &BTreeSet<String>, self_ty: Option<&Type>) -> Type {
    let mut ty = ty.clone();
    Sanitize { params, self_ty }.visit_type_mut(&mut ty);
    ty
}

/// `ty` with its lifetimes elided, to name it in an expression.
pub(super) fn elided(ty: &Type) -> Type {
    sanitized(ty, &BTreeSet::new(), None)
}
