// On an error the attribute is dropped with its paths, so their imports go unused.
#![allow(unused_imports)]

use auth_core::AuthResource as R;
use auth_poem::requires;
use poem::handler;

#[requires(R::Conversation)]
#[handler]
fn index() {}

fn main() {}
