//! The proofing simulator, served in-process on a port-0 listener and
//! called over real HTTP/1.1; its attestations are checked with
//! `egide_attest::attestation::verify`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use egide_attest::attestation::{self, Expectations, Level, Method, TrustedProviders};
use egide_attest::{Algorithm, SigningKey, VerifyingKey};
use egide_sims::proofing::{self, ProofingConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

struct Sim {
    addr: SocketAddr,
    key: SigningKey,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(alg: Algorithm) -> Sim {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let key = SigningKey::generate(alg);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ProofingConfig::new(key.clone());
    tokio::spawn(proofing::serve(listener, config, async {
        let _ = stopped.await;
    }));
    Sim {
        addr,
        key,
        _stop: stop,
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and body.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, raw[split + 4..].to_vec())
}

async fn post(addr: SocketAddr, body: &Value) -> (u16, Value) {
    let (status, body) = call(
        addr,
        "POST",
        "/v1/attestations",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    (status, serde_json::from_slice(&body).unwrap())
}

fn request() -> Value {
    json!({
        "subject": "enr-123",
        "nonce": "nonce-abc",
        "audience": "egide-enrolment",
        "identity": {
            "birth_name": "DUPONT",
            "given_names": ["Marie", "Louise"],
            "sex": "F",
            "birth_date": "1990-03-15",
            "birth_place": "75056"
        }
    })
}

fn trusted(sim: &Sim) -> TrustedProviders {
    TrustedProviders::new().with(
        proofing::DEFAULT_ISSUER,
        proofing::DEFAULT_KID,
        sim.key.verifying_key(),
    )
}

#[tokio::test]
async fn issues_verifiable_attestations() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let sim = start(alg).await;
        let (status, body) = post(sim.addr, &request()).await;
        assert_eq!(status, 200, "{body}");
        let token = body["attestation"].as_str().unwrap();
        let claims = attestation::verify(
            token,
            &trusted(&sim),
            &Expectations::new("egide-enrolment", Utc::now()),
        )
        .unwrap();
        assert_eq!(claims.sub, "enr-123");
        assert_eq!(claims.nonce, "nonce-abc");
        assert_eq!(claims.level, Level::Substantial);
        assert_eq!(claims.method, Method::FranceIdentite);
        assert_eq!(claims.exp - claims.iat, proofing::DEFAULT_TTL_SECS);
        assert_eq!(claims.txn, body["txn"].as_str().unwrap());
        assert_eq!(claims.identity.given_names, ["Marie", "Louise"]);
    }
}

#[tokio::test]
async fn level_method_and_time_overrides() {
    let sim = start(Algorithm::Es256).await;
    let now = Utc::now().timestamp();
    let expect = Expectations::new("egide-enrolment", Utc::now());
    let mut req = request();
    req["level"] = json!("high");
    req["method"] = json!("in_person");
    let (_, body) = post(sim.addr, &req).await;
    let claims = attestation::verify(
        body["attestation"].as_str().unwrap(),
        &trusted(&sim),
        &expect,
    )
    .unwrap();
    assert_eq!(
        (claims.level, claims.method),
        (Level::High, Method::InPerson)
    );

    // Stale: issued an hour ago, still valid for a day.
    let mut req = request();
    req["issued_at"] = json!(now - 3600);
    req["ttl_secs"] = json!(86_400);
    let (_, body) = post(sim.addr, &req).await;
    let err = attestation::verify(
        body["attestation"].as_str().unwrap(),
        &trusted(&sim),
        &expect,
    )
    .unwrap_err();
    assert_eq!(err.code(), "stale");

    // Expired.
    let mut req = request();
    req["issued_at"] = json!(now - 400);
    req["ttl_secs"] = json!(60);
    let (_, body) = post(sim.addr, &req).await;
    let err = attestation::verify(
        body["attestation"].as_str().unwrap(),
        &trusted(&sim),
        &expect,
    )
    .unwrap_err();
    assert_eq!(err.code(), "expired");

    // From the future.
    let mut req = request();
    req["issued_at"] = json!(now + 3600);
    let (_, body) = post(sim.addr, &req).await;
    let err = attestation::verify(
        body["attestation"].as_str().unwrap(),
        &trusted(&sim),
        &expect,
    )
    .unwrap_err();
    assert_eq!(err.code(), "not_yet_valid");
}

#[tokio::test]
async fn public_key_and_health() {
    let sim = start(Algorithm::Es256).await;
    let (status, pem) = call(sim.addr, "GET", "/v1/public-key", &[], b"").await;
    assert_eq!(status, 200);
    let key = VerifyingKey::from_public_key_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
    assert_eq!(key, sim.key.verifying_key());
    let (status, body) = call(sim.addr, "GET", "/healthz", &[], b"").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["status"],
        "ok"
    );
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let sim = start(Algorithm::Es256).await;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("not json", b"{nope".to_vec(), 400),
        (
            "missing identity",
            br#"{"subject":"s","nonce":"n","audience":"a"}"#.to_vec(),
            400,
        ),
        (
            "unknown field",
            {
                let mut r = request();
                r["surprise"] = json!(1);
                r.to_string().into_bytes()
            },
            400,
        ),
        (
            "bad birth place",
            {
                let mut r = request();
                r["identity"]["birth_place"] = json!("750");
                r.to_string().into_bytes()
            },
            400,
        ),
        (
            "bad ttl",
            {
                let mut r = request();
                r["ttl_secs"] = json!(0);
                r.to_string().into_bytes()
            },
            400,
        ),
        (
            "empty subject",
            {
                let mut r = request();
                r["subject"] = json!("");
                r.to_string().into_bytes()
            },
            400,
        ),
        ("too large", vec![b' '; proofing::MAX_BODY_BYTES + 1], 413),
    ];
    for (name, body, expected) in cases {
        let (status, reply) = call(
            sim.addr,
            "POST",
            "/v1/attestations",
            &[("Content-Type", "application/json")],
            &body,
        )
        .await;
        assert_eq!(status, expected, "{name}");
        let reply: Value = serde_json::from_slice(&reply).unwrap();
        assert!(
            reply["error"].is_string() && reply["message"].is_string(),
            "{name}: {reply}"
        );
        assert!(
            !reply.to_string().contains("DUPONT"),
            "{name}: identity echoed"
        );
    }
    // A wrong identity value is not echoed back.
    let mut r = request();
    r["identity"]["sex"] = json!("DUPONT");
    let (status, reply) = post(sim.addr, &r).await;
    assert_eq!(status, 400);
    assert!(!reply.to_string().contains("DUPONT"), "{reply}");

    let (status, _) = call(
        sim.addr,
        "POST",
        "/v1/attestations",
        &[("Content-Type", "text/plain")],
        b"{}",
    )
    .await;
    assert_eq!(status, 415);
    let (status, _) = call(sim.addr, "GET", "/v1/attestations", &[], b"").await;
    assert_eq!(status, 405);
    let (status, _) = call(sim.addr, "GET", "/nowhere", &[], b"").await;
    assert_eq!(status, 404);
}
