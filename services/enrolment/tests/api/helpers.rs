//! Starts the enrolment service in-process against the real test stack.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use async_nats::jetstream::{self, consumer::DeliverPolicy};
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

/// The enrolment service on the shared Postgres and the given NATS and Vault.
pub async fn spawn_app_with(deps: Deps) -> TestApp {
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
    );
    config.nats.stream = STREAM.to_owned();
    let running = egide_enrolment::build(config, CancellationToken::new())
        .await
        .expect("enrolment starts");
    let addr = running.local_addr();
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
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
    pub async fn register_finess(
        &self,
        finess: &str,
        name: &str,
    ) -> Result<RegisterStructureResponse, tonic::Status> {
        self.register(Some(Identifier::Finess(finess.into())), name)
            .await
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
