//! Reference directories: import bookkeeping, professionals (RPPS), establishments
//! (FINESS), the INS identity reference and the rights reference.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE directory_imports (
                    id            UUID PRIMARY KEY,
                    source        TEXT NOT NULL CHECK (source IN ('rpps', 'finess', 'ins', 'rights')),
                    file_name     TEXT NOT NULL,
                    sha256        TEXT,
                    extracted_at  TIMESTAMPTZ,
                    state         TEXT NOT NULL
                                  CHECK (state IN ('running', 'completed', 'failed', 'interrupted')),
                    operator      TEXT NOT NULL,
                    started_at    TIMESTAMPTZ NOT NULL,
                    finished_at   TIMESTAMPTZ,
                    lines         BIGINT NOT NULL DEFAULT 0,
                    rows          BIGINT NOT NULL DEFAULT 0,
                    rejected      BIGINT NOT NULL DEFAULT 0,
                    entities      BIGINT NOT NULL DEFAULT 0,
                    added         BIGINT NOT NULL DEFAULT 0,
                    updated       BIGINT NOT NULL DEFAULT 0,
                    deactivated   BIGINT NOT NULL DEFAULT 0,
                    reactivated   BIGINT NOT NULL DEFAULT 0,
                    unchanged     BIGINT NOT NULL DEFAULT 0,
                    failure       TEXT
                );
                CREATE INDEX directory_imports_by_source ON directory_imports (source, started_at DESC);

                CREATE TABLE directory_rejects (
                    import_id  UUID NOT NULL REFERENCES directory_imports (id) ON DELETE CASCADE,
                    line       BIGINT NOT NULL,
                    code       TEXT NOT NULL,
                    reason     TEXT NOT NULL,
                    PRIMARY KEY (import_id, line)
                );

                -- One row per professional; `activities` keeps the directory's activity rows
                -- as the JSON array Égide wrote (text: stored and returned whole, never
                -- queried inside, so no jsonb parsing on a 2-million-row import).
                CREATE TABLE professionals (
                    id_nat_ps         TEXT PRIMARY KEY,
                    civility          TEXT NOT NULL,
                    last_name         TEXT NOT NULL,
                    first_name        TEXT NOT NULL,
                    profession_code   TEXT NOT NULL,
                    profession_label  TEXT NOT NULL,
                    activities        TEXT NOT NULL,
                    content_hash      TEXT NOT NULL,
                    active            BOOLEAN NOT NULL,
                    import_id         UUID NOT NULL,
                    updated_at        TIMESTAMPTZ NOT NULL,
                    deactivated_at    TIMESTAMPTZ
                );
                CREATE INDEX professionals_inactive ON professionals (id_nat_ps) WHERE NOT active;

                CREATE TABLE establishments (
                    finess               TEXT PRIMARY KEY,
                    legal_entity_finess  TEXT NOT NULL,
                    name                 TEXT NOT NULL,
                    long_name            TEXT NOT NULL,
                    address              TEXT NOT NULL,
                    town                 TEXT NOT NULL,
                    department_code      TEXT NOT NULL,
                    phone                TEXT NOT NULL,
                    category_code        TEXT NOT NULL,
                    category_label       TEXT NOT NULL,
                    siret                TEXT NOT NULL,
                    opened_on            TEXT NOT NULL,
                    updated_on           TEXT NOT NULL,
                    geo_x                DOUBLE PRECISION,
                    geo_y                DOUBLE PRECISION,
                    geo_source           TEXT,
                    geo_date             TEXT,
                    content_hash         TEXT NOT NULL,
                    active               BOOLEAN NOT NULL,
                    import_id            UUID NOT NULL,
                    updated_at           TIMESTAMPTZ NOT NULL,
                    deactivated_at       TIMESTAMPTZ
                );
                CREATE INDEX establishments_inactive ON establishments (finess) WHERE NOT active;
                CREATE INDEX establishments_by_siret ON establishments (siret);

                -- The INSi-like identity reference.
                CREATE TABLE ins_identities (
                    nir               TEXT PRIMARY KEY,
                    oid               TEXT NOT NULL,
                    birth_name        TEXT NOT NULL,
                    given_names       TEXT NOT NULL,
                    first_given_name  TEXT NOT NULL,
                    sex               TEXT NOT NULL,
                    birth_date        TEXT NOT NULL,
                    birth_place       TEXT NOT NULL,
                    content_hash      TEXT NOT NULL,
                    active            BOOLEAN NOT NULL,
                    import_id         UUID NOT NULL,
                    updated_at        TIMESTAMPTZ NOT NULL,
                    deactivated_at    TIMESTAMPTZ
                );
                CREATE INDEX ins_identities_by_traits
                    ON ins_identities (birth_name, first_given_name, birth_date, sex) WHERE active;
                CREATE INDEX ins_identities_inactive ON ins_identities (nir) WHERE NOT active;

                -- The rights reference: one row per beneficiary of an insured.
                CREATE TABLE insured_rights (
                    insured_nir      TEXT NOT NULL,
                    beneficiary      TEXT NOT NULL,   -- the beneficiary's NIR, or 'rank:<n>'
                    quality          TEXT NOT NULL,
                    scheme           TEXT NOT NULL,
                    fund             TEXT NOT NULL,
                    centre           TEXT NOT NULL,
                    coverage_start   TEXT NOT NULL,
                    coverage_end     TEXT NOT NULL,
                    content_hash     TEXT NOT NULL,
                    active           BOOLEAN NOT NULL,
                    import_id        UUID NOT NULL,
                    updated_at       TIMESTAMPTZ NOT NULL,
                    deactivated_at   TIMESTAMPTZ,
                    PRIMARY KEY (insured_nir, beneficiary)
                );
                CREATE INDEX insured_rights_inactive ON insured_rights (insured_nir, beneficiary)
                    WHERE NOT active;

                ALTER TABLE structures ADD COLUMN registered_without_directory_by TEXT;",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE structures DROP COLUMN registered_without_directory_by;
                 DROP TABLE insured_rights, ins_identities, establishments, professionals,
                            directory_rejects, directory_imports;",
            )
            .await?;
        Ok(())
    }
}
