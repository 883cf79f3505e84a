//! One-time codes sent by e-mail or SMS.
//!
//! A code is stored only as SHA-256(owner, purpose, code) and compared in constant time;
//! each owner and purpose has one live code, with an expiry, an attempt limit and a limit
//! on how many codes may be sent.

use chrono::{DateTime, Utc};
use egide_kit::ApiError;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement, Value};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::config::CodeSettings;

/// What a code is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Confirms a patient's e-mail during wallet enrolment.
    WalletEmail,
    /// e-CPS activation, e-mail channel.
    EcpsEmail,
    /// e-CPS activation, SMS channel.
    EcpsSms,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::WalletEmail => "wallet_email",
            Self::EcpsEmail => "ecps_email",
            Self::EcpsSms => "ecps_sms",
        }
    }
}

/// A freshly issued code: the clear value goes into a message, never into a log.
pub struct Issued {
    /// The digits.
    pub code: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Random decimal digits from the OS generator (rejection sampling, no modulo bias).
pub fn random_digits(digits: u32) -> Result<String, ApiError> {
    let digits = digits.clamp(4, 12);
    let bound = 10_u64.pow(digits);
    let zone = u64::MAX - u64::MAX % bound;
    loop {
        let mut buf = [0_u8; 8];
        getrandom::fill(&mut buf).map_err(|e| ApiError::internal(anyhow::anyhow!("rng: {e}")))?;
        let n = u64::from_le_bytes(buf);
        if n < zone {
            return Ok(format!("{:0width$}", n % bound, width = digits as usize));
        }
    }
}

/// A random URL-safe token of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> Result<String, ApiError> {
    let mut buf = vec![0_u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ApiError::internal(anyhow::anyhow!("rng: {e}")))?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        buf,
    ))
}

fn digest(owner: &str, purpose: Purpose, code: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in [owner, purpose.as_str(), code] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().to_vec()
}

#[derive(FromQueryResult)]
struct Row {
    code_hash: Vec<u8>,
    expires_at: DateTime<Utc>,
    attempts: i32,
    sent: i32,
}

async fn current<C: ConnectionTrait>(
    conn: &C,
    owner: &str,
    purpose: Purpose,
    lock: bool,
) -> Result<Option<Row>, DbErr> {
    let sql = format!(
        "SELECT code_hash, expires_at, attempts, sent FROM one_time_codes \
         WHERE owner = $1 AND purpose = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    Row::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        [Value::from(owner), Value::from(purpose.as_str())],
    ))
    .one(conn)
    .await
}

/// Issues a new code for `owner` and `purpose`, replacing the live one. Call it inside the
/// transaction that queues the message carrying it. `first` resets the send counter
/// (a new enrolment); otherwise the send limit applies.
pub async fn issue<C: ConnectionTrait>(
    conn: &C,
    settings: &CodeSettings,
    owner: &str,
    purpose: Purpose,
    first: bool,
) -> Result<Issued, ApiError> {
    let sent = if first {
        0
    } else {
        current(conn, owner, purpose, true)
            .await?
            .map_or(0, |r| r.sent)
    };
    if sent >= settings.max_sends as i32 {
        return Err(ApiError::resource_exhausted(
            "too_many_codes",
            format!("at most {} codes may be sent", settings.max_sends),
        ));
    }
    let code = random_digits(settings.digits)?;
    let now = Utc::now();
    let expires_at = now + chrono::Duration::seconds(settings.ttl_secs as i64);
    conn.execute(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO one_time_codes (owner, purpose, code_hash, expires_at, attempts, sent, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6) \
         ON CONFLICT (owner, purpose) DO UPDATE SET code_hash = EXCLUDED.code_hash, \
           expires_at = EXCLUDED.expires_at, attempts = 0, sent = EXCLUDED.sent, \
           created_at = EXCLUDED.created_at",
        [
            Value::from(owner),
            Value::from(purpose.as_str()),
            Value::from(digest(owner, purpose, &code)),
            Value::from(expires_at),
            Value::from(sent + 1),
            Value::from(now),
        ],
    ))
    .await?;
    Ok(Issued { code, expires_at })
}

/// Why a code was refused.
#[derive(Debug)]
pub enum Refusal {
    /// No live code.
    Missing,
    /// Past its expiry.
    Expired,
    /// Too many wrong entries already.
    Exhausted,
    /// Wrong; this many attempts remain.
    Wrong(u32),
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Missing => {
                ApiError::failed_precondition("no_code", "no code is pending; ask for a new one")
            }
            Refusal::Expired => ApiError::failed_precondition(
                "code_expired",
                "the code has expired; ask for a new one",
            ),
            Refusal::Exhausted => ApiError::resource_exhausted(
                "too_many_attempts",
                "too many wrong codes; ask for a new one",
            ),
            Refusal::Wrong(left) => ApiError::permission_denied(
                "wrong_code",
                format!("wrong code; {left} attempt(s) left"),
            ),
        }
    }
}

/// Checks `code`. A wrong code counts an attempt (the caller must commit even then); a
/// right one is consumed. Call it in a transaction.
pub async fn check<C: ConnectionTrait>(
    conn: &C,
    settings: &CodeSettings,
    owner: &str,
    purpose: Purpose,
    code: &str,
) -> Result<Result<(), Refusal>, DbErr> {
    let Some(row) = current(conn, owner, purpose, true).await? else {
        return Ok(Err(Refusal::Missing));
    };
    if row.attempts >= settings.max_attempts as i32 {
        return Ok(Err(Refusal::Exhausted));
    }
    if row.expires_at <= Utc::now() {
        return Ok(Err(Refusal::Expired));
    }
    let given = digest(owner, purpose, code.trim());
    if bool::from(given.ct_eq(&row.code_hash)) {
        conn.execute(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "DELETE FROM one_time_codes WHERE owner = $1 AND purpose = $2",
            [Value::from(owner), Value::from(purpose.as_str())],
        ))
        .await?;
        return Ok(Ok(()));
    }
    conn.execute(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "UPDATE one_time_codes SET attempts = attempts + 1 WHERE owner = $1 AND purpose = $2",
        [Value::from(owner), Value::from(purpose.as_str())],
    ))
    .await?;
    let left = (settings.max_attempts as i32 - row.attempts - 1).max(0) as u32;
    Ok(Err(if left == 0 {
        Refusal::Exhausted
    } else {
        Refusal::Wrong(left)
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn digits_have_the_asked_length_and_vary() {
        let a = random_digits(6).unwrap();
        assert_eq!(a.len(), 6);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        let many: std::collections::HashSet<_> =
            (0..50).map(|_| random_digits(6).unwrap()).collect();
        assert!(many.len() > 40, "codes repeat too often: {}", many.len());
    }

    #[test]
    fn digests_bind_owner_and_purpose() {
        let a = digest("w1", Purpose::WalletEmail, "123456");
        assert_ne!(a, digest("w2", Purpose::WalletEmail, "123456"));
        assert_ne!(a, digest("w1", Purpose::EcpsEmail, "123456"));
        assert_ne!(a, digest("w1", Purpose::WalletEmail, "123457"));
        // Length prefixes: ("ab","c") and ("a","bc") differ.
        assert_ne!(
            digest("ab", Purpose::WalletEmail, "1"),
            digest("a", Purpose::WalletEmail, "b1")
        );
    }
}
