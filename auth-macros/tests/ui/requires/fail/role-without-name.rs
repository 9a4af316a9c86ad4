use auth_poem::requires;
use poem::handler;

#[requires(role())]
#[handler]
fn index() {}

fn main() {}
