//! Starts the enrolment service in-process against the real test stack.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use egide_enrolment::{EnrolmentConfig, config::ProviderSettings};
use egide_kit::{app::Running, config::ServiceConfig, events::EventEnvelope};
use egide_proto::{
    common::v1::{GetStatusRequest, GetStatusResponse, status_service_client::StatusServiceClient},
    enrolment::v1::{
        RegisterStructureRequest, RegisterStructureResponse,
        enrolment_service_client::EnrolmentServiceClient, register_structure_request::Identifier,
    },
};
use futures::StreamExt as _;
use prost::Message as _;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// The event stream of this test binary. Every stream binds `egide.>`, and NATS refuses two
/// streams with overlapping subjects, so all tests on the shared NATS share this one stream
/// and find their events by event id.
pub const STREAM: &str = "EGIDE";

/// The simulators of what lies outside Égide, one pair per test binary.
pub struct Sims {
    pub mail: egide_testkit::MailSim,
    pub proofing: egide_testkit::ProofingSim,
    _dir: std::path::PathBuf,
}

/// The shared simulators (started on first use; they die with the test process).
pub fn sims() -> &'static Sims {
    static SIMS: std::sync::OnceLock<Sims> = std::sync::OnceLock::new();
    SIMS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("egide-enrolment-sims-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("sims dir");
        Sims {
            mail: egide_testkit::MailSim::spawn(&dir.join("mail"))
                .expect("mail simulator (cargo build --bins)"),
            proofing: egide_testkit::ProofingSim::spawn(&dir.join("proofing"))
                .expect("proofing simulator (cargo build --bins)"),
            _dir: dir,
        }
    })
}

/// The mailbox the mail simulator fills.
pub fn mailbox() -> egide_sims::mailbox::Mailbox {
    egide_sims::mailbox::Mailbox::new(sims().mail.mailbox())
}

/// Creates the transit engine and the INS digest key on the shared OpenBao (idempotent).
pub async fn ensure_ins_digest_key() {
    static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        egide_testkit::shared()
            .vault
            .ensure_transit_key(egide_enrolment::wallets::INS_DIGEST_KEY)
            .expect("create the INS digest key");
    });
}

/// The NATS and Vault a test app talks to.
pub struct Deps {
    pub nats_url: String,
    pub vault_addr: String,
    pub vault_token: String,
}

impl Deps {
    /// The shared stack of this test binary.
    pub fn shared() -> Self {
        let stack = egide_testkit::shared();
        Self {
            nats_url: stack.nats.url(),
            vault_addr: stack.vault.addr(),
            vault_token: stack.vault.root_token().to_owned(),
        }
    }
}

/// A running enrolment service with a fresh database.
#[allow(dead_code)] // `addr` and `db_url` are part of the fixture for tests that need them.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: EnrolmentServiceClient<Channel>,
    pub channel: Channel,
    pub db_url: String,
    pub db: DatabaseConnection,
    pub nats_url: String,
    running: Running,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stops the tasks the service spawned outside its JoinSet (readiness, Vault session).
        self.running.shutdown_token().cancel();
    }
}

/// The enrolment service on the shared stack.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Deps::shared()).await
}

/// The enrolment service on the shared stack, its configuration changed by `tweak` (the
/// simulators are already configured when it runs).
pub async fn spawn_app_with_config(tweak: impl FnOnce(&mut EnrolmentConfig)) -> TestApp {
    spawn(Deps::shared(), tweak).await
}

/// The enrolment service on the shared Postgres and the given NATS and Vault.
pub async fn spawn_app_with(deps: Deps) -> TestApp {
    spawn(deps, |_| {}).await
}

async fn spawn(deps: Deps, tweak: impl FnOnce(&mut EnrolmentConfig)) -> TestApp {
    egide_kit::telemetry::init_for_tests();
    let db_url = egide_testkit::shared()
        .postgres
        .create_database("enrolment")
        .expect("create database");
    let mut config = ServiceConfig::ephemeral(
        db_url.clone(),
        deps.nats_url.clone(),
        deps.vault_addr,
        deps.vault_token,
    )
    .in_test_mesh("enrolment");
    config.nats.stream = STREAM.to_owned();
    let sims = sims();
    ensure_ins_digest_key().await;
    let mut config = EnrolmentConfig::new(config);
    config.mail.smtp_url = format!("smtp://{}", sims.mail.addr());
    config.proofing.providers = vec![ProviderSettings {
        issuer: sims.proofing.issuer().to_owned(),
        kid: sims.proofing.kid().to_owned(),
        public_key_pem: sims.proofing.public_key_pem().to_owned(),
        public_key_file: String::new(),
    }];
    tweak(&mut config);
    let running = egide_enrolment::build(config, CancellationToken::new())
        .await
        .expect("enrolment starts");
    let addr = running.local_addr();
    // The tests play the gateway: their caller headers are believed.
    let channel = egide_kit::mesh::dev::channel_as(addr, "enrolment", "gateway")
        .await
        .expect("connect to enrolment");
    let db = Database::connect(db_url.as_str())
        .await
        .expect("test db connection");
    TestApp {
        addr,
        client: EnrolmentServiceClient::new(channel.clone()),
        channel,
        db_url,
        db,
        nats_url: deps.nats_url,
        running,
    }
}

