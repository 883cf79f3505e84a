//! Name constraints (RFC 5280 §4.2.1.10) and peer-name matching (RFC 6125, as Go).
//!
//! Names checked against constraints: the subject DN (directoryName), the
//! subjectAltName dNSName, rfc822Name, iPAddress, directoryName and URI entries (a URI
//! by its host), and, without a subjectAltName, the subject's emailAddress attributes
//! as rfc822 names. The CN is never a name here (as in Go). A DNS constraint
//! `example.com` covers the host and its subdomains; `.example.com` is URI syntax, not a
//! host name, and is refused with every other base that could only constrain invalid
//! names (RFC 5280 §4.2.1.10).
//! DirectoryName constraints compare RDNs byte for byte (no case folding). A
//! constraint of another type (URI, otherName…) fails closed when the certificate
//! has a name of that type.

use std::net::IpAddr;

use crate::cert::Certificate;
use crate::der::{self, Reader};
use crate::reason::{Error, Reason};

/// A Name's RDNs (DER), each the (type OID, value TLV) pairs of its attributes; `None`
/// when the Name does not parse. The one walk over Names that the rest of the crate uses.
pub(crate) type Rdns<'a> = Vec<Vec<(&'a [u8], der::Tlv<'a>)>>;

/// The RDNs of `name_der` (see [`Rdns`]).
pub(crate) fn rdns(name_der: &[u8]) -> Option<Rdns<'_>> {
    let name = der::single(name_der, der::SEQUENCE)?;
    let mut rdns = Reader::new(name.value);
    let mut out = Vec::new();
    while !rdns.is_empty() {
        let rdn = rdns.expect(der::SET)?;
        let mut atvs = Reader::new(rdn.value);
        let mut set = Vec::new();
        while !atvs.is_empty() {
            let atv = atvs.expect(der::SEQUENCE)?;
            let mut r = Reader::new(atv.value);
            let oid = r.expect(der::OID)?.value;
            let value = r.read()?;
            if !r.is_empty() {
                return None;
            }
            set.push((oid, value));
        }
        out.push(set);
    }
    Some(out)
}

/// The form of a Name that RFC 5280 §7.1 compares (as OpenSSL does): each string value
/// decoded from its DirectoryString type (PrintableString, UTF8String, BMPString…),
/// trimmed, inner whitespace collapsed to one space, lower-cased; each RDN's attributes
/// in a fixed order, since an RDN is a SET. Other values are kept as they are. `None`
/// when the Name does not parse. Equal forms: the same name, however encoded.
pub fn canonical_name(name_der: &[u8]) -> Option<Vec<u8>> {
    let piece = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    let mut out = Vec::with_capacity(name_der.len());
    for rdn in rdns(name_der)? {
        let mut set: Vec<Vec<u8>> = rdn
            .iter()
            .map(|(oid, value)| {
                let mut one = Vec::new();
                piece(&mut one, oid);
                match crate::identity::directory_string(value.tag, value.value) {
                    Some(text) => {
                        let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
                        one.push(0);
                        piece(&mut one, folded.to_lowercase().as_bytes());
                    }
                    None => {
                        one.push(1);
                        piece(&mut one, value.raw);
                    }
                }
                one
            })
            .collect();
        set.sort_unstable();
        piece(
            &mut out,
            &u32::try_from(set.len()).unwrap_or(u32::MAX).to_be_bytes(),
        );
        for one in &set {
            piece(&mut out, one);
        }
    }
    Some(out)
}

/// Whether two DER Names are the same name: byte for byte, or as RFC 5280 §7.1
/// compares them ([`canonical_name`]).
pub fn same_name(a: &[u8], b: &[u8]) -> bool {
    a == b || canonical_name(a).is_some_and(|ca| canonical_name(b) == Some(ca))
}

