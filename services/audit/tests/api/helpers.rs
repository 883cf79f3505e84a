//! Starts the audit service in-process and publishes events to it.

use std::time::{Duration, Instant};

use async_nats::{
    HeaderMap,
    jetstream::{self, context::PublishErrorKind},
};
use chrono::{DateTime, Utc};
use egide_kit::{
    app::Running,
    config::ServiceConfig,
    events::{EventEnvelope, Payload, actor, timestamp},
};
use egide_proto::{
    audit::v1::{
        AuditedEvent, ListEventsRequest, ListProducersRequest, ProducerState,
        audit_service_client::AuditServiceClient,
    },
    enrolment::v1::{Structure, StructureRegistered, structure},
};
use egide_testkit::Nats;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// The event type the tests publish unless told otherwise.
pub const REGISTERED: &str = "egide.enrolment.structure.registered";

/// A running audit service with a fresh database and its own NATS.
///
/// Every audit instance consumes through the same durable consumer name, so two instances
/// on one NATS would share (split) the deliveries: each test gets a dedicated NATS.
pub struct TestApp {
    pub client: AuditServiceClient<Channel>,
    pub nats_client: async_nats::Client,
    pub js: jetstream::Context,
    running: Running,
    nats: Option<Nats>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.running.shutdown_token().cancel();
        // Stopping nats-server blocks (it waits for the process): do it off the runtime.
        if let Some(nats) = self.nats.take() {
            std::thread::spawn(move || drop(nats));
        }
    }
}

pub async fn spawn_app() -> TestApp {
    egide_kit::telemetry::init_for_tests();
    let stack = egide_testkit::shared();
    let nats = Nats::spawn().expect("a dedicated NATS");
    let db_url = stack
        .postgres
        .create_database("audit")
        .expect("create database");
    let config = ServiceConfig::ephemeral(
        db_url,
        nats.url(),
        stack.vault.addr(),
        stack.vault.root_token(),
    )
    .in_test_mesh("audit");
    let nats_client = async_nats::connect(nats.url())
        .await
        .expect("test NATS client");
    let js = jetstream::new(nats_client.clone());
    // The stream the services create, made first so that the test never races the audit
    // consumer creating it (concurrent creations may fail transiently on nats-server 2.9).
    egide_kit::nats::ensure_stream(&js, "EGIDE")
        .await
        .expect("event stream");
    let running = egide_audit::build(config, CancellationToken::new())
        .await
        .expect("audit starts");
    let addr = running.local_addr();
    let channel = egide_kit::mesh::dev::channel_as(addr, "audit", "gateway")
        .await
        .expect("connect to audit");
    TestApp {
        client: AuditServiceClient::new(channel),
        nats_client,
        js,
        running,
        nats: Some(nats),
    }
}

/// An envelope as a producer's outbox relay would publish it.
pub fn event(
    producer: &str,
    seq: u64,
    event_type: &str,
    occurred_at: DateTime<Utc>,
) -> EventEnvelope {
    let event_id = uuid::Uuid::now_v7();
    EventEnvelope {
        event_id: event_id.to_string(),
        producer: producer.to_owned(),
        producer_seq: seq,
        occurred_at: Some(timestamp(occurred_at)),
        actor: Some(actor::service(producer)),
        subjects: Vec::new(),
        event_type: event_type.to_owned(),
        trace_context: Default::default(),
        payload: Some(Payload::StructureRegistered(StructureRegistered {
            structure: Some(Structure {
                id: event_id.to_string(),
                id_nat_struct: format!("1{:09}", seq),
                identifier: Some(structure::Identifier::Finess(format!("{seq:09}"))),
                name: format!("Structure {seq}"),
                registered_at: Some(timestamp(occurred_at)),
                ..Default::default()
            }),
        })),
    }
}

/// `producer`'s event number `seq` of the default type, occurring now.
pub fn simple(producer: &str, seq: u64) -> EventEnvelope {
    event(producer, seq, REGISTERED, Utc::now())
}

impl TestApp {
    /// Publishes `envelope` on its event type with `Nats-Msg-Id` = its event id.
    pub async fn publish(&self, envelope: &EventEnvelope) {
        self.publish_with_msg_id(envelope, &envelope.event_id).await;
    }

    /// Publishes `envelope` with the given `Nats-Msg-Id` and waits for the stream's ack.
    pub async fn publish_with_msg_id(&self, envelope: &EventEnvelope, msg_id: &str) {
        self.publish_raw(&envelope.event_type, msg_id, envelope.encode_to_vec())
            .await;
    }

    pub async fn publish_raw(&self, subject: &str, msg_id: &str, payload: Vec<u8>) {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        // Right after the stream is created, nats-server 2.9 may briefly answer "no
        // responders" (the stream does not capture its subjects yet): retry like a relay.
        let deadline = Instant::now() + Duration::from_secs(5);
        let ack = loop {
            let result = self
                .js
                .publish_with_headers(subject.to_owned(), headers.clone(), payload.clone().into())
                .await
                .expect("publish")
                .await;
            match result {
                Ok(ack) => break ack,
                Err(e)
                    if e.kind() == PublishErrorKind::StreamNotFound
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("{subject} {msg_id} not stored: {e}"),
            }
        };
        assert!(!ack.duplicate, "JetStream dropped {msg_id} as a duplicate");
    }

    /// One page of `ListEvents`.
    pub async fn list(
        &self,
        request: ListEventsRequest,
    ) -> Result<(Vec<AuditedEvent>, String), tonic::Status> {
        self.client.clone().list_events(request).await.map(|r| {
            let r = r.into_inner();
            (r.events, r.next_page_token)
        })
    }

    /// Every logged event, in log order.
    pub async fn all_events(&self) -> Vec<AuditedEvent> {
        self.list(ListEventsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list events")
        .0
    }

    /// Waits until the log holds exactly `n` events.
    pub async fn wait_for_events(&self, n: usize) -> Vec<AuditedEvent> {
        eventually(
            Duration::from_secs(10),
            &format!("{n} logged events"),
            || async {
                let events = self.all_events().await;
                assert!(events.len() <= n, "more events than expected: {events:?}");
                (events.len() == n).then_some(events)
            },
        )
        .await
    }

    pub async fn producer(&self, producer: &str) -> Option<ProducerState> {
        self.client
            .clone()
            .list_producers(ListProducersRequest {})
            .await
            .expect("list producers")
            .into_inner()
            .producers
            .into_iter()
            .find(|p| p.producer == producer)
    }

    /// Waits until `producer` has `stored` events in the log and returns its state.
    pub async fn wait_for_producer(&self, producer: &str, stored: u64) -> ProducerState {
        eventually(
            Duration::from_secs(10),
            &format!("{stored} events of {producer}"),
            || async { self.producer(producer).await.filter(|p| p.stored == stored) },
        )
        .await
    }
}

/// Event ids of `events`.
pub fn ids(events: &[AuditedEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.envelope.as_ref().expect("envelope").event_id.clone())
        .collect()
}

pub use egide_testkit::eventually;
