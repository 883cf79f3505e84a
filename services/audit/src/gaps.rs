//! Watches for gaps that last and asks their producers to replay exactly the missing
//! ranges; learns producers' heads (so that events lost at the end of the stream count as
//! missing too); re-sends watermarks so that a restarted producer learns what the log holds.

use std::time::Duration;

use futures::StreamExt as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Statement};
use tokio_util::sync::CancellationToken;

use crate::store::events::producer_entity;

/// How long a gap may stay open before a replay is requested.
pub const GAP_GRACE: Duration = Duration::from_secs(3);

/// The largest range asked in one replay request, and how many ranges per producer and
/// round.
const MAX_REPLAY: i64 = 10_000;
const MAX_RANGES: i64 = 16;

/// Runs until `shutdown`.
pub async fn watch(db: DatabaseConnection, nats: async_nats::Client, shutdown: CancellationToken) {
    let mut heads = match nats.subscribe(egide_kit::outbox::HEAD_SUBJECTS).await {
        Ok(s) => Some(s),
        Err(error) => {
            tracing::error!(%error, "cannot subscribe to producer heads");
            None
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            Some(msg) = async { match heads.as_mut() { Some(h) => h.next().await, None => std::future::pending().await } } => {
                if let Some((producer, head)) = parse_head(&msg.subject, &msg.payload)
                    && let Err(error) = record_head(&db, producer, head).await
                {
                    tracing::warn!(%error, "producer head not recorded");
                }
            }
            _ = tick.tick() => {
                if let Err(error) = round(&db, &nats).await {
                    tracing::warn!(%error, "gap watch failed");
                }
            }
        }
    }
}

/// `(producer, head)` from `_EGIDE.outbox.<producer>.head` and its payload.
fn parse_head<'a>(subject: &'a str, payload: &[u8]) -> Option<(&'a str, i64)> {
    let producer = subject
        .strip_prefix("_EGIDE.outbox.")?
        .strip_suffix(".head")?;
    let head = std::str::from_utf8(payload).ok()?.trim().parse().ok()?;
    (!producer.is_empty() && !producer.contains('.') && head > 0).then_some((producer, head))
}

/// A head above what the log has seen means events the log never received: they count as
/// missing from now on, like any other gap.
async fn record_head(
    db: &DatabaseConnection,
    producer: &str,
    head: i64,
) -> Result<(), sea_orm::DbErr> {
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO audit_producers (producer, highest_seq, missing, gap_since)
         VALUES ($1, $2, $2, now())
         ON CONFLICT (producer) DO UPDATE SET
           missing = audit_producers.missing
                     + GREATEST(EXCLUDED.highest_seq - audit_producers.highest_seq, 0),
           gap_since = CASE WHEN EXCLUDED.highest_seq > audit_producers.highest_seq
                            THEN COALESCE(audit_producers.gap_since, now())
                            ELSE audit_producers.gap_since END,
           highest_seq = GREATEST(audit_producers.highest_seq, EXCLUDED.highest_seq)",
        [producer.into(), head.into()],
    ))
    .await?;
    Ok(())
}

async fn round(db: &DatabaseConnection, nats: &async_nats::Client) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let grace = chrono::Duration::from_std(GAP_GRACE)?;
    for p in producer_entity::Entity::find().all(db).await? {
        let _ = nats
            .publish(
                egide_kit::outbox::watermark_subject(&p.producer),
                p.contiguous_seq.to_string().into(),
            )
            .await;
        let lasting = p.gap_since.is_some_and(|since| now - since > grace);
        if p.missing == 0 || !lasting {
            continue;
        }
        for (from, to) in missing_ranges(db, &p.producer).await? {
            tracing::warn!(producer = %p.producer, from, to, "gap: asking for a replay");
            let request = nats.request(
                egide_kit::outbox::replay_subject(&p.producer),
                format!("{from} {to}").into(),
            );
            match tokio::time::timeout(Duration::from_secs(5), request).await {
                Ok(Ok(answer)) => tracing::info!(
                    producer = %p.producer,
                    rows = %String::from_utf8_lossy(&answer.payload),
                    "replay answered"
                ),
                Ok(Err(error)) => {
                    tracing::warn!(%error, producer = %p.producer, "replay request failed")
                }
                Err(_) => tracing::warn!(producer = %p.producer, "replay request timed out"),
            }
        }
    }
    Ok(())
}

/// The ranges of sequence numbers missing between the producer's watermark and its highest
/// known sequence (gaps and islands, with the watermark and `highest + 1` as sentinels).
async fn missing_ranges(
    db: &DatabaseConnection,
    producer: &str,
) -> Result<Vec<(i64, i64)>, sea_orm::DbErr> {
    let rows = db
        .query_all(Statement::from_sql_and_values(
            db.get_database_backend(),
            "WITH p AS (SELECT contiguous_seq AS c, highest_seq AS h
                        FROM audit_producers WHERE producer = $1),
                  s AS (SELECT c AS seq FROM p
                        UNION ALL
                        SELECT e.producer_seq FROM audit_events e, p
                        WHERE e.producer = $1 AND e.producer_seq > p.c
                        UNION ALL
                        SELECT h + 1 FROM p),
                  g AS (SELECT seq, lead(seq) OVER (ORDER BY seq) AS next FROM s)
             SELECT seq + 1 AS first, next - 1 AS last FROM g
             WHERE next > seq + 1 ORDER BY seq LIMIT $2",
            [producer.into(), MAX_RANGES.into()],
        ))
        .await?;
    let mut ranges = Vec::with_capacity(rows.len());
    for row in rows {
        let first: i64 = row.try_get("", "first")?;
        let last: i64 = row.try_get("", "last")?;
        ranges.push((first, last.min(first + MAX_REPLAY - 1)));
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::parse_head;

    #[test]
    fn heads_are_parsed_strictly() {
        assert_eq!(
            parse_head("_EGIDE.outbox.enrolment.head", b"42"),
            Some(("enrolment", 42))
        );
        assert_eq!(parse_head("_EGIDE.outbox.enrolment.head", b"0"), None);
        assert_eq!(parse_head("_EGIDE.outbox.a.b.head", b"1"), None);
        assert_eq!(parse_head("_EGIDE.outbox..head", b"1"), None);
        assert_eq!(parse_head("_EGIDE.other.enrolment.head", b"1"), None);
        assert_eq!(parse_head("_EGIDE.outbox.enrolment.head", b"x"), None);
    }
}