/// A GeneralName, borrowed from DER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GeneralName<'a> {
    Email(&'a [u8]),
    Dns(&'a [u8]),
    /// A Name SEQUENCE, DER.
    Directory(&'a [u8]),
    Uri(&'a [u8]),
    Ip(&'a [u8]),
    /// Any other choice, by its context tag number.
    Other(u8),
}

impl GeneralName<'_> {
    fn kind(&self) -> u8 {
        match self {
            Self::Email(_) => 1,
            Self::Dns(_) => 2,
            Self::Directory(_) => 4,
            Self::Uri(_) => 6,
            Self::Ip(_) => 7,
            Self::Other(t) => *t,
        }
    }
}

fn general_name(tlv: der::Tlv<'_>) -> Option<GeneralName<'_>> {
    Some(match tlv.tag {
        0x81 => GeneralName::Email(tlv.value),
        0x82 => GeneralName::Dns(tlv.value),
        0xa4 => GeneralName::Directory(der::single(tlv.value, der::SEQUENCE)?.raw),
        0x86 => GeneralName::Uri(tlv.value),
        0x87 => GeneralName::Ip(tlv.value),
        t if t & 0xc0 == 0x80 => GeneralName::Other(t & 0x1f),
        _ => return None,
    })
}

/// The subjectAltName entries; an error when the extension is malformed.
pub(crate) fn san_names(cert: &Certificate) -> Result<Vec<GeneralName<'_>>, Error> {
    let Some(san) = cert.san_der() else {
        return Ok(Vec::new());
    };
    let bad = || Error::new(Reason::MalformedCertificate, "malformed subjectAltName");
    let seq = der::single(san, der::SEQUENCE).ok_or_else(bad)?;
    let mut r = Reader::new(seq.value);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(r.read().and_then(general_name).ok_or_else(bad)?);
    }
    Ok(out)
}

struct Constraints<'a> {
    permitted: Vec<GeneralName<'a>>,
    excluded: Vec<GeneralName<'a>>,
}

fn parse_constraints(nc: &[u8]) -> Option<Constraints<'_>> {
    let seq = der::single(nc, der::SEQUENCE)?;
    let mut r = Reader::new(seq.value);
    let permitted = match r.optional(0xa0) {
        Some(t) => subtrees(t.value)?,
        None => Vec::new(),
    };
    let excluded = match r.optional(0xa1) {
        Some(t) => subtrees(t.value)?,
        None => Vec::new(),
    };
    r.is_empty().then_some(Constraints {
        permitted,
        excluded,
    })
}

/// GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree; `None` when empty,
/// malformed, or when a base could not constrain a valid name (see [`valid_base`]).
fn subtrees(data: &[u8]) -> Option<Vec<GeneralName<'_>>> {
    if data.is_empty() {
        return None;
    }
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    while !r.is_empty() {
        let subtree = r.expect(der::SEQUENCE)?;
        let mut s = Reader::new(subtree.value);
        let base = general_name(s.read()?)?;
        // RFC 5280: minimum is 0 and maximum absent; anything else is unsupported.
        if let Some(min) = s.optional(0x80)
            && min.value != [0]
        {
            return None;
        }
        if !s.is_empty() || !valid_base(&base) {
            return None;
        }
        out.push(base);
    }
    Some(out)
}

/// Whether a subtree base is well-formed for its type (RFC 5280 §4.2.1.10): a dNSName
/// is a host name in the preferred syntax, or empty (every name); an rfc822Name is a
/// mailbox, a host, or `.` and a host (any host under it); an iPAddress is an address
/// and a mask of the same family whose bits are leading ones. Others are kept as they
/// are (and fail closed when compared).
fn valid_base(base: &GeneralName<'_>) -> bool {
    match base {
        GeneralName::Dns(d) => d.is_empty() || valid_host(d, false, false),
        GeneralName::Email(e) => {
            if e.contains(&b'@') {
                valid_mailbox(e)
            } else {
                valid_host(e.strip_prefix(b".").unwrap_or(e), false, false)
            }
        }
        GeneralName::Uri(u) => valid_host(u.strip_prefix(b".").unwrap_or(u), false, false),
        GeneralName::Ip(ip) => {
            // CIDR: the mask's ones, then only zeros.
            let mut rest_zero = false;
            matches!(ip.len(), 8 | 32)
                && ip[ip.len() / 2..].iter().all(|&b| {
                    let ok = if rest_zero {
                        b == 0
                    } else {
                        b.leading_ones() + b.trailing_zeros() == 8
                    };
                    rest_zero |= b != 0xff;
                    ok
                })
        }
        _ => true,
    }
}

