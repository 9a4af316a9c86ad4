use quote::quote;

use super::doc::pretty;
use super::*;

#[test]
fn tokens_print_as_written() {
    assert_eq!(pretty(&quote!(Res::Conversation)), "Res::Conversation");
    assert_eq!(
        pretty(&quote!(crate::perms::R::Users)),
        "crate::perms::R::Users"
    );
    assert_eq!(pretty(&quote!(id.0 == user.id)), "id.0 == user.id");
    assert_eq!(pretty(&quote!(f(a, &b))), "f(a, &b)");
}

#[test]
fn generic_parameters_and_lifetimes_are_replaced_for_probes() {
    let params: BTreeSet<String> = ["T".to_owned()].into_iter().collect();
    let self_ty: Type = parse_quote!(Api<()>);
    let ty: Type = parse_quote!(Data<&'a Vec<T>>);
    let expected: Type = parse_quote!(Data<&'_ Vec<()>>);
    assert_eq!(sanitized(&ty, &params, None), expected);
    let ty: Type = parse_quote!(poem::Result<Self>);
    let expected: Type = parse_quote!(poem::Result<Api<()>>);
    assert_eq!(sanitized(&ty, &params, Some(&self_ty)), expected);
}
