//! Access tokens at the gateway: every refusal code, the person reaching the backend, and
//! a session's end refused within a second. Auth and enrolment run in-process on a NATS
//! of their own; tokens the tests forge are signed with Vault's real key where the case
//! needs a valid signature over bad claims.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use async_nats::jetstream;
use egide_attest::{Algorithm, device::DeviceSigner, login::login_message};
use egide_kit::events::{EventEnvelope, Payload, actor, timestamp};
use egide_proto::{
    auth::v1::{self as pb, auth_service_client::AuthServiceClient},
    enrolment::v1::{self as enrolment, GetWalletRequest},
};
use egide_token::{AccessClaims, Category, Header};
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_gateway_with};

const ISSUER: &str = "https://gateway.egide.test";
const CLIENT: &str = "egide-cli";

struct Stack {
    gateway: TestApp,
    auth: AuthServiceClient<tonic::transport::Channel>,
    js: jetstream::Context,
    vault: egide_kit::vault::Vault,
    seq: std::sync::atomic::AtomicU64,
    _services: Vec<egide_kit::app::Running>,
    _nats: Option<egide_testkit::Nats>,
    shutdown: CancellationToken,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(nats) = self._nats.take() {
            std::thread::spawn(move || drop(nats));
        }
    }
}

fn service_config(service: &str, prefix: &str, nats: &str) -> egide_kit::config::ServiceConfig {
    let stack = egide_testkit::shared();
    let db = stack.postgres.create_database(prefix).expect("database");
    egide_kit::config::ServiceConfig::ephemeral(
        db,
        nats,
        stack.vault.addr(),
        stack.vault.root_token(),
    )
    .in_test_mesh(service)
}

async fn stack() -> Stack {
    egide_kit::telemetry::init_for_tests();
    let shared = egide_testkit::shared();
    shared
        .vault
        .ensure_transit_key_of("egide-token-signing", "ecdsa-p256")
        .unwrap();
    shared.vault.ensure_transit_key("egide-ins-digest").unwrap();
    let nats = egide_testkit::Nats::spawn().expect("a dedicated NATS");
    let shutdown = CancellationToken::new();
    let mut auth_config =
        egide_auth::AuthConfig::new(service_config("auth", "gw_auth", &nats.url()));
    auth_config.tokens.issuer = ISSUER.into();
    let auth = egide_auth::build(auth_config.clone(), shutdown.child_token())
        .await
        .expect("auth starts");
    let enrolment = egide_enrolment::build(
        egide_enrolment::EnrolmentConfig::new(service_config(
            "enrolment",
            "gw_enrolment",
            &nats.url(),
        )),
        shutdown.child_token(),
    )
    .await
    .expect("enrolment starts");
    let routes = BTreeMap::from([
        ("auth".to_owned(), format!("https://{}", auth.local_addr())),
        (
            "enrolment".to_owned(),
            format!("https://{}", enrolment.local_addr()),
        ),
    ]);
    let nats_url = nats.url();
    let gateway = spawn_gateway_with(routes, shutdown.child_token(), |c| {
        c.nats = Some(egide_kit::config::NatsConfig {
            url: nats_url,
            stream: "EGIDE".into(),
        });
        c.bearer.issuer = ISSUER.into();
    })
    .await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = jetstream::new(client);
    egide_kit::nats::ensure_stream(&js, "EGIDE").await.unwrap();
    let vault = egide_kit::vault::Vault::new(auth_config.service.vault.clone()).unwrap();
    vault.login().await.unwrap();
    Stack {
        auth: AuthServiceClient::new(gateway.channel.clone()),
        gateway,
        js,
        vault,
        seq: std::sync::atomic::AtomicU64::new(1),
        _services: vec![auth, enrolment],
        _nats: Some(nats),
        shutdown,
    }
}

struct Patient {
    wallet_id: Uuid,
    device_id: Uuid,
    phone: DeviceSigner,
}