/// Checks `cert`'s names against the nameConstraints of `ca`.
pub(crate) fn check_name_constraints(ca: &Certificate, cert: &Certificate) -> Result<(), Error> {
    let Some(nc) = ca.name_constraints_der() else {
        return Ok(());
    };
    let fail = |detail: String| Error::new(Reason::NameConstraints, detail);
    let constraints = parse_constraints(nc)
        .ok_or_else(|| fail(format!("unsupported nameConstraints in {}", ca.label())))?;
    let mut names = san_names(cert)?;
    let subject = cert.subject_der();
    // An empty subject (SEQUENCE with no RDN) names nothing.
    if subject.len() > 2 {
        names.push(GeneralName::Directory(subject));
    }
    // Without a subjectAltName, the subject's emailAddress attributes are the rfc822
    // names that rfc822Name constraints apply to (§4.2.1.10).
    if cert.san_der().is_none() {
        names.extend(
            subject_email_addresses(subject)
                .into_iter()
                .map(GeneralName::Email),
        );
    }
    // Every name against every constraint: bounded, so that a crafted pair (thousands
    // of names under thousands of constraints) fails fast instead of burning CPU.
    let comparisons = names
        .len()
        .saturating_mul(constraints.permitted.len() + constraints.excluded.len());
    if comparisons > MAX_CONSTRAINT_COMPARISONS {
        return Err(Error::new(
            Reason::PathBudgetExceeded,
            format!(
                "{} names under {} name constraints of {}: more than {MAX_CONSTRAINT_COMPARISONS} comparisons",
                names.len(),
                constraints.permitted.len() + constraints.excluded.len(),
                ca.label()
            ),
        ));
    }
    for name in &names {
        if constraints
            .excluded
            .iter()
            .any(|c| c.kind() == name.kind() && excludes(c, name))
        {
            return Err(fail(format!(
                "{} is excluded by the name constraints of {}",
                describe(name),
                ca.label()
            )));
        }
        let mut same_kind = constraints
            .permitted
            .iter()
            .filter(|c| c.kind() == name.kind())
            .peekable();
        if same_kind.peek().is_some()
            && !same_kind.any(|c| matches_constraint(name, c) == Some(true))
        {
            return Err(fail(format!(
                "{} is not permitted by the name constraints of {}",
                describe(name),
                ca.label()
            )));
        }
    }
    Ok(())
}

fn describe(name: &GeneralName<'_>) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match name {
        // Mailboxes may name a person: not repeated in details.
        GeneralName::Email(_) => "an email address".to_owned(),
        GeneralName::Dns(b) => format!("DNS name {}", text(b)),
        GeneralName::Directory(_) => "directory name".to_owned(),
        GeneralName::Uri(b) => format!("URI {}", text(b)),
        GeneralName::Ip(b) => match ip_from_bytes(b) {
            Some(ip) => format!("IP address {ip}"),
            None => "malformed IP address".to_owned(),
        },
        GeneralName::Other(t) => format!("name of type [{t}]"),
    }
}

/// pkcs-9 emailAddress.
const EMAIL_ADDRESS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

/// The values of the emailAddress attributes of a Name (DER).
fn subject_email_addresses(name_der: &[u8]) -> Vec<&[u8]> {
    rdns(name_der)
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter(|(oid, _)| *oid == EMAIL_ADDRESS)
        .map(|(_, value)| value.value)
        .collect()
}

/// Most name-to-constraint comparisons for one CA's constraints on one certificate
/// (rustls-webpki's budget: far above real certificates, far below the DoS cases).
pub(crate) const MAX_CONSTRAINT_COMPARISONS: usize = 250_000;

/// Whether excluded subtree `c` excludes `name`. A wildcard dNSName is excluded when any
/// name it would match is: `*.example.com` by `example.com` and by `bar.example.com`.
fn excludes(c: &GeneralName<'_>, name: &GeneralName<'_>) -> bool {
    if let (GeneralName::Dns(n), GeneralName::Dns(c)) = (name, c)
        && let Some(base) = trim_dot(n).strip_prefix(b"*.")
    {
        let c = trim_dot(c);
        let one_label_over = c.len() > base.len() + 1
            && ends_with_ci(c, base)
            && c[c.len() - base.len() - 1] == b'.'
            && !c[..c.len() - base.len() - 1].contains(&b'.');
        if one_label_over {
            return true;
        }
    }
    matches_constraint(name, c) != Some(false)
}

