//! `#[after_authentication]` hooks: docs kept, the principal enriched.

use auth_core::{AfterAuth, AuthError, AuthResult, Pipeline};

/// Docs go to the generated struct.
#[auth_core::after_authentication]
pub async fn check(cx: &AfterAuth) -> AuthResult<()> {
    if cx.principal.id.is_empty() {
        return Err(AuthError::Forbidden);
    }
    Ok(())
}

/// A hook that enriches the principal.
#[auth_core::after_authentication]
async fn enrich(cx: &mut AfterAuth) -> AuthResult<()> {
    cx.principal.roles.insert("seen".into());
    Ok(())
}

#[test]
fn expands_and_runs() {
    let _ = Pipeline::builder()
        .after_authentication(check)
        .after_authentication(enrich);
}
