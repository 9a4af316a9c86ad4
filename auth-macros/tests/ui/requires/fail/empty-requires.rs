use auth_poem::requires;
use poem::handler;

#[requires()]
#[handler]
fn index() {}

fn main() {}