/// `Some(true)` match, `Some(false)` no match, `None` cannot tell (unsupported or
/// malformed: counts as a match for exclusions and a non-match for permissions).
fn matches_constraint(name: &GeneralName<'_>, constraint: &GeneralName<'_>) -> Option<bool> {
    match (name, constraint) {
        (GeneralName::Dns(n), GeneralName::Dns(c)) => Some(dns_in_subtree(n, c)),
        (GeneralName::Email(n), GeneralName::Email(c)) => email_in_subtree(n, c),
        (GeneralName::Ip(n), GeneralName::Ip(c)) => ip_in_subtree(n, c),
        (GeneralName::Directory(n), GeneralName::Directory(c)) => dn_in_subtree(n, c),
        (GeneralName::Uri(n), GeneralName::Uri(c)) => uri_in_subtree(n, c),
        _ => None,
    }
}

fn trim_dot(b: &[u8]) -> &[u8] {
    b.strip_suffix(b".").unwrap_or(b)
}

fn dns_in_subtree(name: &[u8], constraint: &[u8]) -> bool {
    let name = trim_dot(name);
    let constraint = trim_dot(constraint);
    if constraint.is_empty() {
        return true;
    }
    if name.eq_ignore_ascii_case(constraint) {
        return true;
    }
    name.len() > constraint.len()
        && ends_with_ci(name, constraint)
        && name[name.len() - constraint.len() - 1] == b'.'
}

/// A URI constraint names a host (`host.example.com`: that host only) or, with a leading
/// period, the hosts under a domain (`.example.com`), matched against the URI's host
/// (§4.2.1.10); a URI without a host name (`urn:…`, an IP literal) cannot tell.
fn uri_in_subtree(uri: &[u8], constraint: &[u8]) -> Option<bool> {
    let uri = std::str::from_utf8(uri).ok()?;
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return None;
    }
    let host = host_port.split(':').next()?.as_bytes();
    if !valid_host(host, false, false) {
        return None;
    }
    Some(match constraint.strip_prefix(b".") {
        Some(domain) => host.len() > domain.len() + 1 && ends_with_ci(host, constraint),
        None => host.eq_ignore_ascii_case(constraint),
    })
}

