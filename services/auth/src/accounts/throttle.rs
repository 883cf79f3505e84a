//! Throttling of password logins (domain.md §7): per login and per source, failures in
//! the last 24 h are counted; past `free_failures` each attempt must wait a delay that
//! doubles with every failure from `base_delay` (above a minute for logins), and past
//! `max_failures` a login is locked until an operator unlocks it. Unknown logins are
//! throttled and locked exactly like known ones, so nothing tells them apart.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::config::ThrottleSettings;

/// Whether an attempt may go on.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Go,
    /// Too soon after the last failures: retry after this long.
    Wait(Duration),
    /// Locked until an operator unlocks.
    Locked,
}

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// The delay owed after `failures` failures, if any.
pub fn delay(settings: &ThrottleSettings, failures: u64) -> Option<Duration> {
    let over = failures.checked_sub(settings.free_failures)?;
    let doublings = u32::try_from(over.min(30)).unwrap_or(30);
    let secs = settings
        .base_delay_secs
        .saturating_mul(1u64 << doublings)
        .min(settings.max_delay_secs);
    Some(Duration::from_secs(secs))
}

/// The verdict for `key` (`login:<name>` or `source:<ip>`) now.
pub async fn check<C: ConnectionTrait>(
    conn: &C,
    key: &str,
    settings: &ThrottleSettings,
    now: DateTime<Utc>,
) -> Result<Verdict, DbErr> {
    if settings.max_failures > 0 {
        let locked = conn
            .query_one(stmt(
                "SELECT 1 AS locked FROM login_locks WHERE key = $1",
                [key.into()],
            ))
            .await?;
        if locked.is_some() {
            return Ok(Verdict::Locked);
        }
    }
    let row = conn
        .query_one(stmt(
            "SELECT count(*) AS n, max(at) AS last FROM login_failures \
             WHERE key = $1 AND at > now() - interval '24 hours'",
            [key.into()],
        ))
        .await?;
    let (n, last): (i64, Option<DateTime<Utc>>) = match row {
        Some(r) => (r.try_get("", "n")?, r.try_get("", "last")?),
        None => (0, None),
    };
    let Some(owed) = delay(settings, u64::try_from(n).unwrap_or(0)) else {
        return Ok(Verdict::Go);
    };
    let elapsed = last.map_or(chrono::Duration::MAX, |l| now - l);
    let owed_c = chrono::Duration::from_std(owed).unwrap_or(chrono::Duration::MAX);
    if elapsed >= owed_c {
        Ok(Verdict::Go)
    } else {
        Ok(Verdict::Wait((owed_c - elapsed).to_std().unwrap_or(owed)))
    }
}

/// Records a failure of `key`; locks it when it reached `max_failures` in 24 h. Returns
/// whether it is now locked.
pub async fn fail<C: ConnectionTrait>(
    conn: &C,
    key: &str,
    settings: &ThrottleSettings,
) -> Result<bool, DbErr> {
    conn.execute(stmt(
        "INSERT INTO login_failures (key, at) VALUES ($1, now())",
        [key.into()],
    ))
    .await?;
    if settings.max_failures == 0 {
        return Ok(false);
    }
    let locked = conn
        .execute(stmt(
            "INSERT INTO login_locks (key, locked_at) \
             SELECT $1, now() WHERE (SELECT count(*) FROM login_failures \
             WHERE key = $1 AND at > now() - interval '24 hours') >= $2 \
             ON CONFLICT (key) DO NOTHING",
            [key.into(), (settings.max_failures as i64).into()],
        ))
        .await?
        .rows_affected();
    Ok(locked == 1)
}

/// Forgets the failures of `key` (a successful login).
pub async fn succeed<C: ConnectionTrait>(conn: &C, key: &str) -> Result<(), DbErr> {
    conn.execute(stmt(
        "DELETE FROM login_failures WHERE key = $1",
        [key.into()],
    ))
    .await?;
    Ok(())
}

/// Lifts the lock of `key` and forgets its failures; returns whether it was locked.
pub async fn unlock<C: ConnectionTrait>(conn: &C, key: &str) -> Result<bool, DbErr> {
    let was = conn
        .execute(stmt("DELETE FROM login_locks WHERE key = $1", [key.into()]))
        .await?
        .rows_affected();
    succeed(conn, key).await?;
    Ok(was == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_starts_above_a_minute_after_five_failures_and_doubles() {
        let s = ThrottleSettings::accounts();
        assert_eq!(delay(&s, 4), None);
        assert_eq!(delay(&s, 5), Some(Duration::from_secs(120)));
        assert_eq!(delay(&s, 6), Some(Duration::from_secs(240)));
        assert_eq!(delay(&s, 7), Some(Duration::from_secs(480)));
        assert_eq!(delay(&s, 24), Some(Duration::from_secs(s.max_delay_secs)));
        assert_eq!(
            delay(&s, u64::MAX),
            Some(Duration::from_secs(s.max_delay_secs))
        );
        assert_eq!(s.max_failures, 25);
    }
}
