//! Import state: the imports, their rejects, and the INS search (INSi-like).

use chrono::{DateTime, Utc};
use egide_kit::{ApiError, events::timestamp};
use egide_proto::enrolment::v1::{self as pb, DirectorySource};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, FromQueryResult, Statement, Value,
    sqlx::{self, PgConnection},
};
use uuid::Uuid;

use super::{source_name, source_of};
use crate::{Ctx, identity};

#[derive(FromQueryResult)]
struct Row {
    id: Uuid,
    source: String,
    file_name: String,
    sha256: Option<String>,
    extracted_at: Option<DateTime<Utc>>,
    state: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    lines: i64,
    rows: i64,
    rejected: i64,
    entities: i64,
    added: i64,
    updated: i64,
    deactivated: i64,
    reactivated: i64,
    unchanged: i64,
    failure: Option<String>,
}

const COLUMNS: &str = "id, source, file_name, sha256, extracted_at, state, started_at, \
    finished_at, lines, rows, rejected, entities, added, updated, deactivated, reactivated, \
    unchanged, failure";

impl From<Row> for pb::DirectoryImport {
    fn from(r: Row) -> Self {
        use pb::ImportState as S;
        let state = match r.state.as_str() {
            "running" => S::Running,
            "completed" => S::Completed,
            "failed" => S::Failed,
            "interrupted" => S::Interrupted,
            _ => S::Unspecified,
        };
        let n = |v: i64| v.max(0) as u64;
        Self {
            id: r.id.to_string(),
            source: source_of(&r.source) as i32,
            file_name: r.file_name,
            sha256: r.sha256.unwrap_or_default(),
            extracted_at: r.extracted_at.map(timestamp),
            state: state as i32,
            started_at: Some(timestamp(r.started_at)),
            finished_at: r.finished_at.map(timestamp),
            counts: Some(pb::ImportCounts {
                lines: n(r.lines),
                rows: n(r.rows),
                rejected: n(r.rejected),
                entities: n(r.entities),
                added: n(r.added),
                updated: n(r.updated),
                deactivated: n(r.deactivated),
                reactivated: n(r.reactivated),
                unchanged: n(r.unchanged),
            }),
            failure: r.failure.unwrap_or_default(),
        }
    }
}

/// The extract date of the last completed import of `source`.
pub async fn last_extracted_at(
    db: &DatabaseConnection,
    source: &str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    #[derive(FromQueryResult)]
    struct Last {
        at: Option<DateTime<Utc>>,
    }
    Ok(Last::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT max(extracted_at) AS at FROM directory_imports WHERE source = $1 AND state = 'completed'",
        [Value::from(source)],
    ))
    .one(db)
    .await?
    .and_then(|l| l.at))
}

/// One import, through the import's own connection (inside its transaction).
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<pb::DirectoryImport, ApiError> {
    use sqlx::Row as _;
    let r = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM directory_imports WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(conn)
    .await
    .map_err(ApiError::internal)?;
    let row = Row {
        id: r.get("id"),
        source: r.get("source"),
        file_name: r.get("file_name"),
        sha256: r.get("sha256"),
        extracted_at: r.get("extracted_at"),
        state: r.get("state"),
        started_at: r.get("started_at"),
        finished_at: r.get("finished_at"),
        lines: r.get("lines"),
        rows: r.get("rows"),
        rejected: r.get("rejected"),
        entities: r.get("entities"),
        added: r.get("added"),
        updated: r.get("updated"),
        deactivated: r.get("deactivated"),
        reactivated: r.get("reactivated"),
        unchanged: r.get("unchanged"),
        failure: r.get("failure"),
    };
    Ok(row.into())
}

