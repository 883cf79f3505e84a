//! Who may log in, read from enrolment's events (never from its tables): wallets and
//! professionals (`owners`) and their device keys (`login_keys`). When one of them stops
//! being live, every session depending on it is revoked in the same transaction, and the
//! `egide.auth.session.revoked` events leave through the outbox.

use egide_kit::{
    consumer::{Delivered, Handler},
    events::{NewEvent, Payload},
    outbox::Outbox,
};
use egide_proto::enrolment::v1::{self as enrolment, device_changed::Owner};
use futures::future::BoxFuture;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, Value};
use uuid::Uuid;

use crate::sessions;

/// The subjects auth follows.
pub const FILTER: &str = "egide.enrolment.>";

/// The consumer's handler.
#[derive(Clone, Debug)]
pub struct ReadModel {
    outbox: Outbox,
    access_ttl: std::time::Duration,
    peers: crate::peers::Peers,
}

impl ReadModel {
    pub fn new(
        outbox: Outbox,
        access_ttl: std::time::Duration,
        peers: crate::peers::Peers,
    ) -> Self {
        Self {
            outbox,
            access_ttl,
            peers,
        }
    }
}

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Why a wallet in this state may not log in (`None`: it may).
fn wallet_stop(state: enrolment::WalletState) -> Option<&'static str> {
    use enrolment::WalletState as S;
    match state {
        S::Active => None,
        S::Suspended => Some("wallet_suspended"),
        S::Closed => Some("wallet_closed"),
        S::Expired => Some("wallet_expired"),
        S::Unspecified | S::PendingEmail | S::PendingProofing | S::PendingDevice => {
            Some("wallet_not_active")
        }
    }
}

/// Why a professional may not log in with an e-CPS device (`None`: they may).
fn professional_stop(active: bool, ecps: enrolment::EcpsState) -> Option<&'static str> {
    if !active {
        Some("professional_deactivated")
    } else if ecps != enrolment::EcpsState::Active {
        Some("ecps_not_active")
    } else {
        None
    }
}

impl ReadModel {
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        event: &Delivered,
        out: &mut Vec<NewEvent>,
    ) -> Result<(), sea_orm::DbErr> {
        let seq = event.envelope.producer_seq as i64;
        match &event.envelope.payload {
            Some(Payload::WalletChanged(w)) => {
                let Ok(id) = Uuid::parse_str(&w.wallet_id) else {
                    return Ok(());
                };
                let state = w.state();
                self.set_owner(
                    txn,
                    &format!("wallet:{id}"),
                    wallet_stop(state),
                    state.as_str_name(),
                    &w.ins_digest,
                    seq,
                    out,
                )
                .await
            }
            Some(Payload::ProfessionalChanged(p)) => {
                // Card logins ask enrolment again rather than trust a cached answer.
                self.peers.forget(&p.id_nat_ps);
                let ecps = p.ecps_state();
                self.set_owner(
                    txn,
                    &format!("ps:{}", p.id_nat_ps),
                    professional_stop(p.active, ecps),
                    ecps.as_str_name(),
                    "",
                    seq,
                    out,
                )
                .await
            }
            Some(Payload::DeviceChanged(d)) => {
                self.device(txn, d, &event.envelope.event_type, out).await
            }
            _ => Ok(()),
        }
    }

    /// Records the owner's state (unless a newer event already did) and revokes its
    /// sessions when it stopped being live.
    #[allow(clippy::too_many_arguments)]
    async fn set_owner(
        &self,
        txn: &DatabaseTransaction,
        owner: &str,
        stop: Option<&'static str>,
        state: &str,
        ins_digest: &str,
        seq: i64,
        out: &mut Vec<NewEvent>,
    ) -> Result<(), sea_orm::DbErr> {
        let applied = txn
            .execute(stmt(
                "INSERT INTO owners (owner, live, state, ins_digest, source_seq) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (owner) DO UPDATE SET live = EXCLUDED.live, state = EXCLUDED.state, \
                 ins_digest = CASE WHEN EXCLUDED.ins_digest = '' THEN owners.ins_digest ELSE EXCLUDED.ins_digest END, \
                 source_seq = EXCLUDED.source_seq, updated_at = now() \
                 WHERE owners.source_seq < EXCLUDED.source_seq",
                [owner.into(), stop.is_none().into(), state.into(), ins_digest.into(), seq.into()],
            ))
            .await?
            .rows_affected();
        if let (1, Some(reason)) = (applied, stop) {
            // An e-CPS that stops working takes its device sessions only: the professional's
            // CPS card sessions live on while the directory lists them.
            let condition = if reason == "ecps_not_active" {
                "owner = $1 AND device_id IS NOT NULL"
            } else {
                "owner = $1"
            };
            out.extend(
                sessions::end_where(
                    txn,
                    condition,
                    owner.into(),
                    sessions::REVOKED,
                    reason,
                    self.access_ttl,
                )
                .await?,
            );
        }
        Ok(())
    }

    async fn device(
        &self,
        txn: &DatabaseTransaction,
        d: &enrolment::DeviceChanged,
        event_type: &str,
        out: &mut Vec<NewEvent>,
    ) -> Result<(), sea_orm::DbErr> {
        let owner = match &d.owner {
            Some(Owner::WalletId(w)) => format!("wallet:{w}"),
            Some(Owner::IdNatPs(p)) => format!("ps:{p}"),
            None => return Ok(()),
        };
        let Some(device) = &d.device else {
            return Ok(());
        };
        let Ok(device_id) = Uuid::parse_str(&device.id) else {
            return Ok(());
        };
        let revoked = event_type.ends_with(".revoked") || device.revoked_at.is_some();
        // A revocation is final: a late `registered` never brings the key back.
        txn.execute(stmt(
            "INSERT INTO login_keys (device_id, owner, algorithm, public_key, revoked_at) \
             VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END) \
             ON CONFLICT (device_id) DO UPDATE SET \
             revoked_at = COALESCE(login_keys.revoked_at, EXCLUDED.revoked_at), updated_at = now()",
            [
                device_id.into(),
                owner.into(),
                device.algorithm.clone().into(),
                device.public_key.clone().into(),
                revoked.into(),
            ],
        ))
        .await?;
        if revoked {
            out.extend(
                sessions::end_where(
                    txn,
                    "device_id = $1",
                    device_id.into(),
                    sessions::REVOKED,
                    "device_revoked",
                    self.access_ttl,
                )
                .await?,
            );
        }
        Ok(())
    }
}

impl Handler for ReadModel {
    fn handle<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        events: &'a [Delivered],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for event in events {
                self.apply(txn, event, &mut out).await?;
            }
            if !out.is_empty() {
                self.outbox.enqueue_many(txn, out).await?;
            }
            Ok(())
        })
    }

    fn committed<'a>(&'a self, _events: &'a [Delivered]) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.outbox.wake() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_active_wallet_and_an_active_ecps_may_log_in() {
        use enrolment::{EcpsState as E, WalletState as W};
        assert_eq!(wallet_stop(W::Active), None);
        assert_eq!(wallet_stop(W::Suspended), Some("wallet_suspended"));
        assert_eq!(wallet_stop(W::Closed), Some("wallet_closed"));
        assert_eq!(wallet_stop(W::PendingDevice), Some("wallet_not_active"));
        assert_eq!(professional_stop(true, E::Active), None);
        assert_eq!(
            professional_stop(false, E::Active),
            Some("professional_deactivated")
        );
        assert_eq!(
            professional_stop(true, E::Inactive),
            Some("ecps_not_active")
        );
    }
}
