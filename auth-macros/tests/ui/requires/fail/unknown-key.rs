use auth_poem::requires;
use poem::handler;

#[requires(exp = "user.id == \"root\"")]
#[handler]
fn index() {}

fn main() {}
