//! Starts auth in-process on the shared test stack and plays enrolment and the phone.

use std::time::Duration;

use async_nats::jetstream;
use egide_attest::{Algorithm, device::DeviceSigner, login::login_message};
use egide_auth::AuthConfig;
use egide_kit::{
    app::Running,
    config::ServiceConfig,
    events::{EventEnvelope, Payload, actor, timestamp},
};
use egide_proto::{
    auth::v1::{self as pb, auth_service_client::AuthServiceClient, login_owner::Owner},
    enrolment::v1::{self as enrolment, device_changed},
};
use egide_token::{AccessClaims, Expectations, KeySet};
use futures::StreamExt as _;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use uuid::Uuid;

/// One stream for the whole binary (streams may not overlap on `egide.>`).
pub const STREAM: &str = "EGIDE";

pub const CLIENT: &str = "egide-cli";

/// A running auth service with a fresh database and its own durable consumer.
pub struct TestApp {
    pub client: AuthServiceClient<Channel>,
    pub js: jetstream::Context,
    pub nats: async_nats::Client,
    pub config: AuthConfig,
    /// enrolment's producer_seq, as the tests play it (per app: owners are per test).
    seq: std::sync::atomic::AtomicU64,
    running: Running,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.running.shutdown_token().cancel();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut AuthConfig)) -> TestApp {
    egide_kit::telemetry::init_for_tests();
    let stack = egide_testkit::shared();
    let db_url = stack
        .postgres
        .create_database("auth")
        .expect("create database");
    let mut service = ServiceConfig::ephemeral(
        db_url,
        stack.nats.url(),
        stack.vault.addr(),
        stack.vault.root_token(),
    )
    .in_test_mesh("auth");
    service.nats.stream = STREAM.to_owned();
    let mut config = AuthConfig::new(service);
    config.consumer = format!("auth-test-{}", Uuid::now_v7().simple());
    config.tokens.issuer = "https://egide.test".into();
    tweak(&mut config);
    stack
        .vault
        .ensure_transit_key_of(&config.tokens.signing_key, "ecdsa-p256")
        .expect("token signing key");
    for key in [&config.accounts.pepper_key, &config.accounts.totp_key] {
        stack
            .vault
            .ensure_transit_key(key)
            .expect("accounts transit keys");
    }
    let nats = async_nats::connect(stack.nats.url()).await.expect("NATS");
    let js = jetstream::new(nats.clone());
    egide_kit::nats::ensure_stream(&js, STREAM)
        .await
        .expect("stream");
    let running = egide_auth::build(config.clone(), CancellationToken::new())
        .await
        .expect("auth starts");
    // The tests play the gateway: their caller headers are believed.
    let channel = egide_kit::mesh::dev::channel_as(running.local_addr(), "auth", "gateway")
        .await
        .expect("connect to auth");
    let app = TestApp {
        client: AuthServiceClient::new(channel),
        js,
        nats,
        config,
        seq: std::sync::atomic::AtomicU64::new(1_000_000),
        running,
    };
    // Ready once the signing key was read.
    egide_testkit::eventually(Duration::from_secs(20), "the JWKS", || {
        let mut c = app.client.clone();
        async move { c.get_jwks(pb::GetJwksRequest {}).await.ok().map(|_| ()) }
    })
    .await;
    app
}

/// A wallet and its phone, as enrolment's events describe them.
pub struct Patient {
    pub wallet_id: Uuid,
    pub device_id: Uuid,
    pub phone: DeviceSigner,
}

impl Patient {
    pub fn new(alg: Algorithm) -> Self {
        Self {
            wallet_id: Uuid::now_v7(),
            device_id: Uuid::now_v7(),
            phone: DeviceSigner::generate(alg),
        }
    }

    pub fn owner(&self) -> pb::LoginOwner {
        pb::LoginOwner {
            owner: Some(Owner::WalletId(self.wallet_id.to_string())),
        }
    }

    pub fn owner_key(&self) -> String {
        format!("wallet:{}", self.wallet_id)
    }
}

impl TestApp {
    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Publishes an enrolment event as its outbox relay would.
    pub async fn publish(&self, event_type: &str, payload: Payload) -> Uuid {
        self.publish_with_seq(event_type, payload, self.next_seq())
            .await
    }

