//! A sign-in flood against the real binary (issue 11): wrong passwords for different addresses
//! from different clients, all at once. Each argon2 verification holds 19 MiB; the server runs at
//! most `CONFER_PASSWORD_HASHES_IN_FLIGHT` of them, queues a few briefly and answers the rest 503
//! with `Retry-After`, so its memory stays bounded whatever the flood (docs/SECURITY.md).

use std::time::Instant;

use serde_json::json;

use crate::helpers::TestDb;
use crate::process::{Server, send_with_headers};

/// The process's peak resident memory so far (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server is running");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// Peak memory allowed under the flood: the idle server (about 40 MiB in a debug build) plus the
/// argon2 working memory of two hashing threads (2 × 19 MiB), with room for connection buffers.
/// Measured: 73 MiB. Unbounded, 200 concurrent sign-ins took 4.7 GiB.
const PEAK_LIMIT_MIB: u64 = 128;

#[test]
fn a_sign_in_flood_keeps_memory_bounded_and_answers_503_with_retry_after_past_the_queue() {
    let db = TestDb::from_template();
    let port = Server::free_port();
    // Behind a trusted proxy each request names its own client, so neither the per-source nor the
    // per-account throttle stops the flood before it reaches the hashing.
    let server = Server::start_with(
        &db.url(),
        port,
        &[
            ("CONFER_TRUSTED_PROXIES", "127.0.0.1"),
            ("CONFER_PASSWORD_HASHES_IN_FLIGHT", "2"),
            ("CONFER_DB_POOL_SIZE", "8"),
        ],
    );
    let idle = peak_rss_kib(server.pid());
    let started = Instant::now();
    let flood: Vec<_> = (0..200)
        .map(|i| {
            std::thread::spawn(move || {
                let client = format!("198.51.{}.{}", i / 250, i % 250 + 1);
                let body = json!({ "email": format!("flood{i}@test.example"), "password": "wrong password here" });
                send_with_headers(port, "POST", "/api/v1/auth/login", &[("X-Forwarded-For", &client)], Some(&body))
            })
        })
        .collect();
    let answers: Vec<_> = flood.into_iter().map(|t| t.join().unwrap().expect("every request is answered")).collect();
    let elapsed = started.elapsed();
    let peak = peak_rss_kib(server.pid());
    let refused = answers.iter().filter(|a| a.status == 401).count();
    let unavailable: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    println!(
        "sign-in flood: 200 at once in {:.1} s, {refused} verified (401), {} turned away (503); peak RSS {} MiB (idle {} MiB)",
        elapsed.as_secs_f64(),
        unavailable.len(),
        peak / 1024,
        idle / 1024
    );
    assert_eq!(refused + unavailable.len(), 200, "every answer is 401 or 503");
    assert!(refused >= 2, "the slots do verify");
    assert!(!unavailable.is_empty(), "past the queue the flood is turned away");
    for a in &unavailable {
        assert!(a.head.to_ascii_lowercase().contains("\r\nretry-after:"), "503 carries Retry-After: {}", a.head);
        assert_eq!(a.json["type"], "/problems/service-unavailable");
    }
    assert!(peak / 1024 < PEAK_LIMIT_MIB, "peak {} MiB under a 200-request flood", peak / 1024);
}
