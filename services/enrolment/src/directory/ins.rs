//! The INS identity reference (`ins_reference.csv`, docs/directories.md). Identity traits
//! are personal data: rejects never quote values, and no per-identity event is published.

use chrono::{DateTime, Utc};
use egide_directory::{FileError, RowError, ins, lines::Line};
use egide_kit::ApiError;
use sea_orm::sqlx::{self, PgConnection, Postgres, Transaction};

use super::{
    apply::{Applied, Table},
    copy,
    import::{ImportJob, Sink},
};

const STAGING_DDL: &str = "CREATE TEMP TABLE ins_staging (
    line bigint, nir text, oid text, birth_name text, given_names text, first_given_name text,
    sex text, birth_date text, birth_place text, content_hash text) ON COMMIT DROP";
const COPY_SQL: &str = "COPY ins_staging FROM STDIN";

/// Names as the wallet compares them: single spaces, upper case.
pub fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Parses identity lines into staging rows.
#[derive(Default)]
pub struct InsSink;

impl Sink for InsSink {
    fn staging(&self) -> (&'static str, &'static str) {
        (STAGING_DDL, COPY_SQL)
    }

    fn first_line(&mut self, line: &[u8]) -> Result<Option<DateTime<Utc>>, FileError> {
        ins::check_identity_header(line).map(|()| None)
    }

    fn line(&mut self, line: Line<'_>, out: &mut Vec<u8>) -> Result<(), RowError> {
        let number = line.number();
        let id = line.parse(ins::parse_identity)?;
        let given: Vec<String> = id.given_name_list().map(normalise).collect();
        let birth_name = normalise(id.birth_name);
        let nir = id.ins.matricule().to_string();
        let fields = [
            nir.clone(),
            id.ins.oid().as_oid().to_owned(),
            birth_name,
            given.join(" "),
            given.first().cloned().unwrap_or_default(),
            id.sex.letter().to_owned(),
            id.birth_date.to_string(),
            id.birth_place.to_uppercase(),
        ];
        copy::hashed_row(out, number, &fields);
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>) {}
}

use super::sql_err as err;

/// Rejects duplicate NIRs (the first line wins), then applies.
pub async fn apply(
    txn: &mut Transaction<'static, Postgres>,
    job: &ImportJob,
) -> Result<Applied, ApiError> {
    let conn: &mut PgConnection = txn;
    let extra_rejects = super::duplicate_keys(&mut *conn, "ins_staging", "nir", "this NIR").await?;
    sqlx::query(
        "DELETE FROM ins_staging s USING ins_staging f WHERE s.nir = f.nir AND s.line > f.line",
    )
    .execute(&mut *conn)
    .await
    .map_err(err)?;
    let table = Table {
        table: "ins_identities",
        staging: "ins_staging",
        keys: &["nir"],
        columns: &[
            "oid",
            "birth_name",
            "given_names",
            "first_given_name",
            "sex",
            "birth_date",
            "birth_place",
        ],
    };
    let (counts, _) = table.merge(&mut *conn, job, false).await?;
    Ok(Applied {
        counts,
        extra_rejects,
        events: Vec::new(),
    })
}
