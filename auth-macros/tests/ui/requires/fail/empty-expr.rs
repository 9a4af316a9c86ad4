use auth_poem::requires;
use poem::handler;

#[requires(expr = "  ")]
#[handler]
fn index() {}

fn main() {}
