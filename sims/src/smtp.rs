//! `egide-mail-sim`: a simulator of the SMTP relay Égide's mailer sends
//! through. It accepts every message and captures it as a file instead of
//! delivering it; read them back with [`crate::mailbox`].
//!
//! # Protocol (RFC 5321, plain text, no TLS, no AUTH)
//!
//! | command | answer |
//! |---|---|
//! | greeting | `220 <host> ESMTP egide-mail-sim (simulator, nothing is delivered)` |
//! | `EHLO d` | `250-<host>`, `250-SIZE <max>`, `250-8BITMIME`, `250-PIPELINING`, `250 ENHANCEDSTATUSCODES` |
//! | `HELO d` | `250 <host>` |
//! | `MAIL FROM:<a> [SIZE=n] [BODY=7BIT\|8BITMIME]` | `250`; `503` before HELO/EHLO or inside a transaction, `552` if `SIZE` is over the limit, `555` for other parameters, `501` for a bad path |
//! | `RCPT TO:<a>` | `250`; `503` before MAIL, `452` past [`SmtpConfig::max_recipients`], `501` for a bad path |
//! | `DATA` | `354`, then the message up to `<CRLF>.<CRLF>` with dot-unstuffing; `250` once written, `552` over [`SmtpConfig::max_message_bytes`], `500` for a line over 1000 bytes; `503` without recipients |
//! | `RSET`, `NOOP` | `250` |
//! | `QUIT` | `221`, then the connection closes |
//! | `VRFY`, `EXPN`, `HELP`, `AUTH`, `STARTTLS`, `BDAT`, `ETRN`, `TURN` | `502` (not implemented) |
//! | anything else | `500` |
//!
//! Command lines are limited to 512 bytes and text lines to 1000 (RFC 5321
//! §4.5.3.1), both including CRLF; a bare LF is accepted as a line end. A
//! session idle for [`SmtpConfig::idle_timeout`] gets `421` and is closed,
//! as is one after 10 consecutive bad commands. At most 64 sessions run at
//! once; more get `421`.
//!
//! # Capture
//!
//! Each accepted message is written to `<dir>/<unix_nanos>-<seq>.eml`
//! (`seq` counts messages since the simulator started) through a temporary
//! `.<name>.tmp` file renamed into place, so a reader never sees half a
//! message. Two headers are prepended to the message as received:
//! `X-Egide-Envelope-From: <reverse-path>` and `X-Egide-Envelope-To:` with
//! the envelope recipients separated by `, `. The simulator logs envelope
//! sizes and counts, never addresses or contents.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Default [`SmtpConfig::max_message_bytes`]: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Default [`SmtpConfig::max_recipients`] (RFC 5321 §4.5.3.1.8's minimum).
pub const DEFAULT_MAX_RECIPIENTS: usize = 100;
/// Default [`SmtpConfig::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest command line, CRLF included.
pub const MAX_COMMAND_LINE: usize = 512;
/// Longest text line in DATA, CRLF included.
pub const MAX_TEXT_LINE: usize = 1000;
/// Most sessions served at once.
pub const MAX_SESSIONS: usize = 64;
/// Longest accepted mailbox in a path.
const MAX_ADDRESS: usize = 254;
/// Consecutive bad commands before the session is closed.
const MAX_ERRORS: u32 = 10;

/// The relay simulator's settings.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// Where captured messages are written (created if missing).
    pub dir: PathBuf,
    /// The host name in the greeting and replies.
    pub hostname: String,
    /// Largest accepted message (after dot-unstuffing, before the capture
    /// headers).
    pub max_message_bytes: usize,
    /// Most recipients per message.
    pub max_recipients: usize,
    /// How long a session may stay silent.
    pub idle_timeout: Duration,
}

