//! Just enough of RFC 5322 / MIME (RFC 2045–2047) to read the text of the
//! mails Égide sends: header unfolding, encoded words, multipart, and the
//! 7bit / 8bit / quoted-printable / base64 transfer encodings.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Deepest multipart nesting followed.
const MAX_DEPTH: usize = 8;

/// Splits a message into unfolded headers and the raw body.
pub(crate) fn split(raw: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let (head, body) = match find(raw, b"\r\n\r\n") {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        None => match find(raw, b"\n\n") {
            Some(i) => (&raw[..i], &raw[i + 2..]),
            None if raw.starts_with(b"\r\n") => (&raw[..0], &raw[2..]),
            None => (raw, &raw[raw.len()..]),
        },
    };
    let head = String::from_utf8_lossy(head);
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            // Unfolding (RFC 5322 §2.2.3): the line break goes, the
            // whitespace stays.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    for (_, value) in &mut headers {
        *value = decode_words(value.trim());
    }
    (headers, body)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `type/subtype` (lowercase) and the parameters of a `Content-Type`.
fn content_type(value: Option<&str>) -> (String, Vec<(String, String)>) {
    let value = value.unwrap_or("text/plain");
    let mut parts = value.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect();
    (mime, params)
}

/// The decoded text of the first `text/plain` part (or of the first text
/// part, or of the whole body), with LF line ends.
pub(crate) fn text_body(headers: &[(String, String)], body: &[u8]) -> String {
    let text = part_text(headers, body, 0, true)
        .or_else(|| part_text(headers, body, 0, false))
        .unwrap_or_else(|| decode_text(headers, body));
    text.replace("\r\n", "\n")
}

fn part_text(
    headers: &[(String, String)],
    body: &[u8],
    depth: usize,
    plain_only: bool,
) -> Option<String> {
    let (mime, params) = content_type(header(headers, "Content-Type"));
    if mime.starts_with("multipart/") {
        if depth >= MAX_DEPTH {
            return None;
        }
        let boundary = params.iter().find(|(k, _)| k == "boundary")?.1.clone();
        return multipart(body, &boundary).into_iter().find_map(|part| {
            let (h, b) = split(part);
            part_text(&h, b, depth + 1, plain_only)
        });
    }
    let wanted = if plain_only {
        mime == "text/plain" || mime.is_empty()
    } else {
        mime.starts_with("text/")
    };
    wanted.then(|| decode_text(headers, body))
}

/// The parts between `--boundary` lines, up to `--boundary--`.
fn multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        let trimmed = line.strip_suffix(b"\n").unwrap_or(line);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if let Some(rest) = trimmed.strip_prefix(delimiter.as_bytes()) {
            if let Some(s) = start {
                // The line break before the delimiter belongs to it.
                let mut end = offset;
                if body[..end].ends_with(b"\n") {
                    end -= 1;
                }
                if body[..end].ends_with(b"\r") {
                    end -= 1;
                }
                parts.push(&body[s..end.max(s)]);
            }
            if rest.starts_with(b"--") {
                return parts;
            }
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    parts
}

/// The body decoded per `Content-Transfer-Encoding` and charset.
fn decode_text(headers: &[(String, String)], body: &[u8]) -> String {
    let encoding = header(headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => quoted_printable(body, false),
        "base64" => {
            let compact: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            STANDARD.decode(&compact).unwrap_or_else(|_| body.to_vec())
        }
        _ => body.to_vec(),
    };
    let (_, params) = content_type(header(headers, "Content-Type"));
    let charset = params
        .iter()
        .find(|(k, _)| k == "charset")
        .map(|(_, v)| v.to_ascii_lowercase());
    to_string(&bytes, charset.as_deref())
}

