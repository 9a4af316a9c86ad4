use auth_poem::requires;
use poem::handler;
use poem::web::Path;

#[requires(expr = "user.id == idd.0")]
#[handler]
fn index(id: Path<String>) -> String {
    id.0
}

fn main() {}