impl TestApp {
    /// Registers a FINESS establishment, first seeding it into the FINESS directory
    /// table (imports have their own tests) when it is well formed.
    pub async fn register_finess(
        &self,
        finess: &str,
        name: &str,
    ) -> Result<RegisterStructureResponse, tonic::Status> {
        if egide_ids::Finess::parse(finess).is_ok() {
            self.seed_establishment(finess).await;
        }
        self.register(Some(Identifier::Finess(finess.into())), name)
            .await
    }

    /// Puts an active establishment into the FINESS directory table.
    pub async fn seed_establishment(&self, finess: &str) {
        self.db
            .execute(Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "INSERT INTO establishments (finess, legal_entity_finess, name, long_name, address, \
                 town, department_code, phone, category_code, category_label, siret, opened_on, \
                 updated_on, content_hash, active, import_id, updated_at) VALUES ($1, $1, \
                 'ETABLISSEMENT ' || $1, '', '1 rue de la Santé, 35000 RENNES', 'RENNES', '35', '', \
                 '355', 'Centre Hospitalier (C.H.)', '', '', '', 'seed', true, gen_random_uuid(), \
                 now()) ON CONFLICT DO NOTHING",
                [finess.into()],
            ))
            .await
            .expect("seed establishment");
    }

    pub async fn register(
        &self,
        identifier: Option<Identifier>,
        name: &str,
    ) -> Result<RegisterStructureResponse, tonic::Status> {
        self.client
            .clone()
            .register_structure(RegisterStructureRequest {
                identifier,
                name: name.into(),
                ..Default::default()
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn health(&self) -> ServingStatus {
        HealthClient::new(self.channel.clone())
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status()
    }

    pub async fn status(&self) -> GetStatusResponse {
        StatusServiceClient::new(self.channel.clone())
            .get_status(GetStatusRequest {})
            .await
            .expect("status")
            .into_inner()
    }

    /// The outbox rows, in sequence order: (event id, producer_seq, published).
    pub async fn outbox(&self) -> Vec<OutboxRow> {
        self.db
            .query_all(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT event_id, event_type, producer_seq, published_at IS NOT NULL AS published
                 FROM egide_outbox ORDER BY id",
            ))
            .await
            .expect("read outbox")
            .iter()
            .map(|r| OutboxRow {
                event_id: r.try_get::<uuid::Uuid>("", "event_id").expect("event_id"),
                event_type: r.try_get("", "event_type").expect("event_type"),
                producer_seq: r.try_get("", "producer_seq").expect("producer_seq"),
                published: r.try_get("", "published").expect("published"),
            })
            .collect()
    }

    /// Waits until every outbox row is published.
    pub async fn wait_outbox_published(&self, n: usize, within: Duration) -> Vec<OutboxRow> {
        eventually(within, "outbox rows published", || async {
            let rows = self.outbox().await;
            (rows.len() == n && rows.iter().all(|r| r.published)).then_some(rows)
        })
        .await
    }
}

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub event_id: uuid::Uuid,
    pub event_type: String,
    pub producer_seq: Option<i64>,
    pub published: bool,
}

/// A JetStream message as the test saw it.
#[derive(Debug)]
pub struct SeenEvent {
    pub subject: String,
    pub msg_id: String,
    pub envelope: EventEnvelope,
}

