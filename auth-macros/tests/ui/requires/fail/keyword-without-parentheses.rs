use auth_poem::requires;
use poem::handler;

#[requires(any)]
#[handler]
fn index() {}

fn main() {}
