//! Mail and SMS leave through an outbox: a message is queued in the same transaction as
//! the state change that needs it, and the dispatcher delivers it to the SMTP relay
//! (SMS through the relay's e-mail-to-SMS gateway), retrying with back-off. A delivered
//! message's body (which carries a one-time code) is erased.

use std::time::Duration;

use chrono::Utc;
use lettre::{
    AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult, Statement, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::MailSettings;

/// The channel a message leaves on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// E-mail.
    Email,
    /// SMS.
    Sms,
}

/// Queues a message in `conn`'s transaction.
pub async fn queue<C: ConnectionTrait>(
    conn: &C,
    channel: Channel,
    recipient: &str,
    subject: &str,
    body: &str,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    conn.execute(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO outbound_messages (id, channel, recipient, subject, body, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
        [
            Value::from(id),
            Value::from(match channel {
                Channel::Email => "email",
                Channel::Sms => "sms",
            }),
            Value::from(recipient),
            Value::from(subject),
            Value::from(body),
            Value::from(now),
        ],
    ))
    .await?;
    Ok(id)
}

/// `smtp://host:port` → (host, port); port 25 when absent.
pub fn relay_address(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("smtp://")?.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (rest, 25),
    };
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// Masks an e-mail address for display: `j***@example.org`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Masks a phone number for display: `******5678`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().saturating_sub(4);
    digits
        .iter()
        .enumerate()
        .map(|(i, c)| if i < keep { '*' } else { *c })
        .collect()
}

/// Whether `email` looks like a deliverable address (one `@`, a dotted domain, no spaces or
/// control characters, at most 254 bytes).
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.chars().all(|c| !c.is_whitespace() && !c.is_control())
        && email.parse::<Mailbox>().is_ok()
}

/// Normalises a phone number to its digits with an optional leading `+`; `None` when it
/// has fewer than 8 or more than 15 digits.
pub fn normalise_phone(phone: &str) -> Option<String> {
    let trimmed = phone.trim();
    let plus = trimmed.starts_with('+');
    let digits: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .skip(usize::from(plus))
        .collect();
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if plus { format!("+{digits}") } else { digits })
}

#[derive(FromQueryResult)]
struct Due {
    id: Uuid,
    channel: String,
    recipient: String,
    subject: String,
    body: Option<String>,
    attempts: i32,
}

/// Delivers queued messages.
#[derive(Clone)]
pub struct Dispatcher {
    db: DatabaseConnection,
    settings: MailSettings,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    wake: std::sync::Arc<Notify>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("relay", &self.settings.smtp_url)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher for `settings`; fails on an unusable relay URL or From address.
    pub fn new(db: DatabaseConnection, settings: MailSettings) -> anyhow::Result<Self> {
        let (host, port) = relay_address(&settings.smtp_url).ok_or_else(|| {
            anyhow::anyhow!(
                "mail.smtp_url: expected smtp://host:port, got {:?}",
                settings.smtp_url
            )
        })?;
        // Plain SMTP to a relay on the local network (the MTA beside the service does
        // TLS onwards); no TLS client is built in.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("mail.from: {e}"))?;
        Ok(Self {
            db,
            settings,
            transport,
            from,
            wake: std::sync::Arc::default(),
        })
    }

    /// A handle that makes the dispatcher look now rather than at its next poll.
    pub fn waker(&self) -> std::sync::Arc<Notify> {
        self.wake.clone()
    }

    /// Delivers until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.round().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "mail dispatch round failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// One round: claims due messages and tries each once. Returns how many it tried.
    pub async fn round(&self) -> Result<usize, DbErr> {
        use sea_orm::TransactionTrait as _;
        let txn = self.db.begin().await?;
        let due = Due::find_by_statement(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "SELECT id, channel, recipient, subject, body, attempts FROM outbound_messages \
             WHERE sent_at IS NULL AND next_attempt_at <= now() AND attempts < $1 \
             ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED",
            [Value::from(self.settings.max_attempts as i32)],
        ))
        .all(&txn)
        .await?;
        let n = due.len();
        for m in due {
            let outcome = self.deliver(&m).await;
            let (sql, error) = match outcome {
                Ok(()) => (
                    "UPDATE outbound_messages SET sent_at = now(), body = NULL, \
                     attempts = attempts + 1, last_error = $2 WHERE id = $1",
                    None,
                ),
                Err(e) => (
                    "UPDATE outbound_messages SET attempts = attempts + 1, last_error = $2, \
                     next_attempt_at = now() + make_interval(secs => least(300, 2 ^ attempts)) \
                     WHERE id = $1",
                    Some(e),
                ),
            };
            if let Some(e) = &error {
                tracing::warn!(message = %m.id, attempts = m.attempts + 1, error = %e, "delivery failed");
            }
            txn.execute(Statement::from_sql_and_values(
                txn.get_database_backend(),
                sql,
                [Value::from(m.id), Value::from(error)],
            ))
            .await?;
        }
        txn.commit().await?;
        Ok(n)
    }

    async fn deliver(&self, m: &Due) -> Result<(), String> {
        let to = if m.channel == "sms" {
            let digits: String = m.recipient.chars().filter(char::is_ascii_digit).collect();
            format!("{digits}@{}", self.settings.sms_gateway_domain)
        } else {
            m.recipient.clone()
        };
        let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone().unwrap_or_default())
            .map_err(|e| format!("message: {e}"))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| format!("smtp: {e}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn relay_urls() {
        assert_eq!(
            relay_address("smtp://127.0.0.1:2525"),
            Some(("127.0.0.1".into(), 2525))
        );
        assert_eq!(
            relay_address("smtp://mx.local"),
            Some(("mx.local".into(), 25))
        );
        assert_eq!(relay_address("smtps://mx.local:465"), None);
        assert_eq!(relay_address("smtp://:25"), None);
    }

    #[test]
    fn masks() {
        assert_eq!(mask_email("jeanne@example.org"), "j***@example.org");
        assert_eq!(mask_phone("06 12 34 56 78"), "******5678");
    }

    #[test]
    fn emails() {
        assert!(is_plausible_email("a.b@example.org"));
        for bad in [
            "",
            "a",
            "@x.org",
            "a@",
            "a@b",
            "a b@x.org",
            "a@.org",
            "a@x.org.",
        ] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(
            normalise_phone("06 12 34 56 78").as_deref(),
            Some("0612345678")
        );
        assert_eq!(
            normalise_phone("+33 6 12 34 56 78").as_deref(),
            Some("+33612345678")
        );
        assert_eq!(normalise_phone("12"), None);
        assert_eq!(normalise_phone("06-12-ab"), None);
    }
}
