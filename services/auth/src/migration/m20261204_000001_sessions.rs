//! Who may log in (read from enrolment's events), login challenges, sessions and refresh
//! tokens.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "-- Wallets and professionals as enrolment's events describe them. `owner` is
                -- `wallet:<id>` or `ps:<idNat_PS>`; `live` says whether it may log in now.
                -- `source_seq` is enrolment's producer_seq of the last event applied, so
                -- that a replayed older event never undoes a newer one.
                CREATE TABLE owners (
                    owner       TEXT PRIMARY KEY,
                    live        BOOLEAN NOT NULL,
                    state       TEXT NOT NULL,
                    -- For wallets: enrolment's keyed digest of the INS (event actors).
                    ins_digest  TEXT NOT NULL DEFAULT '',
                    source_seq  BIGINT NOT NULL,
                    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
                );

                -- Device keys that may log in for an owner. A revocation is final.
                CREATE TABLE login_keys (
                    device_id   UUID PRIMARY KEY,
                    owner       TEXT NOT NULL,
                    algorithm   TEXT NOT NULL,
                    public_key  BYTEA NOT NULL,
                    revoked_at  TIMESTAMPTZ,
                    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
                );
                CREATE INDEX login_keys_owner ON login_keys (owner);

                -- Not secrets (the signature over them is the proof): deleted by the first
                -- attempt to use them, or once expired.
                CREATE TABLE login_challenges (
                    id          UUID PRIMARY KEY,
                    means       TEXT NOT NULL,
                    owner       TEXT NOT NULL,
                    credential  TEXT NOT NULL,
                    client_id   TEXT NOT NULL,
                    scope       TEXT NOT NULL,
                    cnf_x5t     TEXT,
                    challenge   BYTEA NOT NULL,
                    expires_at  TIMESTAMPTZ NOT NULL
                );
                CREATE INDEX login_challenges_expiry ON login_challenges (expires_at);

                CREATE TABLE sessions (
                    id              UUID PRIMARY KEY,
                    category        TEXT NOT NULL,
                    subject         TEXT NOT NULL,
                    -- What the session depends on: it dies with them.
                    owner           TEXT NOT NULL,
                    device_id       UUID,
                    means           TEXT NOT NULL,
                    acr             TEXT NOT NULL,
                    amr             TEXT[] NOT NULL,
                    client_id       TEXT NOT NULL,
                    scope           TEXT NOT NULL,
                    cnf_x5t         TEXT,
                    auth_time       TIMESTAMPTZ NOT NULL,
                    last_active_at  TIMESTAMPTZ NOT NULL,
                    expires_at      TIMESTAMPTZ NOT NULL,
                    ended_at        TIMESTAMPTZ,
                    end_reason      TEXT
                );
                CREATE INDEX sessions_live_owner ON sessions (owner) WHERE ended_at IS NULL;
                CREATE INDEX sessions_live_device ON sessions (device_id) WHERE ended_at IS NULL;
                CREATE INDEX sessions_live_subject ON sessions (category, subject) WHERE ended_at IS NULL;

                -- SHA-256 of each refresh token (256 random bits: a plain hash is enough).
                -- Spent tokens stay until their session ends: presenting one again is reuse.
                CREATE TABLE refresh_tokens (
                    token_hash  BYTEA PRIMARY KEY,
                    session_id  UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                    issued_at   TIMESTAMPTZ NOT NULL,
                    spent_at    TIMESTAMPTZ
                );
                CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);",
            )
            .await?;
        Ok(())
    }
}