impl SmtpConfig {
    /// Defaults, capturing into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> SmtpConfig {
        SmtpConfig {
            dir: dir.into(),
            hostname: "mail-sim.egide.test".into(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_recipients: DEFAULT_MAX_RECIPIENTS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Serves SMTP on `listener` until `shutdown` resolves (sessions in
/// progress are then dropped).
pub async fn serve(
    listener: TcpListener,
    config: SmtpConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::fs::create_dir_all(&config.dir).await?;
    let shared = Arc::new(Shared {
        config,
        seq: AtomicU64::new(0),
    });
    let sessions = Arc::new(Semaphore::new(MAX_SESSIONS));
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (mut stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Reap finished sessions so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&sessions).try_acquire_owned() else {
            let _ = stream
                .write_all(b"421 4.3.2 Too many sessions, try again later\r\n")
                .await;
            continue;
        };
        let shared = Arc::clone(&shared);
        tasks.spawn(async move {
            if let Err(e) = session(stream, &shared).await {
                tracing::debug!(%peer, error = %e, "session ended with an error");
            }
            drop(permit);
        });
    }
    tasks.shutdown().await;
    Ok(())
}

struct Shared {
    config: SmtpConfig,
    seq: AtomicU64,
}

/// One mail transaction (RFC 5321 §3.3).
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    to: Vec<String>,
}

enum Line {
    /// A line, without its line ending.
    Text(Vec<u8>),
    /// A line longer than the limit (consumed and dropped).
    TooLong,
    /// End of stream (a partial last line is dropped).
    Eof,
}

/// Reads one line of at most `max` bytes including the line ending.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, max: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::Eof);
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            if line.len() + take > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(&available[..take]);
            }
        }
        r.consume(take);
        if done {
            if too_long {
                return Ok(Line::TooLong);
            }
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Line::Text(line));
        }
    }
}

async fn session(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let config = &shared.config;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let idle = config.idle_timeout;
    write
        .write_all(
            format!(
                "220 {} ESMTP egide-mail-sim (simulator, nothing is delivered)\r\n",
                config.hostname
            )
            .as_bytes(),
        )
        .await?;
    let mut greeted = false;
    let mut tx: Option<Transaction> = None;
    let mut errors = 0u32;
    loop {
        let line = match tokio::time::timeout(idle, read_line(&mut read, MAX_COMMAND_LINE)).await {
            Err(_) => {
                write
                    .write_all(b"421 4.4.2 Idle timeout, closing connection\r\n")
                    .await?;
                return Ok(());
            }
            Ok(line) => line?,
        };
        let reply = match line {
            Line::Eof => return Ok(()),
            Line::TooLong => Reply::Error("500 5.5.2 Line too long".into()),
            Line::Text(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                command(&text, config, &mut greeted, &mut tx)
            }
        };
        let reply = match reply {
            Reply::Data => {
                write
                    .write_all(b"354 3.0.0 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let Some(t) = tx.take() else {
                    continue;
                };
                match tokio::time::timeout(idle * 10, read_data(&mut read, config)).await {
                    Err(_) => {
                        write
                            .write_all(b"421 4.4.2 Timeout during DATA, closing connection\r\n")
                            .await?;
                        return Ok(());
                    }
                    Ok(Err(e)) => return Err(e),
                    Ok(Ok(Data::Eof)) => return Ok(()),
                    Ok(Ok(Data::TooLarge)) => Reply::Ok(format!(
                        "552 5.3.4 Message size exceeds fixed maximum message size ({} bytes)",
                        config.max_message_bytes
                    )),
                    Ok(Ok(Data::LineTooLong)) => {
                        Reply::Ok("500 5.5.2 Line too long in message".into())
                    }
                    Ok(Ok(Data::Message(body))) => match store(shared, &t, &body).await {
                        Ok(name) => {
                            tracing::info!(bytes = body.len(), recipients = t.to.len(), file = %name, "message captured");
                            Reply::Ok(format!("250 2.0.0 Ok: queued as {name}"))
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot write a captured message");
                            Reply::Ok("451 4.3.0 Cannot store the message".into())
                        }
                    },
                }
            }
            other => other,
        };
        match reply {
            Reply::Ok(text) => {
                errors = 0;
                write.write_all(format!("{text}\r\n").as_bytes()).await?;
            }
            Reply::Error(text) => {
                errors += 1;
                if errors >= MAX_ERRORS {
                    write
                        .write_all(b"421 4.7.0 Too many errors, closing connection\r\n")
                        .await?;
                    return Ok(());
                }
                write.write_all(format!("{text}\r\n").as_bytes()).await?;
            }
            Reply::Quit => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            Reply::Data => {}
        }
    }
}

