use auth_poem::requires;
use poem::handler;

#[requires(roles("admin"))]
#[handler]
fn index() {}

fn main() {}
