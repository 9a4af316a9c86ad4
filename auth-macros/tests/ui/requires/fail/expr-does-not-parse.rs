use auth_poem::requires;
use poem::handler;

#[requires(expr = "user.id ==")]
#[handler]
fn index() {}

fn main() {}
