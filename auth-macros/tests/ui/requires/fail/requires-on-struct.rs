use auth_poem::requires;

#[requires(role("admin"))]
struct Index;

fn main() {}
