//! The seeded administrator: a generated password printed once, never logged, and rotated.

use super::*;

#[tokio::test]
async fn a_generated_admin_password_is_printed_once_and_works() {
    let data = TempDir::new();
    let mut cmd = command(&[("CCAT_API_KEY", HTTP_KEY)], &data);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut served = Served::spawn(cmd);
    let stderr = served.child().stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut svc = Service {
        base: served.addr(),
        served,
        _data: data,
    };
    let mut password = None;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        if let Some(p) = line.split("with the generated password: ").nth(1) {
            password = Some(p.trim().to_owned());
            break;
        }
    }
    let password = password.expect("the generated password is printed");
    assert!(password.len() >= 20);
    svc.served.ready().await;
    let jwt = svc.login("admin", &password).await;
    assert!(!jwt.is_empty());
}

#[tokio::test]
async fn a_generated_admin_password_never_reaches_the_log_and_can_be_rotated() {
    const NEW_PASSWORD: &str = "the-rotated-admin-password";
    const RESET_PASSWORD: &str = "the-admin-password-set-by-the-key";
    let data = TempDir::new();
    let log_path = data.0.join("service.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut cmd = command(&[("CCAT_API_KEY", HTTP_KEY), ("NO_COLOR", "1")], &data);
    // Everything our crates log, whichever stream it goes to: the tracing
    // output (stdout) in the file, stderr read line by line.
    cmd.env(
        "RUST_LOG",
        "info,auth_core=trace,auth_poem=trace,auth_store=trace,chat_service=trace",
    );
    cmd.stdout(log).stderr(Stdio::piped());
    let mut served = Served::spawn(cmd);
    let stderr = served.child().stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut svc = Service {
        base: served.addr(),
        served,
        _data: data,
    };
    let mut stderr_lines = Vec::new();
    let mut password = None;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        let found = line
            .split("with the generated password: ")
            .nth(1)
            .map(|p| p.trim().to_owned());
        stderr_lines.push(line);
        if found.is_some() {
            password = found;
            break;
        }
    }
    let password = password.expect("the generated password is printed");
    svc.served.ready().await;

    // Use it, then rotate it as the README says: PATCH /users/me.
    let jwt = svc.login("admin", &password).await;
    let (status, body) = send(
        &svc,
        reqwest::Method::PATCH,
        "/users/me",
        &jwt,
        Some(json!({"current_password": password, "password": NEW_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = svc
        .post(
            "/auth/token",
            None,
            json!({"username": "admin", "password": password}),
        )
        .await;
    assert!(
        status == 401 || status == 403,
        "the old password is gone: {status}"
    );
    svc.login("admin", NEW_PASSWORD).await;

    // Or, lost: whoever holds USERS:EDIT (here the HTTP key) sets it.
    let (status, list) = send(
        &svc,
        reqwest::Method::GET,
        "/users?username=admin",
        HTTP_KEY,
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let id = list["users"]
        .as_array()
        .and_then(|users| users.iter().find(|u| u["username"] == "admin"))
        .and_then(|admin| admin["client_id"].as_str())
        .expect("the admin's id")
        .to_owned();
    let (status, body) = send(
        &svc,
        reqwest::Method::PUT,
        &format!("/users/{id}"),
        HTTP_KEY,
        Some(json!({"password": RESET_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    svc.login("admin", RESET_PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let printed = |l: &str| l.starts_with("poem-auth: ") && l.contains(&password);
    stderr_lines.extend(rx.try_iter());
    assert_eq!(
        stderr_lines.iter().filter(|l| printed(l)).count(),
        1,
        "printed once on stderr"
    );
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        log.contains("auth_poem::request") && log.contains("status=200"),
        "the request log was captured:\n{log}"
    );
    for line in log.lines().chain(
        stderr_lines
            .iter()
            .map(String::as_str)
            .filter(|l| !printed(l)),
    ) {
        for secret in [
            password.as_str(),
            NEW_PASSWORD,
            RESET_PASSWORD,
            jwt.as_str(),
        ] {
            assert!(!line.contains(secret), "a password reached the log: {line}");
        }
    }
}
