use auth_core::{AuthPermission as P, AuthResource as R};
use auth_poem::requires;
use poem::handler;

#[requires(P::Write, R::Conversation)]
#[handler]
fn swapped() {}

#[requires(any(("conversation", P::Write)))]
#[handler]
fn string_resource() {}

fn main() {}
