use auth_poem::requires;
use poem::handler;

#[requires(any(role(""), scope("a b"), expr = "user."))]
#[requires(all())]
#[handler]
fn index() {}

fn main() {}
