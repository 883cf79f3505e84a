//! The rights reference (`rights_reference.csv`, docs/directories.md): one row per
//! beneficiary of an insured. Personal data: rejects never quote values, no per-row event.

use chrono::{DateTime, Utc};
use egide_directory::{FileError, RowError, ins, lines::Line};
use egide_kit::ApiError;
use sea_orm::sqlx::{self, PgConnection, Postgres, Transaction};

use super::{
    apply::{Applied, Table},
    copy,
    import::{ImportJob, Sink},
};

const STAGING_DDL: &str = "CREATE TEMP TABLE rights_staging (
    line bigint, insured_nir text, beneficiary text, quality text, scheme text, fund text,
    centre text, coverage_start text, coverage_end text, content_hash text) ON COMMIT DROP";
const COPY_SQL: &str = "COPY rights_staging FROM STDIN";

/// Parses rights lines into staging rows.
#[derive(Default)]
pub struct RightsSink;

impl Sink for RightsSink {
    fn staging(&self) -> (&'static str, &'static str) {
        (STAGING_DDL, COPY_SQL)
    }

    fn first_line(&mut self, line: &[u8]) -> Result<Option<DateTime<Utc>>, FileError> {
        ins::check_rights_header(line).map(|()| None)
    }

    fn line(&mut self, line: Line<'_>, out: &mut Vec<u8>) -> Result<(), RowError> {
        let number = line.number();
        let r = line.parse(ins::parse_rights)?;
        let beneficiary = match (r.beneficiary, r.birth_rank) {
            (Some(nir), _) => nir.to_string(),
            (None, Some(rank)) => format!("rank:{rank}"),
            (None, None) => String::from("rank:0"),
        };
        let fields = [
            r.insured.to_string(),
            beneficiary,
            r.quality.as_str().to_owned(),
            r.regime.to_owned(),
            r.caisse.to_owned(),
            r.centre.to_owned(),
            r.start.to_string(),
            r.end.map(|d| d.to_string()).unwrap_or_default(),
        ];
        copy::hashed_row(out, number, &fields);
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>) {}
}

use super::sql_err as err;

/// Rejects duplicate beneficiaries of one insured (the first line wins), then applies.
pub async fn apply(
    txn: &mut Transaction<'static, Postgres>,
    job: &ImportJob,
) -> Result<Applied, ApiError> {
    let conn: &mut PgConnection = txn;
    let extra_rejects = super::duplicate_keys(
        &mut *conn,
        "rights_staging",
        "insured_nir, beneficiary",
        "this beneficiary of this insured",
    )
    .await?;
    sqlx::query(
        "DELETE FROM rights_staging s USING rights_staging f WHERE s.insured_nir = f.insured_nir \
         AND s.beneficiary = f.beneficiary AND s.line > f.line",
    )
    .execute(&mut *conn)
    .await
    .map_err(err)?;
    let table = Table {
        table: "insured_rights",
        staging: "rights_staging",
        keys: &["insured_nir", "beneficiary"],
        columns: &[
            "quality",
            "scheme",
            "fund",
            "centre",
            "coverage_start",
            "coverage_end",
        ],
    };
    let (counts, _) = table.merge(&mut *conn, job, false).await?;
    Ok(Applied {
        counts,
        extra_rejects,
        events: Vec::new(),
    })
}
