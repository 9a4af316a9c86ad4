use auth_core::BeforeAuth;

#[auth_core::before_authentication]
fn check<T>(cx: &mut BeforeAuth, extra: T) {
    let _ = (cx, extra);
}

fn main() {}
