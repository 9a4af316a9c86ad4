use auth_poem::requires;
use poem::handler;

#[requires(role("ad\tmin"))]
#[handler]
fn index() {}

fn main() {}
