//! Durable JetStream consumers with an inbox, so that redelivery is harmless.
//!
//! Messages are pulled continuously and handled in chunks of whatever is ready (up to
//! `max_batch`): one database transaction per chunk records the chunk's event ids in the
//! inbox, hands the events not seen before to the [`Handler`], and commits; only then are
//! the messages acknowledged. A crash before the ack means redelivery; the inbox (or, for
//! handlers that are idempotent by event id, the handler's own unique key) drops what was
//! already applied.

use std::{collections::HashSet, time::Duration};

use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, DeliverPolicy, pull},
};
use futures::{StreamExt as _, future::BoxFuture};
use prost::Message as _;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, Statement, TransactionTrait, Value,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::events::EventEnvelope;

/// An event delivered to a handler.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The decoded envelope.
    pub envelope: EventEnvelope,
    /// The event id, parsed.
    pub event_id: Uuid,
    /// The envelope as received.
    pub raw: bytes::Bytes,
}

/// How redeliveries are detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedupe {
    /// The kit records every event id in `egide_inbox` in the handler's transaction.
    Inbox,
    /// The handler's own writes are idempotent by event id (e.g. a unique key).
    Handler,
}

/// What a consumer reads and how.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Durable consumer name (also the inbox key).
    pub durable: String,
    /// Subject filter, e.g. `egide.>` or `egide.enrolment.>`.
    pub filter: String,
    /// Largest chunk handled in one transaction.
    pub max_batch: usize,
    /// Redelivery detection.
    pub dedupe: Dedupe,
}

/// Applies events to a service's state.
pub trait Handler: Send + Sync + 'static {
    /// Applies `events` (never seen before by this consumer) within `txn`.
    fn handle<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        events: &'a [Delivered],
    ) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Called after the chunk's transaction committed (e.g. to notify someone).
    fn committed<'a>(&'a self, _events: &'a [Delivered]) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// Runs a durable consumer until `shutdown`: creates it if needed, reconnects forever.
pub async fn run<H: Handler>(
    db: DatabaseConnection,
    nats: async_nats::Client,
    stream: String,
    spec: ConsumerSpec,
    handler: H,
    shutdown: CancellationToken,
) {
    let js = jetstream::new(nats);
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match consume(&db, &js, &stream, &spec, &handler, &shutdown).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(%error, consumer = %spec.durable, retry_in = ?backoff, "consumer stopped, restarting");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn consume<H: Handler>(
    db: &DatabaseConnection,
    js: &jetstream::Context,
    stream: &str,
    spec: &ConsumerSpec,
    handler: &H,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let stream = crate::nats::ensure_stream(js, stream).await?;
    let consumer = stream
        .get_or_create_consumer(
            &spec.durable,
            pull::Config {
                durable_name: Some(spec.durable.clone()),
                filter_subject: spec.filter.clone(),
                ack_policy: AckPolicy::Explicit,
                deliver_policy: DeliverPolicy::All,
                // A crashed consumer's messages come back this soon; chunks take well under it.
                ack_wait: Duration::from_secs(10),
                max_ack_pending: 50_000,
                ..Default::default()
            },
        )
        .await?;
    let messages = consumer
        .stream()
        .max_messages_per_batch(spec.max_batch.max(1))
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await?;
    let mut chunks = messages.ready_chunks(spec.max_batch.max(1));
    tracing::info!(consumer = %spec.durable, "consuming");
    loop {
        let chunk = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            next = chunks.next() => match next {
                Some(chunk) => chunk,
                None => anyhow::bail!("message stream ended"),
            },
        };
        let mut messages = Vec::with_capacity(chunk.len());
        for item in chunk {
            match item {
                Ok(m) => messages.push(m),
                // A missed heartbeat or a transient error: keep what we have, the pull
                // stream re-issues its requests by itself.
                Err(error) => tracing::warn!(%error, consumer = %spec.durable, "pull error"),
            }
        }
        if messages.is_empty() {
            continue;
        }
        handle_chunk(db, spec, handler, messages).await?;
    }
}

async fn handle_chunk<H: Handler>(
    db: &DatabaseConnection,
    spec: &ConsumerSpec,
    handler: &H,
    messages: Vec<jetstream::Message>,
) -> anyhow::Result<()> {
    let mut events = Vec::with_capacity(messages.len());
    let mut seen = HashSet::with_capacity(messages.len());
    let mut keep = Vec::with_capacity(messages.len());
    for msg in messages {
        let decoded = EventEnvelope::decode(msg.payload.as_ref())
            .ok()
            .and_then(|e| Uuid::parse_str(&e.event_id).ok().map(|id| (e, id)));
        match decoded {
            Some((envelope, event_id)) => {
                if seen.insert(event_id) {
                    events.push(Delivered {
                        envelope,
                        event_id,
                        raw: msg.payload.clone(),
                    });
                }
                keep.push(msg);
            }
            None => {
                // Poison message: never redeliver it; the subject says where it came from.
                tracing::error!(subject = %msg.subject, consumer = %spec.durable, "undecodable event dropped");
                if let Err(error) = msg.ack_with(AckKind::Term).await {
                    tracing::warn!(%error, "term failed");
                }
            }
        }
    }
    match apply(db, spec, handler, &events).await {
        Ok(()) => {
            handler.committed(&events).await;
            for msg in keep {
                if let Err(error) = msg.ack().await {
                    // Redelivered later and dropped by the inbox.
                    tracing::debug!(%error, "ack failed");
                }
            }
            Ok(())
        }
        Err(error) => {
            for msg in keep {
                let _ = msg
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await;
            }
            Err(error)
        }
    }
}

async fn apply<H: Handler>(
    db: &DatabaseConnection,
    spec: &ConsumerSpec,
    handler: &H,
    events: &[Delivered],
) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    let fresh: Vec<Delivered> = match spec.dedupe {
        Dedupe::Handler => events.to_vec(),
        Dedupe::Inbox => {
            let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
            let rows = txn
                .query_all(Statement::from_sql_and_values(
                    txn.get_database_backend(),
                    "INSERT INTO egide_inbox (consumer, event_id)
                     SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
                    [spec.durable.clone().into(), Value::from(ids)],
                ))
                .await?;
            let new: HashSet<Uuid> = rows
                .iter()
                .filter_map(|r| r.try_get::<Uuid>("", "event_id").ok())
                .collect();
            events
                .iter()
                .filter(|e| new.contains(&e.event_id))
                .cloned()
                .collect()
        }
    };
    if !fresh.is_empty() {
        handler.handle(&txn, &fresh).await?;
    }
    txn.commit().await?;
    Ok(())
}
