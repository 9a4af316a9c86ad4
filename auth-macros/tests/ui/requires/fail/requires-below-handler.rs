use auth_poem::requires;
use poem::handler;

#[handler]
#[requires(role("admin"))]
fn index() {}

fn main() {}
