use auth_poem::requires;
use poem::handler;

#[requires(any(role("admin") role("editor")))]
#[handler]
fn index() {}

fn main() {}
