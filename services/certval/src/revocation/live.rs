//! Revocations by event: every replica follows `egide.certval.certificate.revoked` on
//! NATS (core subscription: each replica gets each event, within milliseconds of the
//! outbox relay publishing it) and reads the `revocations` table back periodically for
//! what it missed while NATS was away.

use std::{sync::Arc, time::Duration};

use egide_kit::events::{EventEnvelope, Payload};
use egide_proto::certval::v1::CertificateRevoked;
use futures::StreamExt as _;
use prost::Message as _;
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::{Revocations, Revoked};
use crate::store;

/// The event's subject.
pub const SUBJECT: &str = "egide.certval.certificate.revoked";

/// Records every stored revocation after `seq`; returns the new cursor.
pub async fn sync(
    db: &DatabaseConnection,
    state: &Revocations,
    mut seq: i64,
) -> Result<i64, sea_orm::DbErr> {
    loop {
        let rows = store::revocations_after(db, seq).await?;
        if rows.is_empty() {
            return Ok(seq);
        }
        for row in rows {
            seq = row.recorded_seq;
            state.record(
                row.issuer_name_sha256,
                row.serial_hex,
                Revoked {
                    reason: row.reason,
                    at: from_chrono(row.revoked_at),
                },
            );
        }
    }
}

/// Applies a revocation event's payload.
pub fn apply(state: &Revocations, event: &CertificateRevoked) -> bool {
    let at = event
        .revoked_at
        .as_ref()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.seconds).ok())
        .unwrap_or_else(OffsetDateTime::now_utc);
    state.record(
        event.issuer_name_sha256.clone(),
        event.serial_hex.clone(),
        Revoked {
            reason: event.reason.clone(),
            at,
        },
    )
}

/// Follows revocation events and the table until shutdown.
pub async fn follow(
    nats: async_nats::Client,
    db: DatabaseConnection,
    state: Arc<Revocations>,
    mut seq: i64,
    resync: Duration,
    shutdown: CancellationToken,
) {
    let mut events = loop {
        match nats.subscribe(SUBJECT).await {
            Ok(s) => break Some(s),
            Err(error) => {
                tracing::warn!(%error, "cannot subscribe to revocation events; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    let mut tick = tokio::time::interval(resync);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            message = async { match events.as_mut() { Some(s) => s.next().await, None => std::future::pending().await } } => {
                let Some(message) = message else { events = None; continue };
                match EventEnvelope::decode(message.payload.as_ref()) {
                    Ok(EventEnvelope { payload: Some(Payload::CertificateRevoked(event)), .. }) => {
                        if apply(&state, &event) {
                            tracing::info!(serial = %event.serial_hex, issuer = %event.issuer, "revocation event applied");
                        }
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "undecodable revocation event"),
                }
            }
            _ = tick.tick() => {
                match sync(&db, &state, seq).await {
                    Ok(s) => seq = s,
                    Err(error) => tracing::warn!(%error, "revocations read-back failed"),
                }
            }
        }
    }
}

/// `chrono` to `time`.
pub fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.timestamp())
        .map(|d| d + time::Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos())))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