/// `ListDirectoryImports`.
pub async fn list_imports(
    ctx: &Ctx,
    req: pb::ListDirectoryImportsRequest,
) -> Result<pb::ListDirectoryImportsResponse, ApiError> {
    let db = &ctx.platform.db;
    let limit = match req.page_size {
        0 => 20,
        n => n.min(200),
    };
    let source = DirectorySource::try_from(req.source).unwrap_or(DirectorySource::Unspecified);
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        format!(
            "SELECT {COLUMNS} FROM directory_imports WHERE ($1::text IS NULL OR source = $1) \
             ORDER BY started_at DESC LIMIT $2"
        ),
        [
            Value::from(source_name(source).map(str::to_owned)),
            Value::from(i64::from(limit)),
        ],
    ))
    .all(db)
    .await?;
    #[derive(FromQueryResult)]
    struct Active {
        source: String,
        n: i64,
    }
    let active = Active::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT 'rpps' AS source, count(*) AS n FROM professionals WHERE active \
         UNION ALL SELECT 'finess', count(*) FROM establishments WHERE active \
         UNION ALL SELECT 'ins', count(*) FROM ins_identities WHERE active \
         UNION ALL SELECT 'rights', count(*) FROM insured_rights WHERE active",
    ))
    .all(db)
    .await?;
    Ok(pb::ListDirectoryImportsResponse {
        imports: rows.into_iter().map(Into::into).collect(),
        active_entities: active
            .into_iter()
            .map(|a| (a.source, a.n.max(0) as u64))
            .collect(),
    })
}

/// `ListImportRejects`.
pub async fn list_rejects(
    ctx: &Ctx,
    req: pb::ListImportRejectsRequest,
) -> Result<pb::ListImportRejectsResponse, ApiError> {
    let db = &ctx.platform.db;
    let id = Uuid::parse_str(req.import_id.trim())
        .map_err(|_| ApiError::invalid_field("import_id", "a UUID"))?;
    let exists = db
        .query_one(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT 1 FROM directory_imports WHERE id = $1",
            [Value::from(id)],
        ))
        .await?;
    if exists.is_none() {
        return Err(ApiError::not_found("import_not_found", "no such import"));
    }
    let limit = match req.page_size {
        0 => 100,
        n => n.min(1000),
    };
    #[derive(FromQueryResult)]
    struct R {
        line: i64,
        code: String,
        reason: String,
    }
    let rows = R::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT line, code, reason FROM directory_rejects WHERE import_id = $1 AND line > $2 \
         ORDER BY line LIMIT $3",
        [
            Value::from(id),
            Value::from(req.after_line.min(i64::MAX as u64) as i64),
            Value::from(i64::from(limit)),
        ],
    ))
    .all(db)
    .await?;
    let next = if rows.len() as u32 == limit {
        rows.last().map_or(0, |r| r.line as u64)
    } else {
        0
    };
    Ok(pb::ListImportRejectsResponse {
        rejects: rows
            .into_iter()
            .map(|r| pb::ImportReject {
                line: r.line as u64,
                code: r.code,
                reason: r.reason,
            })
            .collect(),
        next_after_line: next,
    })
}

/// `SearchInsIdentity`: found / none / several, like INSi's 00 / 01 / 02.
pub async fn search_ins(
    ctx: &Ctx,
    req: pb::SearchInsIdentityRequest,
) -> Result<pb::SearchInsIdentityResponse, ApiError> {
    let traits = identity::Traits::from_proto(req.traits.as_ref(), "traits")?;
    let found = identity::by_traits(&ctx.platform.db, &traits).await?;
    Ok(match found.as_slice() {
        [one] => pb::SearchInsIdentityResponse {
            result: pb::InsSearchResult::Found as i32,
            identity: Some(pb::InsIdentity {
                nir: one.nir.clone(),
                oid: one.oid.clone(),
                traits: Some(one.traits.to_proto()),
                identity_status: "VALI".into(),
            }),
        },
        [] => pb::SearchInsIdentityResponse {
            result: pb::InsSearchResult::None as i32,
            identity: None,
        },
        _ => pb::SearchInsIdentityResponse {
            result: pb::InsSearchResult::Several as i32,
            identity: None,
        },
    })
}