fn to_string(bytes: &[u8], charset: Option<&str>) -> String {
    match charset {
        Some("iso-8859-1" | "latin1" | "iso-8859-15") => {
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Quoted-printable (RFC 2045 §6.7); in `q` mode (RFC 2047 encoded words)
/// `_` is a space.
pub(crate) fn quoted_printable(input: &[u8], q: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'=' => {
                let rest = &input[i + 1..];
                if rest.starts_with(b"\r\n") {
                    i += 3;
                } else if rest.starts_with(b"\n") {
                    i += 2;
                } else if let (Some(h), Some(l)) = (
                    rest.first().and_then(|&c| hex(c)),
                    rest.get(1).and_then(|&c| hex(c)),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                } else {
                    // Not a valid escape: kept literally (RFC 2045 §6.7 note 1).
                    out.push(b'=');
                    i += 1;
                }
            }
            b'_' if q => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decodes RFC 2047 encoded words (`=?utf-8?Q?…?=`, `=?utf-8?B?…?=`);
/// whitespace between two encoded words is dropped.
pub(crate) fn decode_words(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut pending_space = String::new();
    let mut after_word = false;
    while !rest.is_empty() {
        let ws_len = rest.len() - rest.trim_start().len();
        if ws_len > 0 {
            pending_space.push_str(&rest[..ws_len]);
            rest = &rest[ws_len..];
            continue;
        }
        let token_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..token_len];
        rest = &rest[token_len..];
        match encoded_word(token) {
            Some(decoded) => {
                if !after_word {
                    out.push_str(&pending_space);
                }
                out.push_str(&decoded);
                after_word = true;
            }
            None => {
                out.push_str(&pending_space);
                out.push_str(token);
                after_word = false;
            }
        }
        pending_space.clear();
    }
    out
}

fn encoded_word(token: &str) -> Option<String> {
    let inner = token.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut fields = inner.splitn(3, '?');
    let charset = fields.next()?.to_ascii_lowercase();
    let charset = charset.split('*').next().unwrap_or("").to_owned(); // RFC 2231 language
    let encoding = fields.next()?;
    let text = fields.next()?;
    let bytes = match encoding {
        "B" | "b" => STANDARD.decode(text).ok()?,
        "Q" | "q" => quoted_printable(text.as_bytes(), true),
        _ => return None,
    };
    Some(to_string(&bytes, Some(&charset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_unfold_and_decode() {
        let raw = b"Subject: =?utf-8?q?Votre_code_de_v=C3=A9rification?=\r\n =?utf-8?b?IMOJZ2lkZQ==?=\r\nTo: a@b.test\r\nX-Long: one\r\n\ttwo\r\n\r\nbody";
        let (headers, body) = split(raw);
        assert_eq!(
            header(&headers, "subject"),
            Some("Votre code de vérification Égide")
        );
        assert_eq!(header(&headers, "X-Long"), Some("one\ttwo"));
        assert_eq!(body, b"body");
    }

    #[test]
    fn plain_words_keep_their_spaces() {
        assert_eq!(decode_words("Hello  world"), "Hello  world");
        assert_eq!(decode_words("a =?utf-8?q?b?= c"), "a b c");
        assert_eq!(decode_words("=?bogus"), "=?bogus");
    }

    #[test]
    fn quoted_printable_bodies() {
        assert_eq!(
            quoted_printable(b"Code =C3=A0 saisir : 123=\r\n456=3D\r\nfin", false),
            "Code à saisir : 123456=\r\nfin".as_bytes()
        );
        assert_eq!(quoted_printable(b"a=zz=", false), b"a=zz=");
    }

    #[test]
    fn multipart_picks_text_plain() {
        let raw = b"Content-Type: multipart/alternative; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nVm90cmUgY29kZSA6IDQyNDI0Mg==\r\n--XX--\r\n";
        let (headers, body) = split(raw);
        assert_eq!(text_body(&headers, body), "Votre code : 424242");
    }

    #[test]
    fn latin1() {
        let raw = b"Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nd\xe9j\xe0";
        let (headers, body) = split(raw);
        assert_eq!(text_body(&headers, body), "déjà");
    }
}
