//! Appends consumed events to the log.

use std::{
    collections::{BTreeMap, HashSet},
    sync::Mutex,
};

use egide_kit::consumer::{Delivered, Handler};
use futures::future::BoxFuture;
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement, Value};

use crate::store;

/// The consumer handler: one transaction per chunk.
#[derive(Debug)]
pub struct Ingest {
    nats: async_nats::Client,
    /// Watermarks computed by the last `handle`, published once its transaction commits.
    watermarks: Mutex<BTreeMap<String, i64>>,
}

impl Ingest {
    /// A handler that reports watermarks over `nats`.
    pub fn new(nats: async_nats::Client) -> Self {
        Self {
            nats,
            watermarks: Mutex::default(),
        }
    }

    fn set_watermarks(&self, marks: BTreeMap<String, i64>) {
        match self.watermarks.lock() {
            Ok(mut w) => *w = marks,
            Err(poisoned) => *poisoned.into_inner() = marks,
        }
    }

    fn take_watermarks(&self) -> BTreeMap<String, i64> {
        match self.watermarks.lock() {
            Ok(mut w) => std::mem::take(&mut *w),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl Handler for Ingest {
    fn handle<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        events: &'a [Delivered],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            // A failed transaction must never publish the watermarks it computed.
            self.set_watermarks(BTreeMap::new());
            let marks = append(txn, events).await?;
            self.set_watermarks(marks);
            Ok(())
        })
    }

    fn committed<'a>(&'a self, _events: &'a [Delivered]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            for (producer, seq) in self.take_watermarks() {
                let subject = egide_kit::outbox::watermark_subject(&producer);
                if let Err(error) = self.nats.publish(subject, seq.to_string().into()).await {
                    tracing::debug!(%error, "watermark not sent; the gap watch resends it");
                }
            }
        })
    }
}

/// Appends the events not in the log yet; returns the new contiguous watermark of each
/// producer the chunk touched.
async fn append(
    txn: &DatabaseTransaction,
    events: &[Delivered],
) -> anyhow::Result<BTreeMap<String, i64>> {
    let backend = txn.get_database_backend();
    // Structurally invalid envelopes cannot be placed in a producer's sequence.
    let valid: Vec<&Delivered> = events
        .iter()
        .filter(|e| {
            let ok = !e.envelope.producer.is_empty()
                && e.envelope.producer_seq > 0
                && i64::try_from(e.envelope.producer_seq).is_ok()
                && e.envelope.occurred_at.as_ref().and_then(egide_kit::events::from_timestamp).is_some();
            if !ok {
                tracing::error!(event_id = %e.event_id, "event without producer, sequence or time: not logged");
            }
            ok
        })
        .collect();
    if valid.is_empty() {
        return Ok(BTreeMap::new());
    }
    let last: i64 = txn
        .query_one(Statement::from_string(
            backend,
            "SELECT last_index FROM audit_log_head FOR UPDATE",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("audit_log_head is empty"))?
        .try_get("", "last_index")?;

    // Redeliveries: anything whose (producer, seq) is logged already.
    let producers: Vec<String> = valid.iter().map(|e| e.envelope.producer.clone()).collect();
    let seqs: Vec<i64> = valid
        .iter()
        .map(|e| e.envelope.producer_seq as i64)
        .collect();
    let known: HashSet<(String, i64)> = txn
        .query_all(Statement::from_sql_and_values(
            backend,
            "SELECT e.producer, e.producer_seq FROM audit_events e
             JOIN unnest($1::text[], $2::bigint[]) AS t(p, s)
               ON e.producer = t.p AND e.producer_seq = t.s",
            [Value::from(producers), Value::from(seqs)],
        ))
        .await?
        .iter()
        .filter_map(|r| {
            Some((
                r.try_get("", "producer").ok()?,
                r.try_get("", "producer_seq").ok()?,
            ))
        })
        .collect();
    let mut seen = HashSet::new();
    let fresh: Vec<&Delivered> = valid
        .into_iter()
        .filter(|e| {
            let key = (e.envelope.producer.clone(), e.envelope.producer_seq as i64);
            !known.contains(&key) && seen.insert(key)
        })
        .collect();
    if fresh.is_empty() {
        return Ok(BTreeMap::new());
    }

    let n = fresh.len() as i64;
    let rows = store::NewRows::from_events(&fresh, last);
    rows.insert(txn).await?;
    txn.execute(Statement::from_sql_and_values(
        backend,
        "UPDATE audit_log_head SET last_index = $1",
        [(last + n).into()],
    ))
    .await?;

    let mut touched: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for e in &fresh {
        let entry = touched.entry(e.envelope.producer.clone()).or_insert((0, 0));
        entry.0 = entry.0.max(e.envelope.producer_seq as i64);
        entry.1 += 1;
    }
    let mut marks = BTreeMap::new();
    for (producer, (highest, added)) in touched {
        let contiguous = store::advance_producer(txn, &producer, highest, added).await?;
        marks.insert(producer, contiguous);
    }
    Ok(marks)
}
