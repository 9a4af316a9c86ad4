//! The seeded administrator of a real quickstart process: its password comes
//! from `AUTH_ADMIN_PASSWORD`, or is generated and printed once to stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use auth_test::Served;

/// A quickstart process on a free loopback port; killed on drop.
struct Quickstart {
    served: Served,
}

impl Quickstart {
    fn start(admin_password: Option<&str>) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quickstart"));
        cmd.env("AUTH_DEV_MODE", "true")
            .env("RUST_LOG", "warn")
            .env_remove("AUTH_ADMIN_PASSWORD")
            .env_remove("AUTH_API_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(password) = admin_password {
            cmd.env("AUTH_ADMIN_PASSWORD", password);
        }
        Self {
            served: Served::spawn(cmd),
        }
    }

    /// Waits until the server accepts connections.
    fn wait_ready(&mut self) {
        self.served.wait_ready();
    }

    /// The status line of a JSON login.
    fn login(&self, username: &str, password: &str) -> String {
        let body = format!(r#"{{"username":"{username}","password":"{password}"}}"#);
        let mut stream = TcpStream::connect(self.served.addr()).expect("connect");
        write!(
            stream,
            "POST /auth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer.lines().next().unwrap_or_default().to_owned()
    }

    /// Stops the process and returns everything it wrote to stderr.
    fn stop(mut self) -> String {
        self.served.stop();
        let mut err = String::new();
        if let Some(mut stderr) = self.served.child().stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        err
    }
}

#[test]
fn admin_password_from_the_environment_logs_in_and_nothing_is_printed() {
    let mut app = Quickstart::start(Some("an-admin-password-from-env"));
    app.wait_ready();
    assert_eq!(
        app.login("admin", "an-admin-password-from-env"),
        "HTTP/1.1 200 OK"
    );
    assert_eq!(
        app.login("admin", "wrong-password"),
        "HTTP/1.1 401 Unauthorized"
    );
    let stderr = app.stop();
    assert!(!stderr.contains("generated"), "{stderr}");
    assert!(!stderr.contains("an-admin-password-from-env"), "{stderr}");
}

#[test]
fn without_the_variable_a_generated_password_is_printed_once_and_logs_in() {
    let mut app = Quickstart::start(None);
    let stderr = app.served.child().stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let password = loop {
        let line = lines
            .next()
            .expect("quickstart printed the generated password")
            .expect("utf-8");
        if let Some((_, password)) = line.split_once("generated password: ") {
            break password.trim().to_owned();
        }
    };
    assert!(password.len() >= 20, "{password}");
    app.wait_ready();
    assert_eq!(app.login("admin", &password), "HTTP/1.1 200 OK");
    app.served.stop();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().all(|l| !l.contains(&password)),
        "printed once only: {rest:?}"
    );
}
