//! Applying a staging table to its directory table: add, update (by content hash),
//! reactivate, deactivate — with the counts, the changed keys, and a guard against a
//! partial file emptying the directory.

use egide_kit::{ApiError, events::NewEvent};
use egide_proto::enrolment::v1 as pb;
use sea_orm::sqlx::{self, PgConnection, Row as _};

use super::import::{ImportJob, Reject};

/// What applying produced.
#[derive(Debug, Default)]
pub struct Applied {
    /// Entity counts (lines, rows and rejects are filled in by the import).
    pub counts: pb::ImportCounts,
    /// Rows found bad only when applying (e.g. duplicates across the file).
    pub extra_rejects: Vec<Reject>,
    /// Events to publish with the import.
    pub events: Vec<NewEvent>,
}

/// A directory table and its staging table. The staging table must hold one row per key,
/// the key columns, the data `columns` and `content_hash`.
#[derive(Debug)]
pub struct Table {
    /// The directory table.
    pub table: &'static str,
    /// The staging table.
    pub staging: &'static str,
    /// Key columns.
    pub keys: &'static [&'static str],
    /// Data columns.
    pub columns: &'static [&'static str],
}

/// The keys a merge changed (only collected when asked).
#[derive(Debug, Default)]
pub struct Changes {
    /// Known, active before, data changed.
    pub updated: Vec<String>,
    /// Inactive before, present again (data may have changed too).
    pub reactivated: Vec<String>,
    /// Active before, absent now.
    pub deactivated: Vec<String>,
}

/// Logs how long each step of an import takes (`import phase` lines).
#[derive(Debug)]
pub struct Phases {
    import: uuid::Uuid,
    last: std::time::Instant,
}

impl Phases {
    /// Starts the clock.
    pub fn new(import: uuid::Uuid) -> Self {
        Self {
            import,
            last: std::time::Instant::now(),
        }
    }

    /// Logs the time since the previous mark under `phase`.
    pub fn mark(&mut self, phase: &str) {
        let now = std::time::Instant::now();
        tracing::info!(import = %self.import, phase, ms = (now - self.last).as_millis() as u64, "import phase");
        self.last = now;
    }
}

use super::sql_err as err;

impl Table {
    fn key_expr(&self, alias: &str) -> String {
        self.keys
            .iter()
            .map(|k| format!("{alias}.{k}"))
            .collect::<Vec<_>>()
            .join(" || '/' || ")
    }

    fn join(&self) -> String {
        self.keys
            .iter()
            .map(|k| format!("s.{k} = t.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Merges the staging table into the table; `collect` returns the changed keys.
    pub async fn merge(
        &self,
        conn: &mut PgConnection,
        job: &ImportJob,
        collect: bool,
    ) -> Result<(pb::ImportCounts, Changes), ApiError> {
        let (table, staging) = (self.table, self.staging);
        let join = self.join();
        let mut clock = Phases::new(job.id());
        sqlx::query(&format!("ANALYZE {staging}"))
            .execute(&mut *conn)
            .await
            .map_err(err)?;
        clock.mark("analyze");
        let entities: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {staging}"))
            .fetch_one(&mut *conn)
            .await
            .map_err(err)?;
        clock.mark("count");
        // The staging table holds one row per key: a plain outer join counts what would
        // vanish (a NOT EXISTS inside an aggregate's FILTER would run once per row).
        let first_key = self.keys[0];
        let row = sqlx::query(&format!(
            "SELECT count(*) AS active, count(*) FILTER (WHERE s.{first_key} IS NULL) AS vanishing \
             FROM {table} t LEFT JOIN {staging} s ON {join} WHERE t.active"
        ))
        .fetch_one(&mut *conn)
        .await
        .map_err(err)?;
        clock.mark("vanishing");
        let active: i64 = row.get("active");
        let vanishing: i64 = row.get("vanishing");
        let ratio = job.max_deactivation_ratio();
        if active > 0 && vanishing as f64 > ratio * active as f64 && !job.allow_mass_deactivation()
        {
            return Err(ApiError::failed_precondition(
                "mass_deactivation",
                format!(
                    "this file would deactivate {vanishing} of {active} active entries (over {:.1}%); \
                     is it complete? Set allow_mass_deactivation to apply it anyway",
                    ratio * 100.0
                ),
            ));
        }
        let keys = self.keys.join(", ");
        let reactivated: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT {} FROM {table} t JOIN {staging} s ON {join} WHERE NOT t.active",
            self.key_expr("t")
        ))
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
        clock.mark("reactivated");
        let columns = self.columns.join(", ");
        let set: String = self
            .columns
            .iter()
            .map(|c| format!("{c} = s.{c}, "))
            .collect();
        let key_t = self.key_expr("t");
        // Changed or returning entries: one UPDATE over a join (no speculative inserts;
        // unchanged rows are not touched at all).
        let changed_keys: Vec<String> = sqlx::query_scalar(&format!(
            "UPDATE {table} t SET {set} content_hash = s.content_hash, active = true, \
               import_id = $1, updated_at = now(), deactivated_at = NULL \
             FROM {staging} s WHERE {join} AND (t.content_hash <> s.content_hash OR NOT t.active) \
             RETURNING {key_t}"
        ))
        .bind(job.id())
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
        let changed = changed_keys.len() as i64;
        // New entries.
        let added = sqlx::query(&format!(
            "INSERT INTO {table} ({keys}, {columns}, content_hash, active, import_id, updated_at) \
             SELECT {keys}, {columns}, content_hash, true, $1, now() FROM {staging} s \
             WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {join})"
        ))
        .bind(job.id())
        .execute(&mut *conn)
        .await
        .map_err(err)?
        .rows_affected() as i64;
        clock.mark("upsert");
        let deactivated: Vec<String> = sqlx::query_scalar(&format!(
            "WITH d AS (UPDATE {table} t SET active = false, deactivated_at = now(), import_id = $1, \
               updated_at = now() WHERE t.active AND NOT EXISTS (SELECT 1 FROM {staging} s WHERE {join}) \
               RETURNING {} AS k) \
             SELECT k FROM d",
            self.key_expr("t")
        ))
        .bind(job.id())
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
        clock.mark("deactivate");
        let reactivated_n = reactivated.len() as i64;
        let updated_n = changed - reactivated_n;
        let counts = pb::ImportCounts {
            entities: entities as u64,
            added: added as u64,
            updated: updated_n.max(0) as u64,
            deactivated: deactivated.len() as u64,
            reactivated: reactivated_n as u64,
            unchanged: (entities - added - changed).max(0) as u64,
            ..Default::default()
        };
        let changes = if collect {
            let re: std::collections::HashSet<&String> = reactivated.iter().collect();
            let updated = changed_keys
                .into_iter()
                .filter(|k| !re.contains(k))
                .collect();
            Changes {
                updated,
                reactivated,
                deactivated,
            }
        } else {
            Changes::default()
        };
        Ok((counts, changes))
    }
}
