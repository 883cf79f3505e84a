//! The FINESS etalab extract: `structureet` establishments joined with their
//! `geolocalisation` rows.

use chrono::{DateTime, Utc};
use egide_directory::{
    FileError, RowError,
    finess::{self, Encoding, Record},
    lines::Line,
};
use egide_kit::ApiError;
use sea_orm::sqlx::{self, PgConnection, Postgres, Row as _, Transaction};

use super::{
    apply::{Applied, Table},
    copy,
    import::{ImportJob, Reject, Sink},
};

const STAGING_DDL: &str = "CREATE TEMP TABLE finess_staging (
    line bigint, kind text, finess text, legal_entity_finess text, name text, long_name text,
    address text, town text, department_code text, phone text, category_code text,
    category_label text, siret text, opened_on text, updated_on text, geo_x float8,
    geo_y float8, geo_source text, geo_date text, raw_hash text) ON COMMIT DROP";
const COPY_SQL: &str = "COPY finess_staging FROM STDIN";

/// Parses FINESS lines (UTF-8 or Latin-1, line by line) into staging rows.
#[derive(Default)]
pub struct FinessSink;

fn join_nonempty(parts: &[&str], sep: &str) -> String {
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

impl Sink for FinessSink {
    fn staging(&self) -> (&'static str, &'static str) {
        (STAGING_DDL, COPY_SQL)
    }

    fn first_line(&mut self, line: &[u8]) -> Result<Option<DateTime<Utc>>, FileError> {
        let m = finess::parse_metadata(line)?;
        Ok(m.date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
    }

    fn line(&mut self, line: Line<'_>, out: &mut Vec<u8>) -> Result<(), RowError> {
        let number = line.number();
        let record = line.parse(|b| finess::parse_record(b, Encoding::Auto))?;
        copy::number(out, number);
        // The content hash covers the decoded values as staged, so the same data in
        // Latin-1 or UTF-8 hashes the same.
        let start = out.len();
        match record {
            Record::Establishment(e) => {
                let street = join_nonempty(&[&e.numvoie, &e.typvoie, &e.voie, &e.compvoie], " ");
                let town = e
                    .ligneacheminement
                    .split_once(' ')
                    .filter(|(cp, _)| cp.len() == 5 && cp.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(e.ligneacheminement.as_ref(), |(_, town)| town)
                    .trim()
                    .to_owned();
                copy::field(out, "et");
                copy::field(out, e.finess_et.as_ref());
                copy::field(out, e.finess_ej.as_ref());
                copy::field(out, &e.rs);
                copy::field(out, &e.rslongue);
                copy::field(
                    out,
                    &join_nonempty(&[&street, &e.lieuditbp, &e.ligneacheminement], ", "),
                );
                copy::field(out, &town);
                copy::field(out, &e.departement);
                copy::field(out, &e.telephone);
                copy::field(out, &e.categetab);
                copy::field(out, &e.libcategetab);
                copy::field(out, &e.siret);
                copy::field(out, &e.opened.map(|d| d.to_string()).unwrap_or_default());
                copy::field(out, &e.updated.map(|d| d.to_string()).unwrap_or_default());
                copy::null(out);
                copy::null(out);
                copy::null(out);
                copy::null(out);
            }
            Record::Geolocation(g) => {
                copy::field(out, "geo");
                copy::field(out, g.finess_et.as_ref());
                for _ in 0..12 {
                    copy::null(out);
                }
                copy::number(out, g.x);
                copy::number(out, g.y);
                copy::field(out, &g.source);
                copy::field(out, &g.date.to_string());
            }
        }
        let hash = copy::content_hash([&out[start..]]);
        copy::field(out, &hash);
        copy::end_row(out);
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>) {}
}

use super::sql_err as err;

/// Rejects duplicates and orphan geolocations, joins, then applies.
pub async fn apply(
    txn: &mut Transaction<'static, Postgres>,
    job: &ImportJob,
) -> Result<Applied, ApiError> {
    let conn: &mut PgConnection = txn;
    let dups = sqlx::query(
        "SELECT line, first, same FROM ( \
           SELECT line, kind, \
                  first_value(line) OVER w AS first, \
                  raw_hash = first_value(raw_hash) OVER w AS same \
           FROM finess_staging WINDOW w AS (PARTITION BY kind, finess ORDER BY line)) d \
         WHERE line <> first",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut extra_rejects = Vec::new();
    for d in &dups {
        let line: i64 = d.get("line");
        let first: i64 = d.get("first");
        let same: bool = d.get("same");
        extra_rejects.push(Reject {
            line: line as u64,
            code: if same {
                "duplicate_line"
            } else {
                "duplicate_key"
            }
            .into(),
            reason: if same {
                format!("duplicate of line {first}")
            } else {
                format!("this FINESS already appears at line {first}; the first one is kept")
            },
        });
    }
    let orphans = sqlx::query(
        "SELECT g.line FROM finess_staging g WHERE g.kind = 'geo' \
         AND NOT EXISTS (SELECT 1 FROM finess_staging e WHERE e.kind = 'et' AND e.finess = g.finess)",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    for o in &orphans {
        let line: i64 = o.get("line");
        extra_rejects.push(Reject {
            line: line as u64,
            code: "orphan_geolocation".into(),
            reason: "a geolocalisation record for a FINESS with no structureet record".into(),
        });
    }
    sqlx::query(
        "CREATE TEMP TABLE finess_src ON COMMIT DROP AS \
         WITH et AS (SELECT DISTINCT ON (finess) * FROM finess_staging WHERE kind = 'et' ORDER BY finess, line), \
              geo AS (SELECT DISTINCT ON (finess) * FROM finess_staging WHERE kind = 'geo' ORDER BY finess, line) \
         SELECT et.finess, et.legal_entity_finess, et.name, et.long_name, et.address, et.town, \
                et.department_code, et.phone, et.category_code, et.category_label, et.siret, \
                et.opened_on, et.updated_on, geo.geo_x, geo.geo_y, geo.geo_source, geo.geo_date, \
                md5(concat_ws('|', et.raw_hash, geo.raw_hash)) AS content_hash \
         FROM et LEFT JOIN geo USING (finess)",
    )
    .execute(&mut *conn)
    .await
    .map_err(err)?;
    let table = Table {
        table: "establishments",
        staging: "finess_src",
        keys: &["finess"],
        columns: &[
            "legal_entity_finess",
            "name",
            "long_name",
            "address",
            "town",
            "department_code",
            "phone",
            "category_code",
            "category_label",
            "siret",
            "opened_on",
            "updated_on",
            "geo_x",
            "geo_y",
            "geo_source",
            "geo_date",
        ],
    };
    let (counts, _) = table.merge(&mut *conn, job, false).await?;
    Ok(Applied {
        counts,
        extra_rejects,
        events: Vec::new(),
    })
}
