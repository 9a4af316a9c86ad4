//! A generic handler, and a WebSocket handler whose `WsAuthenticated`
//! argument is the caller (so the check uses the WebSocket channel's
//! principal).

use auth_poem::{WsAuthenticated, requires};
use poem::web::Data;
use poem::web::websocket::WebSocket;
use poem::{IntoResponse, handler};

#[requires(role("reader"))]
#[handler]
fn generic<T: Send + Sync + ToString + 'static>(value: Data<&T>) -> String {
    value.0.to_string()
}

#[requires(role("chatter"))]
#[handler]
async fn chat(user: WsAuthenticated, ws: WebSocket) -> impl IntoResponse {
    let user = user.into_principal();
    ws.on_upgrade(move |_socket| async move {
        let _ = user;
    })
}

#[test]
fn expands_and_runs() {
    let _ = (generic::<String>::default(), chat);
}
