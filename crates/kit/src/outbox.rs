//! The transactional outbox.
//!
//! A service records an event with [`Outbox::enqueue`] inside the same database
//! transaction as the state change it reports: both commit or neither does. The
//! [`Relay`] then publishes committed events to JetStream:
//!
//! 1. it gives new rows their `producer_seq`, gap-free and in one short transaction
//!    (the per-producer state row is locked, so replicas never hand out a number twice);
//! 2. it publishes the rows not yet acknowledged, in sequence order, with
//!    `Nats-Msg-Id` = event id, and awaits every `PublishAck`;
//! 3. it marks the acknowledged rows published.
//!
//! A crash between any two steps only causes a republication, which JetStream (within its
//! duplicate window) and every consumer's inbox (after it) absorb. Published rows stay
//! until the audit log reports, through a watermark, that it holds them; the audit log can
//! ask for a range again (replay) when it sees a gap.

use std::{sync::Arc, time::Duration};

use async_nats::{HeaderMap, jetstream};
use chrono::Utc;
use futures::StreamExt as _;
use prost::Message as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait, Value};
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::events::{EventEnvelope, NewEvent};

/// Rows published per round.
const BATCH: i64 = 1000;

/// Core-NATS subject on which the audit log asks `producer` to republish a range.
pub fn replay_subject(producer: &str) -> String {
    format!("_EGIDE.outbox.{producer}.replay")
}

/// Core-NATS subject on which a producer announces its highest published sequence.
pub fn head_subject(producer: &str) -> String {
    format!("_EGIDE.outbox.{producer}.head")
}

/// Core-NATS subjects of every producer's head announcements.
pub const HEAD_SUBJECTS: &str = "_EGIDE.outbox.*.head";

/// How often the relay applies the latest audit watermark.
pub const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// How often the relay announces its head.
pub const HEAD_EVERY: Duration = Duration::from_secs(5);

/// Core-NATS subject on which the audit log tells `producer` how far it holds its events.
pub fn watermark_subject(producer: &str) -> String {
    format!("_EGIDE.audit.watermark.{producer}")
}

const INSERT_ROWS: &str = "INSERT INTO egide_outbox (event_id, event_type, envelope) \
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[])";

struct Rows {
    ids: Vec<Uuid>,
    types: Vec<String>,
    envelopes: Vec<Vec<u8>>,
}

/// Records events in the caller's transaction.
#[derive(Clone, Debug)]
pub struct Outbox {
    producer: &'static str,
    wake: Arc<Notify>,
}

impl Outbox {
    /// The outbox of `producer` (the service name).
    pub fn new(producer: &'static str) -> Self {
        Self {
            producer,
            wake: Arc::default(),
        }
    }

    /// The producer name.
    pub fn producer(&self) -> &'static str {
        self.producer
    }

    /// Records `event` through `conn`, which should be the transaction of the state change.
    /// Returns the event id.
    pub async fn enqueue<C: ConnectionTrait>(
        &self,
        conn: &C,
        event: NewEvent,
    ) -> Result<Uuid, DbErr> {
        let mut ids = self.enqueue_many(conn, vec![event]).await?;
        ids.pop()
            .ok_or_else(|| DbErr::Custom("outbox insert returned no id".into()))
    }

    /// Records several events in one statement.
    pub async fn enqueue_many<C: ConnectionTrait>(
        &self,
        conn: &C,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Uuid>, DbErr> {
        let rows = self.rows(events);
        conn.execute(Statement::from_sql_and_values(
            conn.get_database_backend(),
            INSERT_ROWS,
            [
                Value::from(rows.ids.clone()),
                Value::from(rows.types),
                Value::from(rows.envelopes),
            ],
        ))
        .await?;
        Ok(rows.ids)
    }

    /// [`Self::enqueue_many`] on a plain sqlx connection, for work that runs in an sqlx
    /// transaction (bulk `COPY` imports).
    pub async fn enqueue_many_sqlx(
        &self,
        conn: &mut sea_orm::sqlx::PgConnection,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Uuid>, sea_orm::sqlx::Error> {
        let rows = self.rows(events);
        sea_orm::sqlx::query(INSERT_ROWS)
            .bind(&rows.ids)
            .bind(&rows.types)
            .bind(&rows.envelopes)
            .execute(conn)
            .await?;
        Ok(rows.ids)
    }

    fn rows(&self, events: Vec<NewEvent>) -> Rows {
        let now = Utc::now();
        let mut rows = Rows {
            ids: Vec::with_capacity(events.len()),
            types: Vec::with_capacity(events.len()),
            envelopes: Vec::with_capacity(events.len()),
        };
        for event in events {
            let id = Uuid::now_v7();
            rows.types.push(event.event_type.to_owned());
            rows.envelopes
                .push(event.into_envelope(self.producer, id, now).encode_to_vec());
            rows.ids.push(id);
        }
        rows
    }

    /// Tells the relay of this process that events were committed, so it publishes them
    /// now rather than at its next poll. Optional: the relay polls anyway.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The kit's migrations (outbox, inbox), in order: put them first in the service's
/// migrator.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(Migration), Box::new(ReplaysMigration)]
}

/// The migration creating the outbox tables.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_egide_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE egide_outbox (
                    id            BIGSERIAL PRIMARY KEY,
                    event_id      UUID NOT NULL UNIQUE,
                    event_type    TEXT NOT NULL,
                    envelope      BYTEA NOT NULL,
                    producer_seq  BIGINT UNIQUE,
                    published_at  TIMESTAMPTZ,
                    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
                );
                CREATE INDEX egide_outbox_unsequenced ON egide_outbox (id) WHERE producer_seq IS NULL;
                CREATE INDEX egide_outbox_unpublished ON egide_outbox (producer_seq)
                    WHERE published_at IS NULL AND producer_seq IS NOT NULL;
                CREATE TABLE egide_outbox_state (
                    producer     TEXT PRIMARY KEY,
                    last_seq     BIGINT NOT NULL DEFAULT 0,
                    audited_seq  BIGINT NOT NULL DEFAULT 0
                );
                CREATE TABLE egide_inbox (
                    consumer     TEXT NOT NULL,
                    event_id     UUID NOT NULL,
                    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (consumer, event_id)
                );",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TABLE egide_inbox; DROP TABLE egide_outbox_state; DROP TABLE egide_outbox;",
            )
            .await?;
        Ok(())
    }
}

