use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // Revocations recorded by RevokeCertificate: every replica loads them at start and
        // reads them back periodically (events are the fast path, this table the truth).
        db.execute_unprepared(
            "CREATE TABLE revocations (
                issuer_name_sha256  TEXT NOT NULL,
                serial_hex          TEXT NOT NULL,
                issuer              TEXT NOT NULL,
                reason              TEXT NOT NULL,
                revoked_at          TIMESTAMPTZ NOT NULL,
                certificate_sha256  TEXT,
                operator_id         TEXT NOT NULL,
                recorded_seq        BIGSERIAL NOT NULL,
                PRIMARY KEY (issuer_name_sha256, serial_hex)
            )",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX revocations_seq ON revocations (recorded_seq)")
            .await?;
        // The newest CRL of each issuer, so that a restarted replica need not fetch again.
        db.execute_unprepared(
            "CREATE TABLE crls (
                issuer_der   BYTEA PRIMARY KEY,
                der          BYTEA NOT NULL,
                source       TEXT NOT NULL,
                this_update  TIMESTAMPTZ NOT NULL,
                stored_at    TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE crls; DROP TABLE revocations")
            .await?;
        Ok(())
    }
}