enum Reply {
    /// A success (or non-error) reply line(s), without the final CRLF.
    Ok(String),
    /// An error reply: counts towards closing the session.
    Error(String),
    /// Go on with DATA.
    Data,
    /// Say goodbye and close.
    Quit,
}

fn command(
    line: &str,
    config: &SmtpConfig,
    greeted: &mut bool,
    tx: &mut Option<Transaction>,
) -> Reply {
    let (verb, arg) = match line.split_once(' ') {
        Some((v, a)) => (v, a.trim()),
        None => (line.trim(), ""),
    };
    let bad_sequence = || Reply::Error("503 5.5.1 Bad sequence of commands".into());
    match verb.to_ascii_uppercase().as_str() {
        "EHLO" | "HELO" if arg.is_empty() => Reply::Error("501 5.5.4 Syntax: EHLO domain".into()),
        "EHLO" => {
            *greeted = true;
            *tx = None;
            Reply::Ok(format!(
                "250-{} greets {}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES",
                config.hostname,
                printable(arg),
                config.max_message_bytes
            ))
        }
        "HELO" => {
            *greeted = true;
            *tx = None;
            Reply::Ok(format!("250 {}", config.hostname))
        }
        "MAIL" => {
            if !*greeted || tx.is_some() {
                return bad_sequence();
            }
            let (path, params) = match parse_path(arg, "FROM:", true) {
                Ok(p) => p,
                Err(reply) => return reply,
            };
            for param in params.split_whitespace() {
                let (key, value) = param.split_once('=').unwrap_or((param, ""));
                match key.to_ascii_uppercase().as_str() {
                    "SIZE" => match value.parse::<u64>() {
                        Ok(n) if n > config.max_message_bytes as u64 => {
                            return Reply::Error(format!(
                                "552 5.3.4 Message size exceeds fixed maximum message size ({} bytes)",
                                config.max_message_bytes
                            ));
                        }
                        Ok(_) => {}
                        Err(_) => return Reply::Error("501 5.5.4 Bad SIZE parameter".into()),
                    },
                    "BODY"
                        if matches!(value.to_ascii_uppercase().as_str(), "7BIT" | "8BITMIME") => {}
                    _ => return Reply::Error("555 5.5.4 Unsupported MAIL parameter".into()),
                }
            }
            *tx = Some(Transaction {
                from: Some(path),
                to: Vec::new(),
            });
            Reply::Ok("250 2.1.0 Ok".into())
        }
        "RCPT" => {
            let Some(t) = tx.as_mut() else {
                return bad_sequence();
            };
            let (path, params) = match parse_path(arg, "TO:", false) {
                Ok(p) => p,
                Err(reply) => return reply,
            };
            if !params.is_empty() {
                return Reply::Error("555 5.5.4 Unsupported RCPT parameter".into());
            }
            if t.to.len() >= config.max_recipients {
                return Reply::Error("452 4.5.3 Too many recipients".into());
            }
            t.to.push(path);
            Reply::Ok("250 2.1.5 Ok".into())
        }
        "DATA" => {
            if !arg.is_empty() {
                return Reply::Error("501 5.5.4 DATA takes no argument".into());
            }
            match tx {
                Some(t) if !t.to.is_empty() => Reply::Data,
                Some(_) => Reply::Error("554 5.5.1 No valid recipients".into()),
                None => bad_sequence(),
            }
        }
        "RSET" => {
            *tx = None;
            Reply::Ok("250 2.0.0 Ok".into())
        }
        "NOOP" => Reply::Ok("250 2.0.0 Ok".into()),
        "QUIT" => Reply::Quit,
        "VRFY" | "EXPN" | "HELP" | "AUTH" | "STARTTLS" | "BDAT" | "ETRN" | "TURN" => {
            Reply::Error("502 5.5.1 Command not implemented".into())
        }
        _ => Reply::Error("500 5.5.2 Command unrecognized".into()),
    }
}

