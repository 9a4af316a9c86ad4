use auth_poem::requires;
use poem::handler;

#[requires(expr("user.id == \"root\""))]
#[handler]
fn index() {}

fn main() {}
