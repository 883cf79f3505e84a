use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE structures (
                    id             UUID PRIMARY KEY,
                    id_nat_struct  TEXT NOT NULL UNIQUE,
                    finess         TEXT,
                    siret          TEXT,
                    name           TEXT NOT NULL,
                    registered_at  TIMESTAMPTZ NOT NULL,
                    CHECK ((finess IS NULL) <> (siret IS NULL))
                )",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE structures")
            .await?;
        Ok(())
    }
}
