//! The SMTP relay simulator, served in-process on a port-0 listener: driven
//! by `lettre` (the client Égide's mailer uses) and by raw sockets for what
//! a well-behaved client never sends. Captures are read back with
//! `egide_sims::mailbox`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use egide_sims::mailbox::Mailbox;
use egide_sims::smtp::{self, SmtpConfig};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox as Address, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

struct Sim {
    addr: SocketAddr,
    dir: PathBuf,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Sim {
    fn mailbox(&self) -> Mailbox {
        Mailbox::new(&self.dir)
    }

    fn files(&self) -> usize {
        std::fs::read_dir(&self.dir).map(|d| d.count()).unwrap_or(0)
    }
}

async fn start_with(tune: impl FnOnce(&mut SmtpConfig)) -> Sim {
    let dir = std::env::temp_dir().join(format!(
        "egide-mail-sim-test-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let mut config = SmtpConfig::new(&dir);
    tune(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(smtp::serve(listener, config, async {
        let _ = stopped.await;
    }));
    Sim {
        addr,
        dir,
        _stop: stop,
    }
}

async fn start() -> Sim {
    start_with(|_| {}).await
}

fn mailer(sim: &Sim) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(sim.addr.ip().to_string())
        .port(sim.addr.port())
        .timeout(Some(Duration::from_secs(10)))
        .build()
}

fn from() -> Address {
    "Égide <noreply@egide.test>".parse().unwrap()
}

#[tokio::test]
async fn lettre_delivers_all_three_plain_text_encodings() {
    let sim = start().await;
    let mailer = mailer(&sim);
    let text =
        "Bonjour,\n\nVotre code de vérification Égide est : 482913\n\nIl expire dans 10 minutes.\n";
    for encoding in [
        ContentTransferEncoding::SevenBit,
        ContentTransferEncoding::QuotedPrintable,
        ContentTransferEncoding::Base64,
    ] {
        let body = if encoding == ContentTransferEncoding::SevenBit {
            Body::new_with_encoding(text.replace(['é', 'É'], "e"), encoding).unwrap()
        } else {
            Body::new_with_encoding(text.to_owned(), encoding).unwrap()
        };
        let to = format!("marie+{encoding:?}@example.test").to_lowercase();
        let email = Message::builder()
            .from(from())
            .to(to.parse().unwrap())
            .subject("Votre code de vérification")
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .unwrap();
        mailer.send(email).await.unwrap();
        let mail = sim
            .mailbox()
            .wait_latest_to(&to, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            mail.subject(),
            Some("Votre code de vérification"),
            "{encoding:?}"
        );
        assert_eq!(
            mail.find_code(6).as_deref(),
            Some("482913"),
            "{encoding:?}: {}",
            mail.body
        );
        assert!(
            mail.body.contains("Il expire dans 10 minutes."),
            "{encoding:?}"
        );
        if encoding != ContentTransferEncoding::SevenBit {
            assert!(
                mail.body.contains("vérification Égide"),
                "{encoding:?}: {}",
                mail.body
            );
        }
        assert_eq!(
            mail.header("Content-Transfer-Encoding")
                .map(str::to_ascii_lowercase),
            Some(format!("{encoding}").to_ascii_lowercase())
        );
        assert!(mail.path.extension().is_some_and(|e| e == "eml"));
    }
}

#[tokio::test]
async fn envelope_recipients_include_bcc_and_order_is_kept() {
    let sim = start().await;
    let mailer = mailer(&sim);
    for n in 1..=3 {
        let email = Message::builder()
            .from(from())
            .to("anne@example.test".parse().unwrap())
            .cc("bob@example.test".parse().unwrap())
            .bcc("audit@egide.test".parse().unwrap())
            .subject(format!("n°{n}"))
            .body(format!("message {n}"))
            .unwrap();
        mailer.send(email).await.unwrap();
    }
    let mailbox = sim.mailbox();
    let to_audit = mailbox.messages_to("AUDIT@egide.test").unwrap();
    assert_eq!(to_audit.len(), 3);
    let subjects: Vec<_> = to_audit
        .iter()
        .map(|m| m.subject().unwrap().to_owned())
        .collect();
    assert_eq!(subjects, ["n°1", "n°2", "n°3"]);
    assert_eq!(to_audit[0].envelope_to().len(), 3);
    assert_eq!(
        to_audit[0].header("X-Egide-Envelope-From"),
        Some("<noreply@egide.test>")
    );
    assert!(to_audit[0].header("Bcc").is_none());
    assert_eq!(
        mailbox
            .latest_to("bob@example.test")
            .unwrap()
            .unwrap()
            .subject(),
        Some("n°3")
    );
    assert!(mailbox.latest_to("nobody@example.test").unwrap().is_none());
}

#[tokio::test]
async fn multipart_mails_yield_their_text_part() {
    let sim = start().await;
    let email = Message::builder()
        .from(from())
        .to("carla@example.test".parse().unwrap())
        .subject("Code")
        .multipart(MultiPart::alternative_plain_html(
            "Votre code : 120034".to_owned(),
            "<p>Votre code : <b>999999</b></p>".to_owned(),
        ))
        .unwrap();
    mailer(&sim).send(email).await.unwrap();
    let mail = sim
        .mailbox()
        .wait_latest_to("carla@example.test", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(mail.find_code(6).as_deref(), Some("120034"));
}

#[tokio::test]
async fn wait_new_to_waits_for_the_next_mail() {
    let sim = start().await;
    let mailbox = sim.mailbox();
    let err = mailbox
        .wait_latest_to("dan@example.test", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    let send = |n: u32| {
        let mailer = mailer(&sim);
        async move {
            let email = Message::builder()
                .from(from())
                .to("dan@example.test".parse().unwrap())
                .subject(format!("{n}"))
                .body(format!("code {n}00000"))
                .unwrap();
            mailer.send(email).await.unwrap();
        }
    };
    send(1).await;
    let known = mailbox.messages_to("dan@example.test").unwrap().len();
    let waiter = {
        let mailbox = mailbox.clone();
        tokio::spawn(async move {
            mailbox
                .wait_new_to("dan@example.test", known, Duration::from_secs(5))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    send(2).await;
    let mail = waiter.await.unwrap().unwrap();
    assert_eq!(mail.find_code(6).as_deref(), Some("200000"));
}

/// A raw SMTP client.
struct Raw {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Raw {
    async fn connect(sim: &Sim) -> Raw {
        let (read, write) = TcpStream::connect(sim.addr).await.unwrap().into_split();
        let mut raw = Raw {
            read: BufReader::new(read),
            write,
        };
        let greeting = raw.reply().await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        assert!(greeting.contains("simulator"));
        raw
    }

    /// Reads one (possibly multi-line) reply.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(5), self.read.read_line(&mut line))
                .await
                .expect("reply in time")
                .unwrap();
            assert!(n > 0, "connection closed; got so far: {all:?}");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.unwrap();
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.read.read_to_end(&mut rest)).await,
            Ok(Ok(0))
        )
    }
}

fn code(reply: &str) -> &str {
    &reply[..3]
}

#[tokio::test]
async fn command_sequence_and_syntax_errors() {
    let sim = start().await;
    let mut c = Raw::connect(&sim).await;
    assert_eq!(code(&c.cmd("MAIL FROM:<a@b.test>").await), "503");
    assert_eq!(code(&c.cmd("RCPT TO:<a@b.test>").await), "503");
    assert_eq!(code(&c.cmd("DATA").await), "503");
    assert_eq!(code(&c.cmd("EHLO").await), "501");
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(ehlo.starts_with("250-"), "{ehlo}");
    assert!(ehlo.contains("250-SIZE 1048576\r\n"), "{ehlo}");
    assert!(ehlo.contains("\r\n250 "), "{ehlo}");
    assert_eq!(code(&c.cmd("HELO client.test").await), "250");
    assert_eq!(code(&c.cmd("NOOP").await), "250");
    assert_eq!(code(&c.cmd("FOO bar").await), "500");
    assert_eq!(code(&c.cmd("VRFY root").await), "502");
    assert_eq!(code(&c.cmd("STARTTLS").await), "502");
    assert_eq!(code(&c.cmd("AUTH PLAIN AGFhAGI=").await), "502");
    assert_eq!(code(&c.cmd("MAIL FROM:a@b.test").await), "501");
    assert_eq!(code(&c.cmd("MAIL TO:<a@b.test>").await), "501");
    assert_eq!(code(&c.cmd("MAIL FROM:<a@b.test> XFOO=1").await), "555");
    assert_eq!(code(&c.cmd("mail from: <> BODY=8BITMIME").await), "250");
    assert_eq!(code(&c.cmd("MAIL FROM:<a@b.test>").await), "503");
    assert_eq!(code(&c.cmd("DATA").await), "554");
    assert_eq!(code(&c.cmd("RCPT TO:<>").await), "501");
    assert_eq!(code(&c.cmd("RCPT TO:<not an address>").await), "501");
    assert_eq!(code(&c.cmd("RCPT TO:<x@y.test> NOTIFY=NEVER").await), "555");
    assert_eq!(code(&c.cmd("RCPT TO:<x@y.test>").await), "250");
    assert_eq!(code(&c.cmd("DATA now").await), "501");
    assert_eq!(code(&c.cmd("RSET").await), "250");
    assert_eq!(code(&c.cmd("RCPT TO:<x@y.test>").await), "503");
    let long = format!("NOOP {}", "x".repeat(600));
    assert_eq!(code(&c.cmd(&long).await), "500");
    assert_eq!(code(&c.cmd("NOOP").await), "250");
    assert_eq!(code(&c.cmd("QUIT").await), "221");
    assert!(c.closed().await);
    assert_eq!(sim.files(), 0);
}

#[tokio::test]
async fn data_is_dot_unstuffed_and_pipelining_works() {
    let sim = start().await;
    let mut c = Raw::connect(&sim).await;
    c.cmd("EHLO client.test").await;
    // Pipelined envelope.
    c.send(b"MAIL FROM:<s@egide.test>\r\nRCPT TO:<r1@example.test>\r\nRCPT TO:<R2@example.test>\r\nDATA\r\n").await;
    for expected in ["250", "250", "250", "354"] {
        assert_eq!(code(&c.reply().await), expected);
    }
    c.send(b"Subject: dots\r\n\r\n..leading dot\r\n\r\n...\r\nplain\nbare lf\r\n.\r\n")
        .await;
    let queued = c.reply().await;
    assert_eq!(code(&queued), "250", "{queued}");
    let mail = sim.mailbox().latest_to("r2@example.test").unwrap().unwrap();
    let raw = std::fs::read_to_string(&mail.path).unwrap();
    assert_eq!(
        raw,
        "X-Egide-Envelope-From: <s@egide.test>\r\nX-Egide-Envelope-To: r1@example.test, R2@example.test\r\nSubject: dots\r\n\r\n.leading dot\r\n\r\n..\r\nplain\r\nbare lf\r\n"
    );
    assert_eq!(mail.body, ".leading dot\n\n..\nplain\nbare lf\n");
    assert!(queued.contains(mail.path.file_name().unwrap().to_str().unwrap()));
    // A second transaction on the same session.
    c.send(b"MAIL FROM:<s@egide.test>\r\nRCPT TO:<r1@example.test>\r\nDATA\r\n")
        .await;
    for expected in ["250", "250", "354"] {
        assert_eq!(code(&c.reply().await), expected);
    }
    c.send(b"Subject: two\r\n\r\nsecond\r\n.\r\n").await;
    assert_eq!(code(&c.reply().await), "250");
    assert_eq!(
        sim.mailbox().messages_to("r1@example.test").unwrap().len(),
        2
    );
    // No temporary file is left behind.
    assert_eq!(sim.files(), 2);
}

#[tokio::test]
async fn size_limits() {
    let sim = start_with(|c| c.max_message_bytes = 2048).await;
    let mut c = Raw::connect(&sim).await;
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(ehlo.contains("SIZE 2048"), "{ehlo}");
    assert_eq!(
        code(&c.cmd("MAIL FROM:<s@egide.test> SIZE=4096").await),
        "552"
    );
    assert_eq!(
        code(&c.cmd("MAIL FROM:<s@egide.test> SIZE=abc").await),
        "501"
    );
    assert_eq!(
        code(&c.cmd("MAIL FROM:<s@egide.test> SIZE=100").await),
        "250"
    );
    assert_eq!(code(&c.cmd("RCPT TO:<r@example.test>").await), "250");
    assert_eq!(code(&c.cmd("DATA").await), "354");
    for _ in 0..40 {
        c.send(format!("{}\r\n", "y".repeat(98)).as_bytes()).await;
    }
    c.send(b".\r\n").await;
    assert_eq!(code(&c.reply().await), "552");
    // A line over 1000 bytes.
    c.send(b"MAIL FROM:<s@egide.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n")
        .await;
    for expected in ["250", "250", "354"] {
        assert_eq!(code(&c.reply().await), expected);
    }
    c.send(format!("{}\r\n.\r\n", "z".repeat(1200)).as_bytes())
        .await;
    assert_eq!(code(&c.reply().await), "500");
    // The session is still usable and nothing was written.
    assert_eq!(code(&c.cmd("NOOP").await), "250");
    assert_eq!(sim.files(), 0);
}

#[tokio::test]
async fn at_most_max_recipients() {
    let sim = start_with(|c| c.max_recipients = 3).await;
    let mut c = Raw::connect(&sim).await;
    c.cmd("HELO client.test").await;
    c.cmd("MAIL FROM:<s@egide.test>").await;
    for i in 0..3 {
        assert_eq!(
            code(&c.cmd(&format!("RCPT TO:<r{i}@example.test>")).await),
            "250"
        );
    }
    assert_eq!(code(&c.cmd("RCPT TO:<r9@example.test>").await), "452");
}

#[tokio::test]
async fn default_limit_is_one_hundred_recipients() {
    let sim = start().await;
    let mut c = Raw::connect(&sim).await;
    c.cmd("HELO client.test").await;
    c.cmd("MAIL FROM:<s@egide.test>").await;
    for i in 0..100 {
        assert_eq!(
            code(&c.cmd(&format!("RCPT TO:<r{i}@example.test>")).await),
            "250"
        );
    }
    assert_eq!(code(&c.cmd("RCPT TO:<r100@example.test>").await), "452");
}

#[tokio::test]
async fn idle_sessions_are_closed() {
    let sim = start_with(|c| c.idle_timeout = Duration::from_millis(300)).await;
    let mut c = Raw::connect(&sim).await;
    let reply = c.reply().await;
    assert_eq!(code(&reply), "421", "{reply}");
    assert!(c.closed().await);
}

#[tokio::test]
async fn too_many_errors_close_the_session() {
    let sim = start().await;
    let mut c = Raw::connect(&sim).await;
    for _ in 0..9 {
        assert_eq!(code(&c.cmd("BOGUS").await), "500");
    }
    assert_eq!(code(&c.cmd("BOGUS").await), "421");
    assert!(c.closed().await);
}

#[tokio::test]
async fn eof_in_data_stores_nothing() {
    let sim = start().await;
    let mut c = Raw::connect(&sim).await;
    c.send(b"HELO c\r\nMAIL FROM:<s@egide.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n")
        .await;
    for expected in ["250", "250", "250", "354"] {
        assert_eq!(code(&c.reply().await), expected);
    }
    c.send(b"Subject: cut\r\n\r\nhalf a mess").await;
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sim.files(), 0);
}