impl Stack {
    async fn publish(&self, event_type: &str, payload: Payload) {
        let event_id = Uuid::now_v7();
        let envelope = EventEnvelope {
            event_id: event_id.to_string(),
            producer: "enrolment-test".into(),
            producer_seq: self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            occurred_at: Some(timestamp(chrono::Utc::now())),
            actor: Some(actor::service("enrolment")),
            subjects: vec![],
            event_type: event_type.into(),
            trace_context: Default::default(),
            payload: Some(payload),
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event_id.to_string().as_str());
        self.js
            .publish_with_headers(
                event_type.to_owned(),
                headers,
                envelope.encode_to_vec().into(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }

    async fn wallet(&self, p: &Patient, state: enrolment::WalletState, verb: &str) {
        self.publish(
            &format!("egide.enrolment.wallet.{verb}"),
            Payload::WalletChanged(enrolment::WalletChanged {
                wallet_id: p.wallet_id.to_string(),
                state: state as i32,
                ..Default::default()
            }),
        )
        .await;
    }

    /// A patient auth knows (from events) with one device.
    async fn patient(&self) -> Patient {
        let p = Patient {
            wallet_id: Uuid::now_v7(),
            device_id: Uuid::now_v7(),
            phone: DeviceSigner::generate(Algorithm::Es256),
        };
        self.wallet(&p, enrolment::WalletState::Active, "activated")
            .await;
        let key = p.phone.device_key();
        self.publish(
            "egide.enrolment.device.registered",
            Payload::DeviceChanged(enrolment::DeviceChanged {
                owner: Some(enrolment::device_changed::Owner::WalletId(
                    p.wallet_id.to_string(),
                )),
                ins_digest: String::new(),
                device: Some(enrolment::Device {
                    id: p.device_id.to_string(),
                    algorithm: "ES256".into(),
                    public_key: key.to_spki_der(),
                    thumbprint: key.thumbprint(),
                    ..Default::default()
                }),
            }),
        )
        .await;
        p
    }

    /// A device login through the gateway.
    async fn login(&self, p: &Patient) -> Result<pb::TokenResponse, tonic::Status> {
        let mut auth = self.auth.clone();
        let c = auth
            .start_login(pb::StartLoginRequest {
                client_id: CLIENT.into(),
                scope: String::new(),
                means: Some(pb::start_login_request::Means::Device(pb::DeviceLogin {
                    owner: Some(pb::LoginOwner {
                        owner: Some(pb::login_owner::Owner::WalletId(p.wallet_id.to_string())),
                    }),
                    device_id: p.device_id.to_string(),
                })),
            })
            .await?
            .into_inner();
        let message = login_message(
            "device",
            &format!("wallet:{}", p.wallet_id),
            &p.device_id.to_string(),
            CLIENT,
            &c.challenge_id,
            &c.challenge,
        );
        Ok(auth
            .complete_login(pb::CompleteLoginRequest {
                challenge_id: c.challenge_id,
                proof: Some(pb::complete_login_request::Proof::DeviceSignature(
                    p.phone.sign(&message),
                )),
                nonce: String::new(),
            })
            .await?
            .into_inner())
    }

    async fn logged_in(&self, p: &Patient) -> pb::TokenResponse {
        egide_testkit::eventually(
            Duration::from_secs(20),
            "a login through the gateway",
            || async { self.login(p).await.ok() },
        )
        .await
    }

    /// GetWallet through the gateway with `authorization` (none when empty).
    async fn get_wallet(&self, wallet_id: Uuid, authorization: &str) -> Result<(), tonic::Status> {
        let mut request = Request::new(GetWalletRequest {
            wallet_id: wallet_id.to_string(),
        });
        if !authorization.is_empty() {
            request
                .metadata_mut()
                .insert("authorization", authorization.parse().unwrap());
        }
        self.gateway
            .enrolment
            .clone()
            .get_wallet(request)
            .await
            .map(|_| ())
    }

    /// A token with `claims`, signed by the platform's real key in Vault.
    async fn forge(&self, header: Header, claims: AccessClaims) -> String {
        let input = egide_token::signing_input(&header, &claims).unwrap();
        let version: u64 = header.kid.rsplit("-v").next().unwrap().parse().unwrap();
        let sig = self
            .vault
            .sign_batch_jws("egide-token-signing", version, &[input.as_bytes()])
            .await
            .unwrap()
            .remove(0);
        egide_token::assemble(&input, &sig)
    }
}

fn reason(result: Result<(), tonic::Status>) -> (Code, String) {
    let status = result.expect_err("refused");
    (
        status.code(),
        egide_kit::error::decode(&status).0.unwrap_or_default(),
    )
}

fn claims_of(token: &str) -> (Header, AccessClaims) {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = serde_json::from_slice(&b64.decode(parts.next().unwrap()).unwrap()).unwrap();
    let claims = serde_json::from_slice(&b64.decode(parts.next().unwrap()).unwrap()).unwrap();
    (header, claims)
}

#[tokio::test]
async fn every_refusal_has_its_code_and_a_good_token_brings_the_patient_to_the_backend() {
    let s = stack().await;
    let p = s.patient().await;
    let tokens = s.logged_in(&p).await;
    let bearer = format!("Bearer {}", tokens.access_token);
    // The person reached enrolment: it looked the wallet up (the test's wallet exists in
    // auth's read model only) instead of refusing an anonymous caller.
    let passed =
        egide_testkit::eventually(Duration::from_secs(10), "revocations followed", || async {
            match reason(s.get_wallet(p.wallet_id, &bearer).await) {
                (Code::Unavailable, r) if r == "token_verification_unavailable" => None,
                other => Some(other),
            }
        })
        .await;
    assert_eq!(passed, (Code::NotFound, "wallet_not_found".into()));
    // Another patient's wallet: the gateway lets the patient through, enrolment refuses.
    assert_eq!(
        reason(s.get_wallet(Uuid::now_v7(), &bearer).await),
        (Code::PermissionDenied, "not_your_wallet".into())
    );

    let unauthenticated = |r: &str| (Code::Unauthenticated, r.to_owned());
    assert_eq!(
        reason(s.get_wallet(p.wallet_id, "").await),
        unauthenticated("token_missing")
    );
    for bad in [
        "Bearer x.y.z",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        &format!("Bearer {}x", tokens.access_token),
    ] {
        assert_eq!(
            reason(s.get_wallet(p.wallet_id, bad).await),
            unauthenticated("token_invalid"),
            "{bad}"
        );
    }
    // Genuine signatures over claims that are not acceptable.
    let (header, claims) = claims_of(&tokens.access_token);
    let now = chrono::Utc::now().timestamp();
    let forged = |c: AccessClaims| s.forge(header.clone(), c);
    let expired = forged(AccessClaims {
        exp: now - 120,
        iat: now - 420,
        ..claims.clone()
    })
    .await;
    assert_eq!(
        reason(
            s.get_wallet(p.wallet_id, &format!("Bearer {expired}"))
                .await
        ),
        unauthenticated("token_expired")
    );
    for (what, c) in [
        (
            "issuer",
            AccessClaims {
                iss: "https://evil.test".into(),
                ..claims.clone()
            },
        ),
        (
            "audience",
            AccessClaims {
                aud: "billing".into(),
                ..claims.clone()
            },
        ),
        (
            "future",
            AccessClaims {
                iat: now + 600,
                ..claims.clone()
            },
        ),
    ] {
        let t = forged(c).await;
        assert_eq!(
            reason(s.get_wallet(p.wallet_id, &format!("Bearer {t}")).await),
            unauthenticated("token_invalid"),
            "{what}"
        );
    }
    let id_typ = s
        .forge(
            Header {
                typ: "JWT".into(),
                ..header.clone()
            },
            claims.clone(),
        )
        .await;
    assert_eq!(
        reason(s.get_wallet(p.wallet_id, &format!("Bearer {id_typ}")).await),
        unauthenticated("token_invalid")
    );
    let unknown_kid = tokens.access_token.replacen(
        &URL_SAFE(&header),
        &URL_SAFE(&Header {
            kid: "egide-token-signing-v99".into(),
            ..header.clone()
        }),
        1,
    );
    assert_eq!(
        reason(
            s.get_wallet(p.wallet_id, &format!("Bearer {unknown_kid}"))
                .await
        ),
        unauthenticated("token_invalid")
    );
    // Bound to a client certificate this connection did not show.
    let bound = forged(AccessClaims {
        cnf: Some(egide_token::Confirmation {
            x5t_s256: "A".repeat(43),
        }),
        ..claims.clone()
    })
    .await;
    assert_eq!(
        reason(s.get_wallet(p.wallet_id, &format!("Bearer {bound}")).await),
        unauthenticated("token_binding_mismatch")
    );
    // Too weak for the route today (patients need eidas2 since 2026-01-01).
    let weak = forged(AccessClaims {
        acr: "eidas1".into(),
        ..claims.clone()
    })
    .await;
    let status = s
        .get_wallet(p.wallet_id, &format!("Bearer {weak}"))
        .await
        .unwrap_err();
    assert_eq!(
        (
            status.code(),
            egide_kit::error::decode(&status).0.as_deref()
        ),
        (Code::Unauthenticated, Some("insufficient_authentication"))
    );
    use tonic_types::StatusExt as _;
    let info = status.get_error_details().error_info().cloned().unwrap();
    assert_eq!(
        info.metadata.get("required_acr").map(String::as_str),
        Some("eidas2")
    );
    // A professional's token on a patients' route.
    let pro = forged(AccessClaims {
        egide_category: Category::Professional,
        ..claims.clone()
    })
    .await;
    assert_eq!(
        reason(s.get_wallet(p.wallet_id, &format!("Bearer {pro}")).await),
        (Code::PermissionDenied, "category_not_allowed".into())
    );
    // Forged person headers never reach the backend.
    let mut request = Request::new(GetWalletRequest {
        wallet_id: p.wallet_id.to_string(),
    });
    for (name, value) in [
        ("x-egide-person-category", "patient"),
        ("x-egide-person-subject", &p.wallet_id.to_string()),
    ] {
        request.metadata_mut().insert(name, value.parse().unwrap());
    }
    let forged_headers = s
        .gateway
        .enrolment
        .clone()
        .get_wallet(request)
        .await
        .map(|_| ());
    assert_eq!(reason(forged_headers), unauthenticated("token_missing"));
    // Open routes need no token.
    s.auth
        .clone()
        .get_jwks(pb::GetJwksRequest {})
        .await
        .expect("JWKS through the gateway");
}

#[allow(non_snake_case)]
fn URL_SAFE(header: &Header) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap())
}

