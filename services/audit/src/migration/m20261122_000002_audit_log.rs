use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE audit_events (
                    log_index     BIGINT PRIMARY KEY,
                    event_id      UUID NOT NULL UNIQUE,
                    producer      TEXT NOT NULL,
                    producer_seq  BIGINT NOT NULL,
                    event_type    TEXT NOT NULL,
                    occurred_at   TIMESTAMPTZ NOT NULL,
                    received_at   TIMESTAMPTZ NOT NULL,
                    envelope      BYTEA NOT NULL,
                    UNIQUE (producer, producer_seq)
                );
                CREATE INDEX audit_events_by_type ON audit_events (event_type, log_index);
                CREATE INDEX audit_events_by_time ON audit_events (occurred_at);
                -- One row: the last log index handed out (the single writer locks it).
                CREATE TABLE audit_log_head (
                    id          BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
                    last_index  BIGINT NOT NULL
                );
                INSERT INTO audit_log_head (last_index) VALUES (0);
                CREATE TABLE audit_producers (
                    producer        TEXT PRIMARY KEY,
                    contiguous_seq  BIGINT NOT NULL DEFAULT 0,
                    highest_seq     BIGINT NOT NULL DEFAULT 0,
                    missing         BIGINT NOT NULL DEFAULT 0,
                    stored          BIGINT NOT NULL DEFAULT 0,
                    gap_since       TIMESTAMPTZ
                );",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TABLE audit_producers; DROP TABLE audit_log_head; DROP TABLE audit_events;",
            )
            .await?;
        Ok(())
    }
}
