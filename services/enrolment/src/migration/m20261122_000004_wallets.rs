//! Patients' wallets, professionals' e-CPS, devices, and the mail/SMS outbox.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE wallets (
                    id                   UUID PRIMARY KEY,
                    nir                  TEXT NOT NULL,
                    oid                  TEXT NOT NULL,
                    ins_digest           TEXT NOT NULL,
                    state                TEXT NOT NULL CHECK (state IN ('pending_email',
                                         'pending_proofing', 'pending_device', 'active',
                                         'suspended', 'closed', 'expired')),
                    email                TEXT NOT NULL,
                    created_at           TIMESTAMPTZ NOT NULL,
                    updated_at           TIMESTAMPTZ NOT NULL,
                    expires_at           TIMESTAMPTZ,
                    activated_at         TIMESTAMPTZ,
                    suspended_at         TIMESTAMPTZ,
                    suspension_reason    TEXT,
                    suspended_by         TEXT,
                    closed_at            TIMESTAMPTZ,
                    proofing_nonce       TEXT,
                    proofing_provider    TEXT,
                    proofing_level       TEXT,
                    proofing_method      TEXT,
                    proofed_at           TIMESTAMPTZ
                );
                -- At most one wallet per NIR that is neither closed nor expired.
                CREATE UNIQUE INDEX wallets_one_open_per_nir ON wallets (nir)
                    WHERE state NOT IN ('closed', 'expired');

                -- Failed enrolment starts per NIR (SHA-256 of the NIR), for throttling.
                CREATE TABLE enrolment_failures (
                    nir_hash  TEXT NOT NULL,
                    at        TIMESTAMPTZ NOT NULL
                );
                CREATE INDEX enrolment_failures_by_nir ON enrolment_failures (nir_hash, at);

                -- One-time codes: stored as SHA-256(owner || purpose || code), compared in
                -- constant time; one live code per owner and purpose.
                CREATE TABLE one_time_codes (
                    owner       TEXT NOT NULL,
                    purpose     TEXT NOT NULL,
                    code_hash   BYTEA NOT NULL,
                    expires_at  TIMESTAMPTZ NOT NULL,
                    attempts    INT NOT NULL DEFAULT 0,
                    sent        INT NOT NULL DEFAULT 1,
                    created_at  TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (owner, purpose)
                );

                -- Identity-proofing evidence, purged on the R161-33-18 schedule.
                CREATE TABLE proofing_evidence (
                    wallet_id     UUID PRIMARY KEY REFERENCES wallets (id),
                    provider      TEXT NOT NULL,
                    transaction   TEXT NOT NULL,
                    attestation   TEXT NOT NULL,
                    received_at   TIMESTAMPTZ NOT NULL,
                    purge_at      TIMESTAMPTZ NOT NULL
                );
                CREATE INDEX proofing_evidence_purge ON proofing_evidence (purge_at);

                CREATE TABLE ecps (
                    id_nat_ps     TEXT PRIMARY KEY,
                    state         TEXT NOT NULL CHECK (state IN ('pending_codes',
                                  'pending_device', 'active', 'inactive')),
                    email         TEXT,
                    phone         TEXT,
                    updated_at    TIMESTAMPTZ NOT NULL,
                    activated_at  TIMESTAMPTZ
                );

                CREATE TABLE professional_contacts (
                    id_nat_ps  TEXT PRIMARY KEY,
                    email      TEXT NOT NULL,
                    phone      TEXT NOT NULL,
                    set_by     TEXT NOT NULL,
                    set_at     TIMESTAMPTZ NOT NULL
                );

                CREATE TABLE devices (
                    id             UUID PRIMARY KEY,
                    wallet_id      UUID REFERENCES wallets (id),
                    id_nat_ps      TEXT,
                    algorithm      TEXT NOT NULL,
                    public_key     BYTEA NOT NULL,
                    thumbprint     TEXT NOT NULL,
                    label          TEXT NOT NULL,
                    registered_at  TIMESTAMPTZ NOT NULL,
                    revoked_at     TIMESTAMPTZ,
                    CHECK ((wallet_id IS NULL) <> (id_nat_ps IS NULL))
                );
                CREATE UNIQUE INDEX devices_live_key ON devices (thumbprint) WHERE revoked_at IS NULL;
                CREATE INDEX devices_by_wallet ON devices (wallet_id) WHERE wallet_id IS NOT NULL;
                CREATE INDEX devices_by_professional ON devices (id_nat_ps) WHERE id_nat_ps IS NOT NULL;

                CREATE TABLE device_challenges (
                    nonce       TEXT PRIMARY KEY,
                    owner       TEXT NOT NULL,
                    expires_at  TIMESTAMPTZ NOT NULL
                );

                -- Mail and SMS leave through this outbox, written in the same transaction as
                -- the state change; the body is erased once sent.
                CREATE TABLE outbound_messages (
                    id               UUID PRIMARY KEY,
                    channel          TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
                    recipient        TEXT NOT NULL,
                    subject          TEXT NOT NULL,
                    body             TEXT,
                    created_at       TIMESTAMPTZ NOT NULL,
                    attempts         INT NOT NULL DEFAULT 0,
                    next_attempt_at  TIMESTAMPTZ NOT NULL,
                    sent_at          TIMESTAMPTZ,
                    last_error       TEXT
                );
                CREATE INDEX outbound_messages_due ON outbound_messages (next_attempt_at)
                    WHERE sent_at IS NULL;",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TABLE outbound_messages, device_challenges, devices, professional_contacts,
                            ecps, proofing_evidence, one_time_codes, enrolment_failures, wallets;",
            )
            .await?;
        Ok(())
    }
}
