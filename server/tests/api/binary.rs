//! The real `switchboard` binary: reads `.env`, prints where it listens, stops cleanly on SIGTERM.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

#[tokio::test]
async fn serve_reads_dotenv_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# written by the test\nSWITCHBOARD_ADDR=127.0.0.1:0\nSWITCHBOARD_SITE_ROOT=./no-bundle-here\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("SWITCHBOARD_ADDR")
        .env_remove("SWITCHBOARD_SITE_ROOT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // The first line names the address; port 0 from .env means the kernel picked one.
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    assert!(
        !url.starts_with("http://127.0.0.1:5001/"),
        "the .env address was ignored: {url}"
    );
    let health_url = url.replace("/dashboard/realtime", "/api/dashboard/health");
    let health = reqwest::get(&health_url).await.unwrap();
    assert!(health.status().is_success());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "switchboard exited with {status} after SIGTERM"
    );
}

#[test]
fn a_bad_flag_fails_with_a_usage_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--addr", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--addr"), "{stderr}");
}

#[test]
fn a_guessable_ingest_key_stops_the_server_before_it_listens() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .env("INGEST_API_KEY", "hunter2")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("INGEST_API_KEY must be at least 32 characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).is_empty());
}

#[test]
fn migrate_creates_the_embedded_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["migrate", "--data-dir"])
            .arg(dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "migrations applied (sqlite)"
        );
    }
    assert!(dir.path().join("switchboard.db").is_file());
}

#[test]
fn migrate_refuses_an_unknown_database_scheme_without_echoing_credentials() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "migrate",
            "--database-url",
            "mysql://admin:hunter2@db/calls",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unsupported DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn user_add_generates_or_reads_the_password_never_a_flag() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "user",
            "add",
            "--email",
            "ops@example.com",
            "--role",
            "admin",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("added user #1: ops@example.com (admin)"),
        "{stdout}"
    );
    let password = stdout
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .unwrap();
    assert_eq!(password.len(), 20);

    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "user",
            "add",
            "--email",
            "owner@acme.test",
            "--role",
            "owner",
            "--tenant",
            "acme",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from standard input\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "tenant acme does not exist yet");
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown tenant acme"));
}

/// Runs `switchboard serve` with `args` in `dir` until it prints where it listens (then stops it
/// with SIGTERM) or exits; returns whether it served, and what it wrote on stderr.
fn serve_in(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .args(["--addr", "127.0.0.1:0", "--site-root", "./no-bundle-here"])
        .args(args)
        .current_dir(dir)
        .env_remove("SWITCHBOARD_ADDR")
        .env_remove("DATABASE_URL")
        .env_remove("SWITCHBOARD_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let served = line.contains("http://127.0.0.1:");
    if served {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    (served, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn the_demos_database_never_serves_outside_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let (served, _) = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || serve_in(&dir, &["--demo"])
    })
    .await
    .unwrap();
    assert!(served, "the demo starts on a fresh folder");
    // Its accounts' password is published: a plain serve on its folder refuses, saying why.
    let (served, stderr) = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || serve_in(&dir, &[])
    })
    .await
    .unwrap();
    assert!(!served);
    assert!(stderr.contains("written by the demo"), "{stderr}");
    // The demo itself runs on it again.
    let (served, _) = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || serve_in(&dir, &["--demo"])
    })
    .await
    .unwrap();
    assert!(served);
}

/// `switchboard …` in `dir` (SQLite there, JWT secret generated there): status, stdout, stderr.
fn cli(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn token_makes_a_revocable_api_token_of_a_user_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = cli(dir.path(), &["token", "--admin"]);
    assert!(
        !ok && stderr.contains("no user to own the token"),
        "{stderr}"
    );
    let (ok, _, stderr) = cli(
        dir.path(),
        &["user", "add", "--email", "root@x.test", "--role", "admin"],
    );
    assert!(ok, "{stderr}");

    let (ok, token, stderr) = cli(dir.path(), &["token", "--admin", "--name", "nightly"]);
    assert!(ok, "{stderr}");
    assert!(token.trim().starts_with("sbt_"), "{token}");
    assert!(
        stderr.contains("of root@x.test: operator") && stderr.contains("revoke"),
        "{stderr}"
    );
    let (_, list, _) = cli(dir.path(), &["tokens", "list"]);
    let line = list
        .lines()
        .find(|line| line.contains("nightly"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        line.contains("operator (every tenant)") && line.contains("root@x.test"),
        "{line}"
    );
    assert!(!list.contains(token.trim()), "never the secret");
    let id = line.split('\t').next().unwrap();
    let (ok, said, stderr) = cli(dir.path(), &["tokens", "revoke", "--id", id]);
    assert!(ok && said.contains("revoked API token"), "{said}{stderr}");
    let (_, list, _) = cli(dir.path(), &["tokens", "list"]);
    assert!(!list.contains("nightly"), "{list}");
    let (ok, _, stderr) = cli(dir.path(), &["tokens", "revoke", "--id", id]);
    assert!(!ok && stderr.contains("no API token"), "{stderr}");

    // The old kind, asked for by name: it says it cannot be revoked.
    let (ok, jwt, stderr) = cli(
        dir.path(),
        &["token", "--signed", "--admin", "--ttl-hours", "2"],
    );
    assert!(ok && jwt.trim().split('.').count() == 3, "{jwt}{stderr}");
    assert!(
        stderr.contains("only its expiry or a new JWT_SECRET ends it"),
        "{stderr}"
    );
    let (ok, _, stderr) = cli(dir.path(), &["token", "--admin", "--ttl-hours", "2"]);
    assert!(!ok && stderr.contains("--signed"), "{stderr}");
}