fn ends_with_ci(s: &[u8], suffix: &[u8]) -> bool {
    s.len() >= suffix.len() && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

fn email_in_subtree(name: &[u8], constraint: &[u8]) -> Option<bool> {
    let at = name.iter().rposition(|&b| b == b'@')?;
    let host = &name[at + 1..];
    if constraint.contains(&b'@') {
        // A whole mailbox: local part exact, host case-insensitive.
        let cat = constraint.iter().rposition(|&b| b == b'@')?;
        return Some(
            name[..at] == constraint[..cat] && host.eq_ignore_ascii_case(&constraint[cat + 1..]),
        );
    }
    if constraint.starts_with(b".") {
        return Some(host.len() > constraint.len() && ends_with_ci(host, constraint));
    }
    Some(host.eq_ignore_ascii_case(constraint))
}

fn ip_in_subtree(name: &[u8], constraint: &[u8]) -> Option<bool> {
    if !matches!(name.len(), 4 | 16) || !matches!(constraint.len(), 8 | 32) {
        return None;
    }
    if constraint.len() != name.len() * 2 {
        return Some(false); // IPv4 name vs IPv6 range or the reverse
    }
    let (addr, mask) = constraint.split_at(name.len());
    Some(
        name.iter()
            .zip(addr)
            .zip(mask)
            .all(|((n, a), m)| n & m == a & m),
    )
}

/// Whether the RDN sequence of `name` starts with that of `constraint`.
fn dn_in_subtree(name: &[u8], constraint: &[u8]) -> Option<bool> {
    let n = der::single(name, der::SEQUENCE)?;
    let c = der::single(constraint, der::SEQUENCE)?;
    let mut nr = Reader::new(n.value);
    let mut cr = Reader::new(c.value);
    while !cr.is_empty() {
        let want = cr.expect(der::SET)?;
        match nr.read() {
            Some(have) if have.raw == want.raw => {}
            Some(_) | None => return Some(false),
        }
    }
    Some(true)
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Checks that `cert` is valid for `peer_name`, as a TLS client checks a server.
///
/// An IP address (v4 or v6 text) must equal a subjectAltName iPAddress. Otherwise
/// the name is a DNS name and must match a subjectAltName dNSName: ASCII
/// case-insensitive, one trailing dot ignored, a wildcard only as the whole
/// left-most label of a pattern with at least two more labels (`*.example.com`),
/// matching exactly one non-empty label. The subject CN is never used.
/// [`Reason::NameMismatch`] otherwise.
pub fn verify_peer_name(cert: &Certificate, peer_name: &str) -> Result<(), Error> {
    let mismatch = || {
        Error::new(
            Reason::NameMismatch,
            format!("certificate is not valid for {peer_name:?}"),
        )
    };
    let names = san_names(cert)?;
    if let Ok(ip) = peer_name
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(peer_name)
        .parse::<IpAddr>()
    {
        let found = names.iter().any(|n| match n {
            GeneralName::Ip(b) => ip_from_bytes(b).is_some_and(|a| canonical(a) == canonical(ip)),
            _ => false,
        });
        return if found { Ok(()) } else { Err(mismatch()) };
    }
    let host = trim_dot(peer_name.as_bytes());
    if !valid_host(host, false, true) {
        return Err(mismatch());
    }
    let found = names.iter().any(|n| match n {
        GeneralName::Dns(pattern) => dns_matches(pattern, host),
        _ => false,
    });
    if found { Ok(()) } else { Err(mismatch()) }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// LDH labels separated by dots (underscores tolerated if `underscore`, as Go does for
/// peer names); with `wildcard`, the first label may be exactly `*`.
fn valid_host(host: &[u8], wildcard: bool, underscore: bool) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    host.split(|&b| b == b'.').enumerate().all(|(i, label)| {
        if wildcard && i == 0 && label == b"*" {
            return true;
        }
        ldh_label(label, underscore)
    })
}

/// An rfc822Name as RFC 5280 §4.2.1.6 wants it: a mailbox `local-part@domain` (RFC 5321
/// §4.1.2) with a dot-atom or quoted-string local part and a host name domain.
pub(crate) fn valid_mailbox(mailbox: &[u8]) -> bool {
    const ATEXT: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    let Some(at) = mailbox.iter().rposition(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&mailbox[..at], &mailbox[at + 1..]);
    let local_ok = match local
        .strip_prefix(b"\"")
        .and_then(|l| l.strip_suffix(b"\""))
    {
        Some(quoted) => {
            let mut escaped = false;
            quoted.iter().all(|&b| {
                let ok = (0x20..0x7f).contains(&b) && (escaped || (b != b'"'));
                escaped = !escaped && b == b'\\';
                ok
            }) && !escaped
        }
        None => local.split(|&b| b == b'.').all(|atom| {
            !atom.is_empty()
                && atom
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || ATEXT.contains(&b))
        }),
    };
    local_ok && valid_host(domain, false, false)
}

/// Whether dNSName `pattern` is a wildcard over a public suffix (`*.co.uk`,
/// `*.s3.amazonaws.com`), which CAs must not issue (Baseline Requirements §3.2.2.6):
/// the Public Suffix List, ICANN and private sections, through the `psl` crate.
pub(crate) fn wildcard_on_public_suffix(pattern: &[u8]) -> bool {
    let Some(base) = trim_dot(pattern).strip_prefix(b"*.") else {
        return false;
    };
    let base = base.to_ascii_lowercase();
    psl::suffix(&base).is_some_and(|s| s.is_known() && s.as_bytes() == base.as_slice())
}

/// Why subject CN `cn` breaks Baseline Requirements §7.1.4.3 in a way a client that
/// still reads CNs could be misled by, or `None`:
/// * an IP address in any form an address parser takes (`0xC0A80101`, `192.168.001.001`,
///   `2001:DB8::1`, uncompressed IPv6…) must be the standard text (dotted decimal, RFC
///   5952) of one of the subjectAltName iPAddresses;
/// * a name with non-ASCII characters is never the copy of a dNSName (P-labels stay
///   P-labels);
/// * a name equal to a subjectAltName dNSName but for ASCII case must be its exact copy.
///
/// A CN that names nothing the SANs name (`CN=example.com` beside `DNS:*.example.com`,
/// a CN that is no host name at all) is not refused: Go, rustls-webpki and BoringSSL,
/// which never read the CN, accept those, and so do the certificates of x509-limbo that
/// expect success.
pub(crate) fn misspelt_cn(cn: &str, sans: &[GeneralName<'_>]) -> Option<&'static str> {
    if let Some(ip) = loose_ip(cn) {
        let san_ip = sans.iter().any(|n| match n {
            GeneralName::Ip(b) => ip_from_bytes(b) == Some(ip),
            _ => false,
        });
        return if !san_ip {
            Some("has an IP address CN that is none of its subjectAltName iPAddresses")
        } else if ip.to_string() != cn {
            Some("has an IP address CN not written in its standard form (RFC 3986, RFC 5952)")
        } else {
            None
        };
    }
    if !cn.is_ascii() {
        return Some("has a non-ASCII CN, which no subjectAltName dNSName can be a copy of");
    }
    let spelt_otherwise = sans.iter().any(|n| match n {
        GeneralName::Dns(d) => d.eq_ignore_ascii_case(cn.as_bytes()) && *d != cn.as_bytes(),
        _ => false,
    });
    spelt_otherwise.then_some("has a CN spelling a subjectAltName dNSName in another case")
}

/// An IP address in the text forms address parsers take: IPv6 in any case or
/// compression, IPv4 as inet_aton reads it (1 to 4 parts, each decimal, `0x` hex or
/// `0` octal, the last filling the remaining octets).
fn loose_ip(text: &str) -> Option<IpAddr> {
    if text.contains(':') {
        return text.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(4);
    for part in &parts {
        let (digits, radix) = match part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            Some(hex) => (hex, 16),
            None if part.len() > 1 && part.starts_with('0') => (&part[1..], 8),
            None => (*part, 10),
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        values.push(u32::from_str_radix(digits, radix).ok()?);
    }
    let (last, head) = values.split_last()?;
    if head.iter().any(|&v| v > 0xff) {
        return None;
    }
    let room = 8 * (4 - u32::try_from(head.len()).ok()?);
    if room < 32 && *last >> room != 0 {
        return None;
    }
    let addr = head
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, &v)| acc | (v << (24 - 8 * i)));
    Some(IpAddr::V4(addr.into()))
}

/// A DNS label of letters, digits and inner hyphens (and underscores if `underscore`).
fn ldh_label(label: &[u8], underscore: bool) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || (underscore && b == b'_'))
        && !label.starts_with(b"-")
        && !label.ends_with(b"-")
}

