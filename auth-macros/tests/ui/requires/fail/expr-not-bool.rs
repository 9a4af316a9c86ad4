use auth_poem::requires;
use poem::handler;

#[requires(expr = "user.id.len()")]
#[handler]
fn index() {}

fn main() {}
