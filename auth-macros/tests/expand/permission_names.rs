//! `#[derive(Permission)]`: names, renames, parsing and scopes.

use auth_core::{Permission, Resource as _, Scope};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Permission)]
enum Perm {
    Read,
    ApprovePayment,
    #[permission(rename = "SIGN_OFF")]
    Sign,
}

#[test]
fn expands_and_runs() {
    assert_eq!(Perm::ApprovePayment.name(), "APPROVE_PAYMENT");
    assert_eq!(Perm::Sign.to_string(), "SIGN_OFF");
    assert_eq!(Perm::all(), [Perm::Read, Perm::ApprovePayment, Perm::Sign]);
    assert!("write".parse::<Perm>().is_err());
    let scope = Scope::new(auth_core::AuthResource::Users, Perm::Sign);
    assert_eq!(scope.to_string(), "users:sign_off");
    let _ = auth_core::AuthResource::Users.name();
}