/// A subjectAltName dNSName as RFC 5280 §4.2.1.6 wants it: the preferred name syntax
/// (letters, digits, hyphens; no underscore, no empty label, so no leading, doubled or
/// trailing dot), a wildcard only as the whole left-most label over at least two more
/// labels, and `xn--` labels that are valid Punycode of a name that is not plain ASCII.
pub(crate) fn valid_san_dns(name: &[u8]) -> bool {
    let body = match name.strip_prefix(b"*.") {
        Some(base) => {
            if base.iter().filter(|&&b| b == b'.').count() < 1 {
                return false;
            }
            base
        }
        None => name,
    };
    if body.is_empty() || name.len() > 253 {
        return false;
    }
    body.split(|&b| b == b'.').all(|label| {
        ldh_label(label, false)
            && (!label
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"xn--"))
                || std::str::from_utf8(&label[4..])
                    .ok()
                    .and_then(idna::punycode::decode_to_string)
                    .is_some_and(|u| !u.is_empty() && !u.is_ascii()))
    })
}

fn dns_matches(pattern: &[u8], host: &[u8]) -> bool {
    let pattern = trim_dot(pattern);
    if !valid_host(pattern, true, true) {
        return false;
    }
    // An IP address written as a dNSName is not a DNS name.
    if std::str::from_utf8(pattern).is_ok_and(|p| p.parse::<IpAddr>().is_ok()) {
        return false;
    }
    match pattern.strip_prefix(b"*.") {
        Some(base) => {
            // At least two labels under the wildcard: no `*.com`.
            if !base.contains(&b'.') {
                return false;
            }
            match host.iter().position(|&b| b == b'.') {
                Some(dot) => dot > 0 && host[dot + 1..].eq_ignore_ascii_case(base),
                None => false,
            }
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names_fold_case_space_and_string_type() {
        let name = |tag: u8, value: &str| {
            let atv = [
                &[0x06, 0x03, 0x55, 0x04, 0x03][..],
                &[tag, value.len() as u8],
                value.as_bytes(),
            ]
            .concat();
            let atv = [&[0x30, atv.len() as u8][..], &atv].concat();
            let set = [&[0x31, atv.len() as u8][..], &atv].concat();
            [&[0x30, set.len() as u8][..], &set].concat()
        };
        let printable = canonical_name(&name(0x13, "Good CA")).unwrap();
        assert_eq!(
            canonical_name(&name(0x0c, "  good   ca ")).unwrap(),
            printable
        );
        assert_eq!(canonical_name(&name(0x0c, "GOOD CA")).unwrap(), printable);
        assert_ne!(canonical_name(&name(0x0c, "Good CA 2")).unwrap(), printable);
        assert_ne!(canonical_name(&name(0x0c, "GoodCA")).unwrap(), printable);
        assert_eq!(canonical_name(&[0x30, 0x03, 0x31]), None);
    }

    #[test]
    fn dns_constraints() {
        assert!(dns_in_subtree(b"example.com", b"example.com"));
        assert!(dns_in_subtree(b"a.Example.com", b"example.COM"));
        assert!(!dns_in_subtree(b"badexample.com", b"example.com"));
        assert!(dns_in_subtree(b"anything", b""));
        // `.example.com` is no host name: such a base is refused when parsed.
        assert!(!valid_base(&GeneralName::Dns(b".example.com")));
        assert!(valid_base(&GeneralName::Dns(b"example.com")));
    }

    #[test]
    fn email_and_ip_constraints() {
        assert_eq!(email_in_subtree(b"a@b.fr", b"b.fr"), Some(true));
        assert_eq!(email_in_subtree(b"a@c.b.fr", b"b.fr"), Some(false));
        assert_eq!(email_in_subtree(b"a@c.b.fr", b".b.fr"), Some(true));
        assert_eq!(email_in_subtree(b"a@B.fr", b"a@b.fr"), Some(true));
        assert_eq!(email_in_subtree(b"x@b.fr", b"a@b.fr"), Some(false));
        assert_eq!(email_in_subtree(b"nope", b"b.fr"), None);
        assert_eq!(
            ip_in_subtree(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]),
            Some(true)
        );
        assert_eq!(
            ip_in_subtree(&[11, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]),
            Some(false)
        );
        assert_eq!(ip_in_subtree(&[10, 1, 2, 3], &[0; 32]), Some(false));
        assert_eq!(ip_in_subtree(&[10, 1, 2], &[0; 8]), None);
    }

    #[test]
    fn san_dns_syntax() {
        for good in [
            "example.test",
            "a-b.example.test",
            "*.example.test",
            "xn--caf-dma.example.test",
            "EXAMPLE.test",
        ] {
            assert!(valid_san_dns(good.as_bytes()), "{good}");
        }
        for bad in [
            "",
            "_sip.example.test",
            ".example.test",
            "example.test.",
            "a..example.test",
            "-a.example.test",
            "*.test",
            "w*.example.test",
            "a.*.example.test",
            "xn--.example.test",
            "xn--abc-.example.test",
            "caf\u{e9}.example.test",
        ] {
            assert!(!valid_san_dns(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn wildcards() {
        assert!(dns_matches(b"*.example.com", b"www.example.com"));
        assert!(dns_matches(b"*.EXAMPLE.com.", b"www.example.com"));
        assert!(!dns_matches(b"*.example.com", b"example.com"));
        assert!(!dns_matches(b"*.example.com", b"a.b.example.com"));
        assert!(!dns_matches(b"*.com", b"example.com"));
        assert!(!dns_matches(b"w*.example.com", b"www.example.com"));
        assert!(!dns_matches(b"www.*.com", b"www.example.com"));
        assert!(!dns_matches(b"10.0.0.1", b"10.0.0.1"));
        assert!(dns_matches(b"host.example.com", b"HOST.example.com"));
    }
}
