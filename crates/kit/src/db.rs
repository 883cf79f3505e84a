//! Postgres: one pool per service, migrations applied at start under an advisory lock so
//! that replicas starting together do not race.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};
use sea_orm_migration::MigratorTrait;
use secrecy::ExposeSecret;

use crate::config::DatabaseConfig;

/// Advisory lock key held while migrations run ("egide-migrate" as a number).
const MIGRATION_LOCK: i64 = 0x6567_6964_655f_6d69;

/// Opens the service's pool. Fails when the database is unreachable; callers decide
/// whether to retry (services do, see [`connect_with_retry`]).
pub async fn connect(config: &DatabaseConfig) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.url.expose_secret().to_owned());
    options
        .max_connections(config.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// [`connect`], retried with backoff until it works or `deadline` passes.
pub async fn connect_with_retry(
    config: &DatabaseConfig,
    deadline: Duration,
) -> Result<DatabaseConnection, DbErr> {
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        match connect(config).await {
            Ok(db) => return Ok(db),
            Err(error) if start.elapsed() < deadline => {
                tracing::warn!(%error, "database not reachable yet, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error),
        }
    }
}

/// Applies every pending migration of `M` on a dedicated connection holding a Postgres
/// advisory lock, so that replicas starting together apply them once.
pub async fn migrate<M: MigratorTrait>(config: &DatabaseConfig) -> Result<(), DbErr> {
    let mut options = ConnectOptions::new(config.url.expose_secret().to_owned());
    options
        .max_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    let conn = Database::connect(options).await?;
    let backend = conn.get_database_backend();
    conn.execute(Statement::from_sql_and_values(
        backend,
        "SELECT pg_advisory_lock($1)",
        [MIGRATION_LOCK.into()],
    ))
    .await?;
    let result = M::up(&conn, None).await;
    let unlock = conn
        .execute(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_unlock($1)",
            [MIGRATION_LOCK.into()],
        ))
        .await;
    conn.close().await?;
    result.and(unlock.map(|_| ()))
}

/// A readiness check that pings the database.
pub fn readiness_check(db: DatabaseConnection) -> crate::health::Check {
    crate::health::check(move || {
        let db = db.clone();
        async move { db.ping().await.map_err(|e| format!("postgres: {e}")) }
    })
}