#[tokio::test]
async fn a_suspension_or_a_logout_makes_the_gateway_refuse_the_token_within_a_second() {
    let s = stack().await;
    let p = s.patient().await;
    let first = s.logged_in(&p).await;
    let second = s.login(&p).await.unwrap();
    for t in [&first, &second] {
        let bearer = format!("Bearer {}", t.access_token);
        egide_testkit::eventually(Duration::from_secs(10), "the token accepted", || async {
            (reason(s.get_wallet(p.wallet_id, &bearer).await).0 == Code::NotFound).then_some(())
        })
        .await;
    }
    // Logout of the first session.
    let logged_out = Instant::now();
    s.auth
        .clone()
        .end_session(pb::EndSessionRequest {
            refresh_token: first.refresh_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let bearer = format!("Bearer {}", first.access_token);
    let took = refused_within(&s, p.wallet_id, &bearer, logged_out).await;
    eprintln!("logout → gateway refusal: {took:?}");
    // Suspension of the wallet kills the second.
    let suspended = Instant::now();
    s.wallet(&p, enrolment::WalletState::Suspended, "suspended")
        .await;
    let bearer = format!("Bearer {}", second.access_token);
    let took = refused_within(&s, p.wallet_id, &bearer, suspended).await;
    eprintln!("suspension event → gateway refusal: {took:?}");
}

async fn refused_within(s: &Stack, wallet: Uuid, bearer: &str, since: Instant) -> Duration {
    loop {
        match reason(s.get_wallet(wallet, bearer).await) {
            (Code::Unauthenticated, r) if r == "token_revoked" => return since.elapsed(),
            (Code::NotFound, _) => {}
            other => panic!("unexpected answer {other:?}"),
        }
        assert!(
            since.elapsed() < Duration::from_secs(1),
            "still accepted after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn tokens_are_verified_from_the_cached_keys_while_auth_is_away() {
    let mut s = stack().await;
    let p = s.patient().await;
    let tokens = s.logged_in(&p).await;
    let bearer = format!("Bearer {}", tokens.access_token);
    egide_testkit::eventually(Duration::from_secs(10), "the token accepted", || async {
        (reason(s.get_wallet(p.wallet_id, &bearer).await).0 == Code::NotFound).then_some(())
    })
    .await;
    let auth = s._services.remove(0);
    auth.stop().await.unwrap();
    assert_eq!(
        reason(s.get_wallet(p.wallet_id, &bearer).await).0,
        Code::NotFound,
        "still verified"
    );
}
