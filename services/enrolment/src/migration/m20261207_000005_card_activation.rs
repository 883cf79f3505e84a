//! e-CPS activation with a CPS card: the challenges cards sign, and how an e-CPS was
//! verified.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "-- Not secrets (the card's signature is the proof): stored as issued, deleted
                -- by the first attempt to use them.
                CREATE TABLE ecps_card_challenges (
                    id          UUID PRIMARY KEY,
                    id_nat_ps   TEXT NOT NULL,
                    challenge   BYTEA NOT NULL,
                    created_at  TIMESTAMPTZ NOT NULL,
                    expires_at  TIMESTAMPTZ NOT NULL
                );
                CREATE INDEX ecps_card_challenges_open ON ecps_card_challenges (id_nat_ps, expires_at);

                -- How the last activation was verified, and by which card (SHA-256 of its
                -- authentication certificate), for the record.
                ALTER TABLE ecps
                    ADD COLUMN verified_by TEXT CHECK (verified_by IN ('codes', 'card')),
                    ADD COLUMN card_certificate_sha256 TEXT;",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE ecps DROP COLUMN verified_by, DROP COLUMN card_certificate_sha256;
                DROP TABLE ecps_card_challenges;",
            )
            .await?;
        Ok(())
    }
}
