use auth_poem::requires;
use poem::handler;

#[requires(expr = true)]
#[handler]
fn index() {}

fn main() {}
