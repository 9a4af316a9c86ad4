//! The chat itself: an echo bot that answers token by token over WebSocket
//! and in one message over HTTP.

use auth_core::{AuthPermission as P, AuthResource as R, Principal};
use auth_poem::{ApiAuth, WsAuthenticated, requires};
use futures_util::{SinkExt, StreamExt};
use poem::web::websocket::{Message, WebSocket};
use poem::{IntoResponse, handler};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The version `GET /` reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The longest message the bot reads, in bytes.
const MAX_TEXT: usize = 64 * 1024;

/// What a client sends: over WebSocket as a text frame, over HTTP as the body.
#[derive(Debug, Deserialize, Object)]
pub struct UserMessage {
    /// The user's message.
    pub text: String,
}

/// The server's status.
#[derive(Debug, Serialize, Object)]
pub struct Status {
    /// A friendly word that the server is up.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// The bot's whole reply, the last message of a WebSocket exchange and
/// the answer of `POST /message`.
#[derive(Debug, Serialize, Object)]
pub struct ChatMessage {
    /// Always `"chat"`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// Who the reply is for.
    pub user_id: String,
    /// The reply.
    pub content: String,
    /// The reply again, under the name older clients read.
    pub text: String,
    /// Why the bot answered so (empty for the echo bot).
    pub why: Value,
}

/// The echo bot's reply to `text`.
pub fn reply_to(text: &str) -> String {
    text.to_owned()
}

/// The final message for `user`.
pub fn final_message(user: &str, reply: String) -> ChatMessage {
    ChatMessage {
        kind: "chat".into(),
        user_id: user.to_owned(),
        content: reply.clone(),
        text: reply,
        why: json!({}),
    }
}

/// The HTTP side of the chat.
pub struct ChatApi;

#[auth_poem::api]
#[OpenApi]
impl ChatApi {
    /// The server's status and version.
    #[requires(R::Status, P::Read)]
    #[oai(path = "/", method = "get")]
    async fn status(&self) -> Json<Status> {
        Json(Status {
            status: "We're purring".into(),
            version: VERSION.into(),
        })
    }

    /// Sends a message to the bot and answers its whole reply.
    #[requires(R::Conversation, P::Write)]
    #[oai(path = "/message", method = "post")]
    async fn message(
        &self,
        user: ApiAuth,
        body: Json<UserMessage>,
    ) -> poem::Result<Json<ChatMessage>> {
        if body.text.len() > MAX_TEXT {
            return Err(poem::Error::from_string(
                "the message is too long",
                poem::http::StatusCode::PAYLOAD_TOO_LARGE,
            ));
        }
        Ok(Json(final_message(&user.id, reply_to(&body.text))))
    }
}

/// `GET /ws` and `GET /ws/{user_id}`: the chat over WebSocket. The upgrade is
/// authenticated on the WebSocket channel (`?token=` with the WebSocket key
/// or a JWT) and refused with 403 before it happens.
#[requires(R::Conversation, P::Write)]
#[handler]
pub async fn websocket(user: WsAuthenticated, ws: WebSocket) -> impl IntoResponse {
    let user: Principal = user.into_principal();
    ws.on_upgrade(move |socket| async move {
        let (mut sink, mut stream) = socket.split();
        while let Some(Ok(message)) = stream.next().await {
            let text = match message {
                Message::Text(text) => text,
                Message::Close(_) => break,
                _ => continue,
            };
            let answer = match serde_json::from_str::<UserMessage>(&text) {
                Ok(m) if m.text.len() <= MAX_TEXT => m,
                _ => {
                    let error = json!({
                        "type": "error",
                        "name": "InvalidMessage",
                        "description": "send a JSON object like {\"text\": \"...\"}",
                    });
                    if sink.send(Message::Text(error.to_string())).await.is_err() {
                        break;
                    }
                    continue;
                }
            };
            let reply = reply_to(&answer.text);
            for token in reply.split_inclusive(' ') {
                let frame = json!({"type": "chat_token", "content": token});
                if sink.send(Message::Text(frame.to_string())).await.is_err() {
                    return;
                }
            }
            let last = final_message(&user.id, reply);
            let Ok(text) = serde_json::to_string(&last) else {
                break;
            };
            if sink.send(Message::Text(text)).await.is_err() {
                break;
            }
        }
    })
}