/// Counts how often a row was replayed, so that a replay gets its own `Nats-Msg-Id`:
/// JetStream would otherwise drop it as a duplicate for its whole duplicate window.
#[derive(Debug)]
pub struct ReplaysMigration;

impl MigrationName for ReplaysMigration {
    fn name(&self) -> &str {
        "m20261122_000101_egide_outbox_replays"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ReplaysMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE egide_outbox ADD COLUMN replays INTEGER NOT NULL DEFAULT 0",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE egide_outbox DROP COLUMN replays")
            .await?;
        Ok(())
    }
}

/// The `Nats-Msg-Id` of a row: the event id, suffixed by the replay count once replayed.
fn message_id(event_id: Uuid, replays: i32) -> String {
    if replays == 0 {
        event_id.to_string()
    } else {
        format!("{event_id}:r{replays}")
    }
}

/// Publishes committed outbox rows to JetStream.
pub struct Relay {
    db: DatabaseConnection,
    nats: async_nats::Client,
    js: jetstream::Context,
    stream: String,
    outbox: Outbox,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("producer", &self.outbox.producer)
            .finish()
    }
}

/// Counters of one relay round.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundStats {
    /// Rows that got a sequence number.
    pub sequenced: u64,
    /// Rows published and acknowledged.
    pub published: u64,
}

impl Relay {
    /// A relay for `outbox`, publishing into `stream`.
    pub fn new(
        db: DatabaseConnection,
        nats: async_nats::Client,
        stream: &str,
        outbox: Outbox,
    ) -> Self {
        let js = jetstream::new(nats.clone());
        Self {
            db,
            nats,
            js,
            stream: stream.to_owned(),
            outbox,
        }
    }

