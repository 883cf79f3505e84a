//! Reference directories: streaming imports (RPPS, FINESS, INS, rights) and their state.
//!
//! An import reads the file as the client streams it, checks each row (rejects are
//! reported with their line and skipped), `COPY`s the good rows into a temporary staging
//! table, then applies the staging table to the directory in the same transaction:
//! additions, changes (by content hash), deactivation of absent entries, each counted and,
//! for professionals, each an event. Nothing is visible until the transaction commits, so
//! an import that dies midway leaves the directory as it was.

pub mod apply;
pub mod copy;
pub mod finess;
pub mod import;
pub mod ins;
pub mod rights;
pub mod rpps;
pub mod status;

use egide_proto::enrolment::v1::DirectorySource;

/// A failed statement of an import: a bug or a broken schema, never the caller's fault.
pub(crate) fn sql_err(e: sea_orm::sqlx::Error) -> egide_kit::ApiError {
    egide_kit::ApiError::internal(e)
}

/// The name a source has in the database and in keys of `active_entities`.
pub fn source_name(source: DirectorySource) -> Option<&'static str> {
    match source {
        DirectorySource::Rpps => Some("rpps"),
        DirectorySource::Finess => Some("finess"),
        DirectorySource::Ins => Some("ins"),
        DirectorySource::Rights => Some("rights"),
        DirectorySource::Unspecified => None,
    }
}

/// The source of a database name.
pub fn source_of(name: &str) -> DirectorySource {
    match name {
        "rpps" => DirectorySource::Rpps,
        "finess" => DirectorySource::Finess,
        "ins" => DirectorySource::Ins,
        "rights" => DirectorySource::Rights,
        _ => DirectorySource::Unspecified,
    }
}

/// Rows of `staging` whose `key` (an SQL expression) already appeared on an earlier line:
/// rejected as `duplicate_key` (the first one is kept). Call before deleting them.
pub async fn duplicate_keys(
    conn: &mut sea_orm::sqlx::PgConnection,
    staging: &str,
    key: &str,
    what: &str,
) -> Result<Vec<import::Reject>, egide_kit::ApiError> {
    use sea_orm::sqlx::Row as _;
    let rows = sea_orm::sqlx::query(&format!(
        "SELECT line, first FROM (SELECT line, min(line) OVER (PARTITION BY {key}) AS first \
         FROM {staging}) d WHERE line <> first ORDER BY line"
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(egide_kit::ApiError::internal)?;
    Ok(rows
        .iter()
        .map(|r| {
            let line: i64 = r.get("line");
            let first: i64 = r.get("first");
            import::Reject {
                line: line as u64,
                code: "duplicate_key".into(),
                reason: format!("{what} already appears at line {first}; the first one is kept"),
            }
        })
        .collect())
}