/// Waits for the JetStream message whose `Nats-Msg-Id` is `event_id` on `subject`.
pub async fn wait_for_event(
    nats_url: &str,
    subject: &str,
    event_id: &str,
    within: Duration,
) -> SeenEvent {
    let deadline = Instant::now() + within;
    let client = async_nats::connect(nats_url)
        .await
        .expect("test NATS client");
    let js = jetstream::new(client);
    let stream = loop {
        match js.get_stream(STREAM).await {
            Ok(s) => break s,
            Err(error) if Instant::now() < deadline => {
                tracing::debug!(%error, "stream not there yet");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("stream {STREAM} never appeared: {error}"),
        }
    };
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: subject.to_owned(),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .expect("ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = match tokio::time::timeout(left, messages.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(error))) => {
                tracing::debug!(%error, "ordered consumer error");
                continue;
            }
            Ok(None) => panic!("message stream ended"),
            Err(_) => {
                panic!("no message with Nats-Msg-Id {event_id} on {subject} within {within:?}")
            }
        };
        let msg_id = msg
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        if msg_id == event_id {
            return SeenEvent {
                subject: msg.subject.to_string(),
                msg_id,
                envelope: EventEnvelope::decode(msg.payload.as_ref()).expect("an EventEnvelope"),
            };
        }
    }
}

pub use egide_testkit::eventually;

/// One outbox row, decoded, with the bytes as stored.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub event_type: String,
    pub envelope: EventEnvelope,
    pub bytes: Vec<u8>,
}

impl TestApp {
    /// Every event recorded so far, in outbox order, decoded from the stored envelope.
    pub async fn events(&self) -> Vec<StoredEvent> {
        self.db
            .query_all(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT event_type, envelope FROM egide_outbox ORDER BY id",
            ))
            .await
            .expect("read outbox")
            .iter()
            .map(|r| {
                let bytes: Vec<u8> = r.try_get("", "envelope").expect("envelope");
                StoredEvent {
                    event_type: r.try_get("", "event_type").expect("event_type"),
                    envelope: EventEnvelope::decode(bytes.as_slice()).expect("an EventEnvelope"),
                    bytes,
                }
            })
            .collect()
    }

    /// The types of the events recorded so far, in order.
    pub async fn event_types(&self) -> Vec<String> {
        self.events()
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    /// The events of one type.
    pub async fn events_of(&self, event_type: &str) -> Vec<StoredEvent> {
        self.events()
            .await
            .into_iter()
            .filter(|e| e.event_type == event_type)
            .collect()
    }

    /// Runs one SQL statement on the service's database; returns the rows affected.
    pub async fn sql(&self, sql: &str) -> u64 {
        self.db
            .execute(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .rows_affected()
    }

    /// The single text an SQL query returns.
    pub async fn sql_text(&self, sql: &str) -> String {
        self.db
            .query_one(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .expect("one row")
            .try_get_by_index::<String>(0)
            .expect("a text")
    }

    /// The single `i64` an SQL query returns.
    pub async fn sql_i64(&self, sql: &str) -> i64 {
        self.db
            .query_one(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .expect("one row")
            .try_get_by_index::<i64>(0)
            .expect("an integer")
    }
}

/// Asserts that `result` failed with `code` and the stable `reason`; returns the status.
#[track_caller]
pub fn expect_error<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: tonic::Code,
    reason: &str,
) -> tonic::Status {
    let status = match result {
        Ok(v) => {
            let shown: String = format!("{v:?}").chars().take(300).collect();
            panic!("expected {code:?} {reason}, got {shown}…")
        }
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

/// The field names of a status's `BadRequest` violations, in order.
pub fn violation_fields(status: &tonic::Status) -> Vec<String> {
    egide_kit::error::decode(status)
        .1
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// A key of the status's `ErrorInfo` metadata.
pub fn error_metadata(status: &tonic::Status, key: &str) -> Option<String> {
    use tonic_types::StatusExt as _;
    status
        .get_error_details()
        .error_info()
        .and_then(|i| i.metadata.get(key).cloned())
}

/// An e-mail address no other test uses (the mail simulator is shared by the binary).
pub fn unique_email(who: &str) -> String {
    format!("{who}.{}@example.test", uuid::Uuid::now_v7().simple())
}

/// A French mobile number no other test uses (SMS land in the shared mail simulator).
pub fn unique_phone() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Unique within this process; the pid keeps runs apart in a reused mail directory.
    format!("06{:04}{:04}", std::process::id() % 10_000, n % 10_000)
}

/// `t` as a `SystemTime`.
pub fn system_time(t: &prost_types::Timestamp) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::new(t.seconds as u64, t.nanos as u32)
}

/// Waits until the wall clock is past `t` (for short configured lifetimes).
pub async fn wait_until_past(t: &prost_types::Timestamp) {
    let at = system_time(t);
    eventually(
        Duration::from_secs(10),
        "the clock to pass the deadline",
        || async { (std::time::SystemTime::now() > at).then_some(()) },
    )
    .await;
}