/// Parses `FROM:<path> params` / `TO:<path> params`; returns the path
/// without brackets and the rest.
fn parse_path<'a>(arg: &'a str, keyword: &str, empty_ok: bool) -> Result<(String, &'a str), Reply> {
    let syntax = || Reply::Error(format!("501 5.5.4 Syntax: {keyword}<address>"));
    let Some(head) = arg.get(..keyword.len()) else {
        return Err(syntax());
    };
    if !head.eq_ignore_ascii_case(keyword) {
        return Err(syntax());
    }
    let rest = arg[keyword.len()..].trim_start();
    let Some(rest) = rest.strip_prefix('<') else {
        return Err(syntax());
    };
    let Some(end) = rest.find('>') else {
        return Err(syntax());
    };
    let path = &rest[..end];
    let params = rest[end + 1..].trim();
    if path.is_empty() && !empty_ok {
        return Err(Reply::Error("501 5.1.3 Empty recipient".into()));
    }
    if path.len() > MAX_ADDRESS
        || path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == ',')
    {
        return Err(Reply::Error("501 5.1.3 Bad address syntax".into()));
    }
    if !path.is_empty() && !path.contains('@') && !path.eq_ignore_ascii_case("postmaster") {
        return Err(Reply::Error("501 5.1.3 Bad address syntax".into()));
    }
    Ok((path.to_owned(), params))
}

/// The EHLO argument as shown back: printable ASCII, at most 64 characters.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

enum Data {
    Message(Vec<u8>),
    TooLarge,
    LineTooLong,
    Eof,
}

/// Reads the message after `354`, up to the lone `.` line, unstuffing
/// leading dots and normalising line ends to CRLF.
async fn read_data<R: AsyncBufRead + Unpin>(
    r: &mut R,
    config: &SmtpConfig,
) -> std::io::Result<Data> {
    let mut body = Vec::new();
    let mut too_large = false;
    let mut line_too_long = false;
    loop {
        let line = match read_line(r, MAX_TEXT_LINE).await? {
            Line::Eof => return Ok(Data::Eof),
            Line::TooLong => {
                line_too_long = true;
                continue;
            }
            Line::Text(line) => line,
        };
        if line == b"." {
            break;
        }
        if too_large || line_too_long {
            continue;
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if body.len() + line.len() + 2 > config.max_message_bytes {
            too_large = true;
            body = Vec::new();
            continue;
        }
        body.extend_from_slice(line);
        body.extend_from_slice(b"\r\n");
    }
    Ok(if too_large {
        Data::TooLarge
    } else if line_too_long {
        Data::LineTooLong
    } else {
        Data::Message(body)
    })
}

/// Writes the message atomically; returns the file name.
async fn store(shared: &Shared, tx: &Transaction, body: &[u8]) -> std::io::Result<String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
    let name = format!("{nanos}-{seq}.eml");
    let mut content = format!(
        "X-Egide-Envelope-From: <{}>\r\nX-Egide-Envelope-To: {}\r\n",
        tx.from.as_deref().unwrap_or(""),
        tx.to.join(", ")
    )
    .into_bytes();
    content.extend_from_slice(body);
    let dir = shared.config.dir.clone();
    let file = name.clone();
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        let tmp = dir.join(format!(".{file}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&content)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(&file))
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(name)
}
