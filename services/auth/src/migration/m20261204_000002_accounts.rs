//! Local accounts (operators, structure staff), their second factors, and the failures
//! password logins are throttled on.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE accounts (
                    id              UUID PRIMARY KEY,
                    login           TEXT NOT NULL UNIQUE,
                    kind            TEXT NOT NULL CHECK (kind IN ('operator', 'staff')),
                    structure_id    TEXT NOT NULL DEFAULT '',
                    display_name    TEXT NOT NULL,
                    -- Argon2id PHC string of the password keyed through Vault (the pepper).
                    password_hash   TEXT NOT NULL,
                    -- Vault transit ciphertext of the TOTP secret: active, and pending
                    -- confirmation.
                    totp_secret     TEXT,
                    totp_pending    TEXT,
                    -- The last step a code was accepted for: a code is good once.
                    totp_last_step  BIGINT NOT NULL DEFAULT 0,
                    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
                    created_by      TEXT NOT NULL
                );

                -- SHA-256 of each recovery code (128 random bits each).
                CREATE TABLE recovery_codes (
                    account_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                    code_hash   BYTEA NOT NULL,
                    used_at     TIMESTAMPTZ,
                    PRIMARY KEY (account_id, code_hash)
                );

                -- `login:<name>` (known or not) and `source:<address>`.
                CREATE TABLE login_failures (
                    key  TEXT NOT NULL,
                    at   TIMESTAMPTZ NOT NULL
                );
                CREATE INDEX login_failures_key ON login_failures (key, at);
                CREATE TABLE login_locks (
                    key        TEXT PRIMARY KEY,
                    locked_at  TIMESTAMPTZ NOT NULL
                );",
            )
            .await?;
        Ok(())
    }
}
