//! Reading back what `egide-mail-sim` captured: the `.eml` files of its
//! directory, selected by envelope recipient, with the text body decoded so
//! that a test or the CLI can read a one-time code from a mail.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! let mailbox = egide_sims::mailbox::Mailbox::new("/tmp/mail");
//! let mail = mailbox.wait_latest_to("marie@example.test", Duration::from_secs(10)).await?;
//! let code = mail.find_code(6).expect("a 6-digit code");
//! # Ok(()) }
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::mime;

/// Largest file read as a message (the relay accepts 1 MiB by default).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Poll interval of the `wait_*` functions.
const POLL: Duration = Duration::from_millis(50);

/// The capture directory of a mail simulator.
#[derive(Clone, Debug)]
pub struct Mailbox {
    dir: PathBuf,
}

/// One captured message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The `.eml` file.
    pub path: PathBuf,
    /// Headers in order, unfolded, RFC 2047 encoded words decoded; the
    /// simulator's `X-Egide-Envelope-*` headers first.
    pub headers: Vec<(String, String)>,
    /// The text: the first `text/plain` part (else the first text part),
    /// transfer encoding (7bit, 8bit, quoted-printable, base64) and charset
    /// (UTF-8, Latin-1) decoded, with LF line ends.
    pub body: String,
}

impl Message {
    /// Parses the bytes of an `.eml` file.
    pub fn parse(path: impl Into<PathBuf>, raw: &[u8]) -> Message {
        let (headers, body) = mime::split(raw);
        let body = mime::text_body(&headers, body);
        Message {
            path: path.into(),
            headers,
            body,
        }
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Subject`, decoded.
    pub fn subject(&self) -> Option<&str> {
        self.header("Subject")
    }

    /// The envelope recipients (`X-Egide-Envelope-To`).
    pub fn envelope_to(&self) -> Vec<&str> {
        self.header("X-Egide-Envelope-To")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether `addr` is an envelope recipient (case-insensitive).
    pub fn is_to(&self, addr: &str) -> bool {
        self.envelope_to()
            .iter()
            .any(|a| a.eq_ignore_ascii_case(addr.trim()))
    }

    /// The first run of exactly `digits` ASCII digits in the body (a
    /// one-time code), not part of a longer number.
    pub fn find_code(&self, digits: usize) -> Option<String> {
        self.body
            .split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() == digits)
            .map(str::to_owned)
    }
}

impl Mailbox {
    /// The mailbox captured in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Mailbox {
        Mailbox { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every captured message, oldest first (a missing directory is empty).
    pub fn messages(&self) -> io::Result<Vec<Message>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files: Vec<((u128, u64), PathBuf)> = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if let Some(key) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(order_key)
            {
                files.push((key, path));
            }
        }
        files.sort();
        let mut messages = Vec::with_capacity(files.len());
        for (_, path) in files {
            match std::fs::metadata(&path) {
                Ok(m) if m.len() > MAX_FILE_BYTES => continue,
                Ok(_) => {}
                // Removed in between (someone cleaning up): skip.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            match std::fs::read(&path) {
                Ok(raw) => messages.push(Message::parse(path, &raw)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(messages)
    }

    /// The messages whose envelope recipients include `addr`, oldest first.
    pub fn messages_to(&self, addr: &str) -> io::Result<Vec<Message>> {
        Ok(self
            .messages()?
            .into_iter()
            .filter(|m| m.is_to(addr))
            .collect())
    }

    /// The newest message to `addr`.
    pub fn latest_to(&self, addr: &str) -> io::Result<Option<Message>> {
        Ok(self.messages_to(addr)?.pop())
    }

    /// The newest message to `addr`, polling until there is one or
    /// `timeout` passes (`io::ErrorKind::TimedOut`).
    pub async fn wait_latest_to(&self, addr: &str, timeout: Duration) -> io::Result<Message> {
        self.wait_new_to(addr, 0, timeout).await
    }

    /// The newest message to `addr` once there are more than `known` of
    /// them (pass `messages_to(addr)?.len()` taken before triggering a
    /// mail), polling until `timeout` passes (`io::ErrorKind::TimedOut`).
    pub async fn wait_new_to(
        &self,
        addr: &str,
        known: usize,
        timeout: Duration,
    ) -> io::Result<Message> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut messages = self.messages_to(addr)?;
            if messages.len() > known
                && let Some(latest) = messages.pop()
            {
                return Ok(latest);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no new mail to {addr} in {} after {timeout:?}",
                        self.dir.display()
                    ),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// `(unix_nanos, seq)` of a `<unix_nanos>-<seq>.eml` name.
fn order_key(name: &str) -> Option<(u128, u64)> {
    let stem = name.strip_suffix(".eml")?;
    let (nanos, seq) = stem.split_once('-')?;
    Some((nanos.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_recipients() {
        let raw = b"X-Egide-Envelope-From: <noreply@egide.test>\r\nX-Egide-Envelope-To: A@Example.test, b@example.test\r\nSubject: Code\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCommande 1234567 : votre code est 042=\r\n917.\r\n";
        let m = Message::parse("/x/1-0.eml", raw);
        assert_eq!(m.envelope_to(), ["A@Example.test", "b@example.test"]);
        assert!(m.is_to("a@example.test"));
        assert!(!m.is_to("c@example.test"));
        assert_eq!(m.find_code(6).as_deref(), Some("042917"));
        assert_eq!(m.find_code(7).as_deref(), Some("1234567"));
        assert_eq!(m.find_code(8), None);
    }

    #[test]
    fn order_keys() {
        assert_eq!(
            order_key("1700000000000000000-12.eml"),
            Some((1_700_000_000_000_000_000, 12))
        );
        assert_eq!(order_key(".1-2.eml.tmp"), None);
        assert_eq!(order_key("notes.eml"), None);
    }
}
