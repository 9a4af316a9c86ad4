use auth_poem::requires;
use poem::handler;

#[requires(all())]
#[handler]
fn index() {}

fn main() {}
