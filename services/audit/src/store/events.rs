//! `audit_events` and `audit_producers`.

use chrono::{DateTime, Utc};
use egide_kit::consumer::Delivered;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Statement, Value};

/// The sea-orm entity of `audit_events`.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// One logged event.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        /// Position in the log, gap-free from 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub log_index: i64,
        /// The event id.
        #[sea_orm(unique)]
        pub event_id: Uuid,
        /// The producing service.
        pub producer: String,
        /// The producer's sequence number.
        pub producer_seq: i64,
        /// The NATS subject / event type.
        pub event_type: String,
        /// When the producer committed it.
        pub occurred_at: ChronoDateTimeUtc,
        /// When the log stored it.
        pub received_at: ChronoDateTimeUtc,
        /// The envelope as received.
        pub envelope: Vec<u8>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The sea-orm entity of `audit_producers`.
pub mod producer_entity {
    use sea_orm::entity::prelude::*;

    /// The sequence state of one producer.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_producers")]
    pub struct Model {
        /// The producer.
        #[sea_orm(primary_key, auto_increment = false)]
        pub producer: String,
        /// Every seq up to this one is logged.
        pub contiguous_seq: i64,
        /// The highest seq logged.
        pub highest_seq: i64,
        /// Seqs missing between the two.
        pub missing: i64,
        /// Events logged.
        pub stored: i64,
        /// Since when a gap has been open.
        pub gap_since: Option<ChronoDateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Column arrays for one multi-row insert.
#[derive(Debug, Default)]
pub struct NewRows {
    log_index: Vec<i64>,
    event_id: Vec<uuid::Uuid>,
    producer: Vec<String>,
    producer_seq: Vec<i64>,
    event_type: Vec<String>,
    occurred_at: Vec<DateTime<Utc>>,
    envelope: Vec<Vec<u8>>,
}

impl NewRows {
    /// Rows for `events`, numbered from `last_index + 1`. Callers have checked that every
    /// event has a producer, a sequence number and a time.
    pub fn from_events(events: &[&Delivered], last_index: i64) -> Self {
        let mut rows = Self::default();
        for (i, e) in events.iter().enumerate() {
            rows.log_index.push(last_index + 1 + i as i64);
            rows.event_id.push(e.event_id);
            rows.producer.push(e.envelope.producer.clone());
            rows.producer_seq.push(e.envelope.producer_seq as i64);
            rows.event_type.push(e.envelope.event_type.clone());
            rows.occurred_at.push(
                e.envelope
                    .occurred_at
                    .as_ref()
                    .and_then(egide_kit::events::from_timestamp)
                    .unwrap_or_default(),
            );
            rows.envelope.push(e.raw.to_vec());
        }
        rows
    }

    /// Inserts them in one statement.
    pub async fn insert(self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        txn.execute(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "INSERT INTO audit_events
                (log_index, event_id, producer, producer_seq, event_type, occurred_at, received_at, envelope)
             SELECT i, id, p, s, t, o, now(), b
             FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[],
                         $6::timestamptz[], $7::bytea[]) AS r(i, id, p, s, t, o, b)",
            [
                Value::from(self.log_index),
                Value::from(self.event_id),
                Value::from(self.producer),
                Value::from(self.producer_seq),
                Value::from(self.event_type),
                Value::from(self.occurred_at),
                Value::from(self.envelope),
            ],
        ))
        .await?;
        Ok(())
    }
}

/// Records `added` new events of `producer` (highest seq among them: `highest`) and moves
/// its contiguous watermark as far as the log allows. Returns the new watermark.
pub async fn advance_producer(
    txn: &DatabaseTransaction,
    producer: &str,
    highest: i64,
    added: i64,
) -> Result<i64, DbErr> {
    let backend = txn.get_database_backend();
    txn.execute(Statement::from_sql_and_values(
        backend,
        "INSERT INTO audit_producers (producer, highest_seq, stored) VALUES ($1, $2, $3)
         ON CONFLICT (producer) DO UPDATE
           SET highest_seq = GREATEST(audit_producers.highest_seq, EXCLUDED.highest_seq),
               stored = audit_producers.stored + EXCLUDED.stored",
        [producer.into(), highest.into(), added.into()],
    ))
    .await?;
    // Gaps and islands: the rows right after the watermark with seq - rank equal to the
    // watermark form the island that extends it.
    let row = txn
        .query_one(Statement::from_sql_and_values(
            backend,
            "WITH p AS (SELECT contiguous_seq AS c FROM audit_producers WHERE producer = $1),
                  t AS (SELECT producer_seq,
                               producer_seq - row_number() OVER (ORDER BY producer_seq) AS d
                        FROM audit_events, p
                        WHERE producer = $1 AND producer_seq > p.c)
             SELECT COALESCE(MAX(producer_seq) FILTER (WHERE d = (SELECT c FROM p)), (SELECT c FROM p)) AS contiguous,
                    COUNT(*) FILTER (WHERE d <> (SELECT c FROM p)) AS beyond
             FROM t",
            [producer.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("producer".into()))?;
    let contiguous: i64 = row.try_get("", "contiguous")?;
    let beyond: i64 = row.try_get("", "beyond")?;
    txn.execute(Statement::from_sql_and_values(
        backend,
        "UPDATE audit_producers
            SET contiguous_seq = $2,
                missing = highest_seq - $2 - $3,
                gap_since = CASE WHEN highest_seq - $2 - $3 > 0 THEN COALESCE(gap_since, now()) END
          WHERE producer = $1",
        [producer.into(), contiguous.into(), beyond.into()],
    ))
    .await?;
    Ok(contiguous)
}