    /// Runs until `shutdown`, then makes one last bounded attempt to publish what is left.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        tokio::spawn(Arc::clone(&this).serve_control(shutdown.clone()));
        let mut backoff = Duration::from_millis(100);
        let mut stream_ready = false;
        loop {
            if !stream_ready {
                match crate::nats::ensure_stream(&this.js, &this.stream).await {
                    Ok(_) => stream_ready = true,
                    Err(error) => {
                        tracing::warn!(%error, "event stream not available yet");
                    }
                }
            }
            let idle = if stream_ready {
                match tokio::time::timeout(Duration::from_secs(30), this.round()).await {
                    Ok(Ok(stats)) => {
                        backoff = Duration::from_millis(100);
                        stats.published < BATCH as u64 && stats.sequenced < BATCH as u64
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(%error, retry_in = ?backoff, "outbox relay round failed");
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        true
                    }
                    Err(_) => {
                        tracing::warn!("outbox relay round timed out");
                        true
                    }
                }
            } else {
                backoff = (backoff * 2).min(Duration::from_secs(5));
                true
            };
            if idle {
                let pause = if stream_ready && backoff <= Duration::from_millis(100) {
                    Duration::from_millis(50)
                } else {
                    backoff
                };
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = this.outbox.wake.notified() => {}
                    _ = tokio::time::sleep(pause) => {}
                }
            } else if shutdown.is_cancelled() {
                break;
            }
        }
        // Flush: whatever was committed before shutdown gets one more chance now.
        match tokio::time::timeout(Duration::from_secs(5), this.round()).await {
            Ok(Ok(stats)) => tracing::info!(published = stats.published, "outbox flushed"),
            _ => tracing::warn!("outbox not fully flushed; the next start publishes the rest"),
        }
    }

    /// One round: sequence new rows, publish unpublished ones, mark them.
    pub async fn round(&self) -> anyhow::Result<RoundStats> {
        let sequenced = self.assign_sequence().await?;
        let published = self.publish_pending().await?;
        Ok(RoundStats {
            sequenced,
            published,
        })
    }

    async fn assign_sequence(&self) -> Result<u64, DbErr> {
        // The common idle case costs one index probe, not a locking transaction.
        let pending = self
            .db
            .query_one(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT 1 AS one FROM egide_outbox WHERE producer_seq IS NULL LIMIT 1",
            ))
            .await?;
        if pending.is_none() {
            return Ok(0);
        }
        let txn = self.db.begin().await?;
        let backend = txn.get_database_backend();
        let producer = self.outbox.producer;
        txn.execute(Statement::from_sql_and_values(
            backend,
            "INSERT INTO egide_outbox_state (producer) VALUES ($1) ON CONFLICT DO NOTHING",
            [producer.into()],
        ))
        .await?;
        let last: i64 = txn
            .query_one(Statement::from_sql_and_values(
                backend,
                "SELECT last_seq FROM egide_outbox_state WHERE producer = $1 FOR UPDATE",
                [producer.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("outbox state".into()))?
            .try_get("", "last_seq")?;
        let result = txn
            .execute(Statement::from_sql_and_values(
                backend,
                "WITH batch AS (
                     SELECT id, $1::bigint + row_number() OVER (ORDER BY id) AS seq
                     FROM (SELECT id FROM egide_outbox WHERE producer_seq IS NULL
                           ORDER BY id LIMIT $2 FOR UPDATE) b)
                 UPDATE egide_outbox o SET producer_seq = batch.seq
                 FROM batch WHERE o.id = batch.id",
                [last.into(), BATCH.into()],
            ))
            .await?;
        let n = result.rows_affected();
        if n > 0 {
            let n_i64 = i64::try_from(n).map_err(|e| DbErr::Custom(e.to_string()))?;
            txn.execute(Statement::from_sql_and_values(
                backend,
                "UPDATE egide_outbox_state SET last_seq = $2 WHERE producer = $1",
                [producer.into(), (last + n_i64).into()],
            ))
            .await?;
        }
        txn.commit().await?;
        Ok(n)
    }

    async fn publish_pending(&self) -> anyhow::Result<u64> {
        let rows = self
            .db
            .query_all(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "SELECT producer_seq, event_id, event_type, envelope, replays FROM egide_outbox
                 WHERE published_at IS NULL AND producer_seq IS NOT NULL
                 ORDER BY producer_seq LIMIT $1",
                [BATCH.into()],
            ))
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq: i64 = row.try_get("", "producer_seq")?;
            let event_id: Uuid = row.try_get("", "event_id")?;
            let event_type: String = row.try_get("", "event_type")?;
            let bytes: Vec<u8> = row.try_get("", "envelope")?;
            let replays: i32 = row.try_get("", "replays")?;
            let mut envelope = EventEnvelope::decode(bytes.as_slice())?;
            envelope.producer_seq = u64::try_from(seq)?;
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", message_id(event_id, replays).as_str());
            let ack = self
                .js
                .publish_with_headers(event_type, headers, envelope.encode_to_vec().into())
                .await?;
            pending.push((seq, ack));
        }
        let mut acked = Vec::with_capacity(pending.len());
        let mut failure = None;
        let results = futures::stream::iter(pending)
            .map(|(seq, ack)| async move { (seq, ack.await) })
            .buffered(usize::MAX)
            .collect::<Vec<_>>()
            .await;
        for (seq, result) in results {
            match result {
                Ok(_) => acked.push(seq),
                Err(error) => {
                    failure.get_or_insert(error);
                }
            }
        }
        if !acked.is_empty() {
            self.db
                .execute(Statement::from_sql_and_values(
                    self.db.get_database_backend(),
                    "UPDATE egide_outbox SET published_at = now() WHERE producer_seq = ANY($1::bigint[])",
                    [Value::from(acked.clone())],
                ))
                .await?;
        }
        match failure {
            Some(error) => Err(anyhow::anyhow!("publish not acknowledged: {error}")),
            None => Ok(acked.len() as u64),
        }
    }

    /// Answers replay requests, applies the latest audit watermark (at most once per
    /// [`PRUNE_EVERY`]) and announces the producer's head every [`HEAD_EVERY`].
    async fn serve_control(self: Arc<Self>, shutdown: CancellationToken) {
        let producer = self.outbox.producer;
        let (mut replays, mut watermarks) = match (
            self.nats.subscribe(replay_subject(producer)).await,
            self.nats.subscribe(watermark_subject(producer)).await,
        ) {
            (Ok(r), Ok(w)) => (r, w),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "cannot subscribe to outbox control subjects");
                return;
            }
        };
        let mut latest_watermark: Option<i64> = None;
        let mut prune_tick = tokio::time::interval(PRUNE_EVERY);
        let mut head_tick = tokio::time::interval(HEAD_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                Some(msg) = replays.next() => {
                    let answer = match parse_range(&msg.payload) {
                        Some((from, to)) => match self.replay(from, to).await {
                            Ok(n) => { self.outbox.wake(); n.to_string() }
                            Err(error) => { tracing::warn!(%error, "replay failed"); "error".into() }
                        },
                        None => "bad request".into(),
                    };
                    if let Some(reply) = msg.reply {
                        let _ = self.nats.publish(reply, answer.into()).await;
                    }
                }
                Some(msg) = watermarks.next() => {
                    // Only remembered here: pruning after every consumer chunk would cost
                    // the database more than publishing does.
                    if let Some(seq) = std::str::from_utf8(&msg.payload).ok().and_then(|s| s.trim().parse::<i64>().ok()) {
                        latest_watermark = Some(latest_watermark.map_or(seq, |w| w.max(seq)));
                    }
                }
                _ = prune_tick.tick() => {
                    if let Some(seq) = latest_watermark.take()
                        && let Err(error) = self.prune(seq).await
                    {
                        tracing::warn!(%error, "outbox prune failed");
                        latest_watermark = Some(seq);
                    }
                }
                _ = head_tick.tick() => {
                    if let Err(error) = self.announce_head().await {
                        tracing::debug!(%error, "head not announced");
                    }
                }
            }
        }
    }

    /// Tells the audit log the highest sequence published more than [`HEAD_EVERY`] ago, so
    /// that it notices events lost at the very end of the stream (no later event would
    /// reveal that gap).
    async fn announce_head(&self) -> anyhow::Result<()> {
        let row = self
            .db
            .query_one(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "SELECT COALESCE(MAX(producer_seq), 0) AS head FROM egide_outbox
                 WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1)",
                [HEAD_EVERY.as_secs_f64().into()],
            ))
            .await?;
        let head: i64 = match row {
            Some(r) => r.try_get("", "head")?,
            None => 0,
        };
        if head > 0 {
            self.nats
                .publish(head_subject(self.outbox.producer), head.to_string().into())
                .await?;
        }
        Ok(())
    }

    /// Marks rows `from..=to` unpublished so that the next round publishes them again.
    /// Returns how many rows were found (fewer than asked means some were pruned).
    pub async fn replay(&self, from: i64, to: i64) -> Result<u64, DbErr> {
        tracing::info!(from, to, "replay requested");
        let r = self
            .db
            .execute(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "UPDATE egide_outbox SET published_at = NULL, replays = replays + 1
                 WHERE producer_seq BETWEEN $1 AND $2 AND published_at IS NOT NULL",
                [from.into(), to.into()],
            ))
            .await?;
        Ok(r.rows_affected())
    }

    /// Deletes published rows the audit log holds (every seq up to `audited`).
    pub async fn prune(&self, audited: i64) -> Result<u64, DbErr> {
        let backend = self.db.get_database_backend();
        self.db
            .execute(Statement::from_sql_and_values(
                backend,
                "UPDATE egide_outbox_state SET audited_seq = GREATEST(audited_seq, $2) WHERE producer = $1",
                [self.outbox.producer.into(), audited.into()],
            ))
            .await?;
        let r = self
            .db
            .execute(Statement::from_sql_and_values(
                backend,
                "DELETE FROM egide_outbox WHERE producer_seq <= $1 AND published_at IS NOT NULL",
                [audited.into()],
            ))
            .await?;
        Ok(r.rows_affected())
    }
}

fn parse_range(payload: &[u8]) -> Option<(i64, i64)> {
    let s = std::str::from_utf8(payload).ok()?;
    let (a, b) = s.trim().split_once(' ')?;
    let (from, to) = (a.parse().ok()?, b.trim().parse().ok()?);
    (1 <= from && from <= to).then_some((from, to))
}

#[cfg(test)]
mod tests {
    #[test]
    fn replay_ranges_are_parsed_strictly() {
        assert_eq!(super::parse_range(b"3 9"), Some((3, 9)));
        assert_eq!(super::parse_range(b"9 3"), None);
        assert_eq!(super::parse_range(b"0 3"), None);
        assert_eq!(super::parse_range(b"x"), None);
        assert_eq!(super::parse_range(&[0xff, 0x20, 0x31]), None);
    }
}
