//! The seeded administrator of a real quickstart process: its password comes
//! from `AUTH_ADMIN_PASSWORD`, or is generated and printed once to stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

/// A quickstart process on a free loopback port; killed on drop.
struct Quickstart {
    child: Child,
    port: u16,
}

impl Quickstart {
    fn start(admin_password: Option<&str>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quickstart"));
        cmd.args(["--bind", &format!("127.0.0.1:{port}")])
            .env("AUTH_DEV_MODE", "true")
            .env("RUST_LOG", "warn")
            .env_remove("AUTH_ADMIN_PASSWORD")
            .env_remove("AUTH_API_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(password) = admin_password {
            cmd.env("AUTH_ADMIN_PASSWORD", password);
        }
        Self {
            child: cmd.spawn().expect("quickstart starts"),
            port,
        }
    }

    /// Waits until the server accepts connections.
    fn wait_ready(&mut self) {
        for _ in 0..1000 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("quickstart exited: {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("quickstart did not listen");
    }

    /// The status line of a JSON login.
    fn login(&self, username: &str, password: &str) -> String {
        let body = format!(r#"{{"username":"{username}","password":"{password}"}}"#);
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
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
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        err
    }
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let stderr = app.child.stderr.take().expect("stderr");
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
    let _ = app.child.kill();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().all(|l| !l.contains(&password)),
        "printed once only: {rest:?}"
    );
}
