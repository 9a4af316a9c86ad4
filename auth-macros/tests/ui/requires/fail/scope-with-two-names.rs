use auth_poem::requires;
use poem::handler;

#[requires(scope("openid", "email"))]
#[handler]
fn index() {}

fn main() {}
