//! The real `confer` binary as a child process, reached over loopback HTTP: for the tests that
//! signal or kill the server, which the in-process harness cannot do.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    child: Child,
    pub port: u16,
}

/// An HTTP answer: status, the header block and body (JSON when the body parses as JSON, else null).
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub json: Value,
}

impl Server {
    /// Starts `confer serve` on a free loopback port and waits until it answers /health/live.
    pub fn start(database_url: &str, port: u16) -> Self {
        Self::start_with(database_url, port, &[])
    }

    /// As `start`, with more environment variables for the server.
    pub fn start_with(database_url: &str, port: u16, env: &[(&str, &str)]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_confer"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("CONFER_JWT_KEYS", format!("t:{}", *crate::helpers::JWT_KEY_B64))
            .env("CONFER_BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("CONFER_TEST_ALLOW_NON_DURABLE_DB", "true")
            .env("CONFER_RATE_LIMIT_READS_PER_MINUTE", "1000000")
            .env("CONFER_RATE_LIMIT_WRITES_PER_MINUTE", "1000000")
            .env("CONFER_SHUTDOWN_DRAIN_MS", "500")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .spawn()
            .expect("the confer binary starts");
        let server = Self { child, port };
        let started = Instant::now();
        while server.send("GET", "/health/live", None, None, None).map(|a| a.status).ok() != Some(200) {
            assert!(started.elapsed() < Duration::from_secs(20), "the server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// One HTTP/1.1 request on a fresh connection.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        idempotency_key: Option<&str>,
        body: Option<&Value>,
    ) -> std::io::Result<Answer> {
        send(self.port, method, path, token, idempotency_key, body)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill {signal}");
    }

    /// Waits for the process to end; panics if it takes longer than `limit`.
    pub fn wait(mut self, limit: Duration) -> ExitStatus {
        let since = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(since.elapsed() < limit, "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn send(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    idempotency_key: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<Answer> {
    let mut headers = Vec::new();
    let bearer = token.map(|t| format!("Bearer {t}"));
    if let Some(b) = &bearer {
        headers.push(("Authorization", b.as_str()));
    }
    if let Some(key) = idempotency_key {
        headers.push(("Idempotency-Key", key));
    }
    send_with_headers(port, method, path, &headers, body)
}

/// One HTTP/1.1 request with the given extra headers on a fresh connection.
pub fn send_with_headers(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no status line"))?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    Ok(Answer { status, head: head.to_owned(), json })
}