    /// [`TestApp::publish`] with a given producer_seq.
    pub async fn publish_with_seq(&self, event_type: &str, payload: Payload, seq: u64) -> Uuid {
        let event_id = Uuid::now_v7();
        let envelope = EventEnvelope {
            event_id: event_id.to_string(),
            producer: "enrolment".into(),
            producer_seq: seq,
            occurred_at: Some(timestamp(chrono::Utc::now())),
            actor: Some(actor::service("enrolment")),
            subjects: Vec::new(),
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
            .expect("publish")
            .await
            .expect("stream ack");
        event_id
    }

    pub async fn wallet_state(&self, p: &Patient, state: enrolment::WalletState) {
        let verb = match state {
            enrolment::WalletState::Active => "activated",
            enrolment::WalletState::Suspended => "suspended",
            enrolment::WalletState::Closed => "closed",
            _ => "started",
        };
        self.publish(
            &format!("egide.enrolment.wallet.{verb}"),
            Payload::WalletChanged(enrolment::WalletChanged {
                wallet_id: p.wallet_id.to_string(),
                ins_digest: "ab".repeat(32),
                state: state as i32,
                ..Default::default()
            }),
        )
        .await;
    }

    pub async fn device(&self, p: &Patient, revoked: bool) {
        let key = p.phone.device_key();
        let verb = if revoked { "revoked" } else { "registered" };
        self.publish(
            &format!("egide.enrolment.device.{verb}"),
            Payload::DeviceChanged(enrolment::DeviceChanged {
                owner: Some(device_changed::Owner::WalletId(p.wallet_id.to_string())),
                ins_digest: "ab".repeat(32),
                device: Some(enrolment::Device {
                    id: p.device_id.to_string(),
                    algorithm: key.algorithm().jose_name().into(),
                    public_key: key.to_spki_der(),
                    thumbprint: key.thumbprint(),
                    label: "test phone".into(),
                    registered_at: Some(timestamp(chrono::Utc::now())),
                    revoked_at: revoked.then(|| timestamp(chrono::Utc::now())),
                }),
            }),
        )
        .await;
    }

    /// A patient whose wallet is active with one device, once auth has read it.
    pub async fn enrolled_patient(&self) -> Patient {
        let p = Patient::new(Algorithm::Es256);
        self.wallet_state(&p, enrolment::WalletState::Active).await;
        self.device(&p, false).await;
        // Logging in is the only outside view of the read model: retry until it works.
        egide_testkit::eventually(Duration::from_secs(20), "auth reads the device", || async {
            self.login(&p, "").await.ok().map(|_| ())
        })
        .await;
        p
    }

    pub async fn start(
        &self,
        p: &Patient,
        scope: &str,
    ) -> Result<pb::StartLoginResponse, tonic::Status> {
        self.client
            .clone()
            .start_login(pb::StartLoginRequest {
                client_id: CLIENT.into(),
                scope: scope.into(),
                means: Some(pb::start_login_request::Means::Device(pb::DeviceLogin {
                    owner: Some(p.owner()),
                    device_id: p.device_id.to_string(),
                })),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn complete(
        &self,
        challenge_id: &str,
        signature: Vec<u8>,
    ) -> Result<pb::TokenResponse, tonic::Status> {
        self.client
            .clone()
            .complete_login(pb::CompleteLoginRequest {
                challenge_id: challenge_id.into(),
                proof: Some(pb::complete_login_request::Proof::DeviceSignature(
                    signature,
                )),
                nonce: "n-0S6_WzA2Mj".into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// A whole device login.
    pub async fn login(
        &self,
        p: &Patient,
        scope: &str,
    ) -> Result<pb::TokenResponse, tonic::Status> {
        let c = self.start(p, scope).await?;
        self.complete(&c.challenge_id, sign(p, &c)).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<pb::TokenResponse, tonic::Status> {
        self.client
            .clone()
            .refresh_session(pb::RefreshSessionRequest {
                refresh_token: refresh_token.into(),
                client_id: CLIENT.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn key_set(&self) -> KeySet {
        let jwks = self
            .client
            .clone()
            .get_jwks(pb::GetJwksRequest {})
            .await
            .unwrap()
            .into_inner();
        KeySet::new(
            &jwks
                .keys
                .into_iter()
                .map(egide_kit::jwks::from_proto)
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    /// Verifies an access token as the gateway would.
    pub async fn verify(&self, token: &str) -> AccessClaims {
        egide_token::verify_access(
            token,
            &self.key_set().await,
            &Expectations {
                issuer: self.config.tokens.issuer.clone(),
                audience: self.config.tokens.audience.clone(),
                leeway_secs: 30,
            },
            chrono::Utc::now().timestamp(),
        )
        .expect("a valid access token")
    }

    /// Subscribes to auth's session events (core NATS: they arrive as the relay publishes).
    pub async fn session_events(&self) -> async_nats::Subscriber {
        let s = self.nats.subscribe("egide.auth.session.>").await.unwrap();
        self.nats.flush().await.unwrap();
        s
    }
}

/// `message` as the gateway forwards it for `person`.
pub fn as_person<T>(person: &egide_kit::caller::PersonCaller, message: T) -> tonic::Request<T> {
    person.request(message)
}

/// The device's signature over the login message for challenge `c`.
pub fn sign(p: &Patient, c: &pb::StartLoginResponse) -> Vec<u8> {
    p.phone.sign(&login_message(
        "device",
        &p.owner_key(),
        &p.device_id.to_string(),
        CLIENT,
        &c.challenge_id,
        &c.challenge,
    ))
}

/// The next session event about `session_id`, within `within`.
pub async fn next_event_about(
    events: &mut async_nats::Subscriber,
    session_id: &str,
    within: Duration,
) -> (String, pb::SessionChanged) {
    tokio::time::timeout(within, async {
        while let Some(m) = events.next().await {
            let envelope = EventEnvelope::decode(m.payload.as_ref()).unwrap();
            if let Some(Payload::SessionChanged(s)) = envelope.payload
                && s.session_id == session_id
            {
                return (envelope.event_type, s);
            }
        }
        panic!("event subscription ended")
    })
    .await
    .unwrap_or_else(|_| panic!("no event about session {session_id} within {within:?}"))
}

/// The next event of type `event_type` about `session_id` (others are skipped).
pub async fn next_event_of(
    events: &mut async_nats::Subscriber,
    session_id: &str,
    event_type: &str,
    within: Duration,
) -> pb::SessionChanged {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let (t, event) = next_event_about(events, session_id, left).await;
        if t == event_type {
            return event;
        }
    }
}

pub fn expect_error<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: tonic::Code,
    reason: &str,
) -> tonic::Status {
    let status = match result {
        Ok(v) => panic!("expected {code:?} {reason}, got {v:?}"),
        Err(s) => s,
    };
    let (got, _) = egide_kit::error::decode(&status);
    assert_eq!(
        (status.code(), got.as_deref()),
        (code, Some(reason)),
        "{status:?}"
    );
    status
}

pub fn violation_fields(status: &tonic::Status) -> Vec<String> {
    egide_kit::error::decode(status)
        .1
        .into_iter()
        .map(|v| v.field)
        .collect()
}
