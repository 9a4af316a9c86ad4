//! `#[before_authentication]` hooks: docs kept, read-only hooks and type aliases.

use auth_core::{AuthError, AuthResult, BeforeAuth, Pipeline};

/// Docs go to the generated struct.
#[auth_core::before_authentication]
pub async fn pick_key(cx: &mut BeforeAuth) -> AuthResult<()> {
    if cx.unverified_header().is_some() {
        return Err(AuthError::InvalidCredentials);
    }
    Ok(())
}

/// A hook that only reads.
#[auth_core::before_authentication]
async fn look(_: &BeforeAuth) -> Result<(), AuthError> {
    Ok(())
}

/// An alias is as good as the plain type.
type Cx<'a> = &'a mut BeforeAuth;

#[auth_core::before_authentication]
async fn aliased(cx: Cx<'_>) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

#[test]
fn expands_and_runs() {
    let _ = Pipeline::builder()
        .before_authentication(pick_key)
        .before_authentication(look)
        .before_authentication(aliased);
}
