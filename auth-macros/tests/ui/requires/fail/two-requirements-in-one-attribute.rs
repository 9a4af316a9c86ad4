use auth_poem::requires;
use poem::handler;

#[requires(role("admin"), scope("openid"))]
#[handler]
fn index() {}

fn main() {}
