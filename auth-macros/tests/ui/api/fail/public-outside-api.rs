use poem::handler;

#[auth_poem::public]
#[handler]
fn health() -> &'static str {
    "ok"
}

fn main() {}
