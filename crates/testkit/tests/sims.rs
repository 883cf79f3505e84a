//! Integration tests: the `egide-proofing-sim` and `egide-mail-sim`
//! processes, spoken to over real HTTP and SMTP.
//!
//! Needs the binaries: `cargo build -p egide-sims --bins` (`make test`
//! builds every binary before running the tests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use egide_attest::VerifyingKey;
use egide_attest::attestation::{self, Expectations, TrustedProviders};
use egide_sims::mailbox::Mailbox;
use egide_testkit::{MailSim, ProofingSim};

fn temp_dir(label: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "egide-testkit-{label}-{}",
        uuid::Uuid::now_v7().simple()
    ))
}

fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (
        head.split_whitespace().nth(1).unwrap().parse().unwrap(),
        body.to_owned(),
    )
}

#[test]
fn proofing_sim_process_issues_attestations_egide_can_verify() {
    let dir = temp_dir("proofing");
    let sim = ProofingSim::spawn(&dir).unwrap();
    assert!(sim.url().starts_with("http://127.0.0.1:"));
    assert_eq!(
        sim.attestation_url(),
        format!("{}/v1/attestations", sim.url())
    );

    let (status, pem) = http(sim.addr(), "GET", "/v1/public-key", "");
    assert_eq!(status, 200);
    assert_eq!(pem, sim.public_key_pem());

    let request = serde_json::json!({
        "subject": "enr-1", "nonce": "n-1", "audience": "egide-enrolment", "level": "high",
        "identity": {"birth_name": "LEROY", "given_names": ["Paul"], "sex": "M",
                     "birth_date": "1971-11-02", "birth_place": "2B033"}
    });
    let (status, body) = http(sim.addr(), "POST", "/v1/attestations", &request.to_string());
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let key = VerifyingKey::from_public_key_pem(sim.public_key_pem()).unwrap();
    let trusted = TrustedProviders::new().with(sim.issuer(), sim.kid(), key);
    let claims = attestation::verify(
        body["attestation"].as_str().unwrap(),
        &trusted,
        &Expectations::new("egide-enrolment", chrono::Utc::now()),
    )
    .unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.nonce.as_str()),
        ("enr-1", "n-1")
    );

    // The log never holds identity traits.
    let log = sim.process().log_text_since_start();
    assert!(log.contains("attestation issued"), "{log}");
    assert!(!log.contains("LEROY") && !log.contains("1971"), "{log}");

    // The key survives a restart on the same directory.
    let pid = sim.process().pid();
    drop(sim);
    assert!(!alive(pid), "the simulator outlived its handle");
    let again = ProofingSim::spawn(&dir).unwrap();
    assert_eq!(again.public_key_pem(), pem);
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start().chars().next());
            !matches!(state, Some(Some('Z' | 'X')))
        })
        .unwrap_or(false)
}

#[test]
fn mail_sim_process_captures_smtp_messages() {
    let dir = temp_dir("mail");
    let sim = MailSim::spawn(&dir).unwrap();
    assert_eq!(sim.url(), format!("smtp://127.0.0.1:{}", sim.port()));

    let stream = TcpStream::connect(sim.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut read = BufReader::new(stream.try_clone().unwrap());
    let mut write = stream;
    let mut reply = || {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            read.read_line(&mut line).unwrap();
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    };
    assert!(reply().starts_with("220 "));
    for (cmd, expected) in [
        ("EHLO testkit.test\r\n", "250"),
        ("MAIL FROM:<noreply@egide.test>\r\n", "250"),
        ("RCPT TO:<marie@example.test>\r\n", "250"),
        ("DATA\r\n", "354"),
        (
            "Subject: Votre code\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVotre code : 314159\r\n.\r\n",
            "250",
        ),
        ("QUIT\r\n", "221"),
    ] {
        write.write_all(cmd.as_bytes()).unwrap();
        let got = reply();
        assert!(got.starts_with(expected), "{cmd:?} -> {got:?}");
    }
    let mail = Mailbox::new(sim.mailbox())
        .latest_to("marie@example.test")
        .unwrap()
        .expect("captured");
    assert_eq!(mail.find_code(6).as_deref(), Some("314159"));
    assert!(mail.path.starts_with(sim.mailbox()));
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}
