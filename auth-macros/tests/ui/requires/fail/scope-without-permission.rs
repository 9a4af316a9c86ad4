use auth_poem::requires;
use poem::handler;

#[requires(scope("conversation:"))]
#[handler]
fn index() {}

fn main() {}
