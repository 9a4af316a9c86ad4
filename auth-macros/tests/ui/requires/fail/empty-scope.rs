use auth_poem::requires;
use poem::handler;

#[requires(scope(""))]
#[handler]
fn index() {}

fn main() {}
