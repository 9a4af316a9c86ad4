// On an error the attribute is dropped with its paths, so their imports go unused.
#![allow(unused_imports)]

use auth_core::{AuthPermission as P, AuthResource as R};
use auth_poem::requires;
use poem::handler;

#[requires(any((R::Conversation, P::Read, P::Write)))]
#[handler]
fn index() {}

fn main() {}
