//! Property tests: the mail parser never panics, whatever it reads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use egide_sims::mailbox::Message;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn random_bytes(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let m = Message::parse("/x/1-0.eml", &raw);
        let _ = (m.subject(), m.envelope_to(), m.find_code(6));
    }

    #[test]
    fn mime_shaped_input(
        boundary in "[A-Za-z0-9]{1,8}",
        parts in proptest::collection::vec(
            ("(text/plain|text/html|multipart/mixed|application/octet-stream)",
             "(7bit|quoted-printable|base64|8bit)",
             "[ -~\r\n=]{0,200}"),
            0..4),
        subject in "[ -~]{0,80}",
    ) {
        let mut raw = format!(
            "Subject: {subject}\r\nContent-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
        );
        for (ct, cte, body) in &parts {
            raw.push_str(&format!(
                "--{boundary}\r\nContent-Type: {ct}; boundary=\"{boundary}\"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{body}\r\n"
            ));
        }
        raw.push_str(&format!("--{boundary}--\r\n"));
        let _ = Message::parse("/x/1-0.eml", raw.as_bytes());
    }
}

#[test]
fn encoded_words_round_trip_through_quoted_printable_subjects() {
    let m = Message::parse(
        "/x/1-0.eml",
        b"Subject: =?UTF-8?Q?Acc=C3=A8s_=C3=A0_votre_espace?=\r\n\r\n",
    );
    assert_eq!(m.subject(), Some("Accès à votre espace"));
}
