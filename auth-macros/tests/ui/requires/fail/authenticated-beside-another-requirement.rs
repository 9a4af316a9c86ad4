use auth_poem::requires;
use poem::handler;

#[requires(authenticated)]
#[requires(role("admin"))]
#[handler]
fn index() {}

fn main() {}
