use auth_poem::requires;
use poem::handler;

#[requires(any(authenticated, role("admin")))]
#[handler]
fn index() {}

fn main() {}
