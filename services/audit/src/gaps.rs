//! Watches for gaps that last and asks their producers to replay; re-sends watermarks so
//! that a restarted producer learns what the log holds.

use std::time::Duration;

use sea_orm::{DatabaseConnection, EntityTrait};
use tokio_util::sync::CancellationToken;

use crate::store::events::producer_entity;

/// How long a gap may stay open before a replay is requested.
pub const GAP_GRACE: Duration = Duration::from_secs(3);

/// The largest range asked in one replay request.
const MAX_REPLAY: i64 = 10_000;

/// Runs until `shutdown`.
pub async fn watch(db: DatabaseConnection, nats: async_nats::Client, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        if let Err(error) = tick(&db, &nats).await {
            tracing::warn!(%error, "gap watch failed");
        }
    }
}

async fn tick(db: &DatabaseConnection, nats: &async_nats::Client) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    for p in producer_entity::Entity::find().all(db).await? {
        let _ = nats
            .publish(
                egide_kit::outbox::watermark_subject(&p.producer),
                p.contiguous_seq.to_string().into(),
            )
            .await;
        let lasting = p.gap_since.is_some_and(|since| {
            now - since > chrono::Duration::from_std(GAP_GRACE).unwrap_or_default()
        });
        if p.missing > 0 && lasting {
            let from = p.contiguous_seq + 1;
            let to = p.highest_seq.min(from + MAX_REPLAY - 1);
            tracing::warn!(producer = %p.producer, from, to, missing = p.missing, "gap: asking for a replay");
            let request = nats.request(
                egide_kit::outbox::replay_subject(&p.producer),
                format!("{from} {to}").into(),
            );
            match tokio::time::timeout(Duration::from_secs(5), request).await {
                Ok(Ok(answer)) => {
                    tracing::info!(producer = %p.producer, answer = %String::from_utf8_lossy(&answer.payload), "replay answered");
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, producer = %p.producer, "replay request failed")
                }
                Err(_) => tracing::warn!(producer = %p.producer, "replay request timed out"),
            }
        }
    }
    Ok(())
}
