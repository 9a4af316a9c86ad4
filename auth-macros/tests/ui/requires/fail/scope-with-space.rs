use auth_poem::requires;
use poem::handler;

#[requires(scope("conversation write"))]
#[handler]
fn index() {}

fn main() {}
