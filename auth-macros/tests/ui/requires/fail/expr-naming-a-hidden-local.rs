// The locals the expansion binds are mixed-site: a condition cannot name them.
use auth_poem::requires;
use poem::handler;

#[requires(expr = "__auth_poem_index == 0")]
#[handler]
fn index() -> &'static str {
    "index"
}

fn main() {}
