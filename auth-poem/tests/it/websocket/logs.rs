//! What the logs show of a WebSocket URL: the token and key masked.

use super::*;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

// A current-thread runtime: the server task runs on this thread, under the
// thread-local subscriber.
#[tokio::test(flavor = "current_thread")]
async fn logs_show_the_uri_with_token_and_key_masked() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let auth = PoemAuth::from_pipeline(pipeline())
        .api_key_query("api_key")
        .build()
        .expect("valid options");
    let tracing_mw = auth.masked_tracing();
    let server = Server::start_with(|calls| app(auth, calls).with(tracing_mw)).await;
    echo_reply(
        &server.url(&format!("/ws/alice?token={WS_KEY}&room=7")),
        &[],
    )
    .await
    .expect("socket opens");
    refusal(&server.url(&format!("/ws?token={HTTP_KEY}&room=7")), &[]).await;
    refusal(&server.url(&format!("/ws?api_key={HTTP_KEY}")), &[]).await;
    server.stop().await;

    let text = logs.text();
    assert!(text.contains("/ws/alice?token=***&room=7"), "{text}");
    assert!(text.contains("/ws?token=***&room=7"), "{text}");
    assert!(text.contains("/ws?api_key=***"), "{text}");
    assert!(text.contains("request refused"), "{text}");
    assert!(!text.contains(WS_KEY) && !text.contains(HTTP_KEY), "{text}");
}

// poem's own `Tracing` logs the raw URI: the reason `MaskedTracing` exists,
// pinned so the README's warning stays true.
#[tokio::test(flavor = "current_thread")]
async fn poem_tracing_logs_the_raw_token() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let auth = PoemAuth::new(pipeline());
    let server = Server::start_with(|calls| app(auth, calls).with(poem::middleware::Tracing)).await;
    echo_reply(&server.url(&format!("/ws?token={WS_KEY}")), &[])
        .await
        .expect("socket opens");
    server.stop().await;
    assert!(logs.text().contains(&format!("token={WS_KEY}")));
}
