//! The shipped policy at dates on both sides of each palier, and the file's validation.

use chrono::NaiveDate;

use crate::{Category, DEFAULT, Decision, Policy, Session};

const GET_WALLET: &str = "/egide.enrolment.v1.EnrolmentService/GetWallet";
const SUBMIT_CLAIM: &str = "/egide.billing.v1.BillingService/SubmitClaim";

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn policy() -> Policy {
    Policy::parse(DEFAULT).expect("the shipped policy loads")
}

fn amr(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_owned()).collect()
}

fn decide<'p>(
    p: &'p Policy,
    route: &str,
    category: Category,
    at: &str,
    acr: &str,
    a: &[String],
) -> Decision<'p> {
    p.decide(
        route,
        category,
        day(at),
        Some(&Session {
            category,
            acr,
            amr: a,
        }),
    )
}

fn rule_id(d: &Decision<'_>) -> String {
    match d {
        Decision::Allowed(r) => r.id.clone(),
        Decision::Insufficient { rule, .. } => rule.id.clone(),
        other => panic!("no rule: {other:?}"),
    }
}

#[test]
fn patients_need_substantial_from_2026_and_two_factors_since_june_2022() {
    let p = policy();
    let device = amr(&["hwk", "mfa"]);
    let one_factor = amr(&["pwd"]);
    // 2025: two factors at eidas1 suffice.
    let d = decide(
        &p,
        GET_WALLET,
        Category::Patient,
        "2025-12-31",
        "eidas1",
        &device,
    );
    assert_eq!(
        (rule_id(&d).as_str(), matches!(d, Decision::Allowed(_))),
        ("patient-wallet-2fa", true)
    );
    let d = decide(
        &p,
        GET_WALLET,
        Category::Patient,
        "2025-12-31",
        "eidas1",
        &one_factor,
    );
    assert!(
        matches!(&d, Decision::Insufficient { missing, .. } if missing == &["amr mfa"]),
        "{d:?}"
    );
    // 2026: eidas1 is no longer enough; the carte Vitale app's eidas2 is.
    let d = decide(
        &p,
        GET_WALLET,
        Category::Patient,
        "2026-01-01",
        "eidas1",
        &device,
    );
    assert!(
        matches!(&d, Decision::Insufficient { rule, missing } if rule.id == "patient-wallet-substantial" && missing == &["acr eidas2"]),
        "{d:?}"
    );
    let d = decide(
        &p,
        GET_WALLET,
        Category::Patient,
        "2026-06-01",
        "eidas2",
        &device,
    );
    assert!(matches!(d, Decision::Allowed(_)));
    assert!(matches!(
        decide(
            &p,
            GET_WALLET,
            Category::Patient,
            "2026-06-01",
            "eidas3",
            &device
        ),
        Decision::Allowed(_)
    ));
    // Before 2 factors were required, no rule covers patients: refused.
    assert_eq!(
        decide(
            &p,
            GET_WALLET,
            Category::Patient,
            "2022-05-31",
            "eidas3",
            &device
        ),
        Decision::CategoryNotAllowed
    );
}

#[test]
fn professionals_lose_transitional_means_at_the_end_of_2025() {
    let p = policy();
    let totp = amr(&["pwd", "otp", "mfa"]);
    let card = amr(&["sc", "pin", "mfa"]);
    let d = decide(
        &p,
        SUBMIT_CLAIM,
        Category::Professional,
        "2025-12-31",
        "eidas1",
        &totp,
    );
    assert!(
        matches!(&d, Decision::Allowed(r) if r.id == "professional-transitional"),
        "{d:?}"
    );
    let d = decide(
        &p,
        SUBMIT_CLAIM,
        Category::Professional,
        "2026-01-01",
        "eidas2",
        &totp,
    );
    assert!(
        matches!(&d, Decision::Insufficient { missing, .. } if missing == &["means card|device"]),
        "{d:?}"
    );
    let d = decide(
        &p,
        SUBMIT_CLAIM,
        Category::Professional,
        "2026-01-01",
        "eidas3",
        &card,
    );
    assert!(
        matches!(&d, Decision::Allowed(r) if r.id == "professional-substantial"),
        "{d:?}"
    );
}

#[test]
fn a_password_alone_passes_the_gateway_for_nothing_but_totp_enrolment() {
    let p = policy();
    let pwd = amr(&["pwd"]);
    for at in ["2025-06-01", "2026-06-01"] {
        let d = decide(&p, SUBMIT_CLAIM, Category::Professional, at, "eidas3", &pwd);
        assert!(matches!(d, Decision::Insufficient { .. }), "{at}: {d:?}");
    }
}

#[test]
fn rules_protect_a_route_for_every_category_and_open_routes_need_no_person() {
    let p = policy();
    // Staff have no rule on GetWallet: the patient and operator rules make it protected.
    assert_eq!(
        p.decide(GET_WALLET, Category::Staff, day("2026-06-01"), None),
        Decision::CategoryNotAllowed
    );
    let reactivate = "/egide.enrolment.v1.EnrolmentService/ReactivateWallet";
    assert_eq!(
        p.decide(reactivate, Category::Patient, day("2026-06-01"), None),
        Decision::CategoryNotAllowed
    );
    assert!(matches!(
        p.decide(reactivate, Category::Operator, day("2026-06-01"), None),
        Decision::Allowed(_)
    ));
    // The directories are operators' to change and list.
    let import = "/egide.enrolment.v1.EnrolmentService/ImportDirectory";
    assert!(!p.is_open(import, day("2026-06-01")));
    assert_eq!(
        p.decide(import, Category::Staff, day("2026-06-01"), None),
        Decision::CategoryNotAllowed
    );
    assert!(matches!(
        p.decide(import, Category::Operator, day("2026-06-01"), None),
        Decision::Allowed(_)
    ));
    // Revoking a certificate is an operator's act; the rest of certval stays open.
    let revoke = "/egide.certval.v1.CertificateValidationService/RevokeCertificate";
    assert!(!p.is_open(revoke, day("2026-06-01")));
    for category in [Category::Patient, Category::Professional, Category::Staff] {
        assert_eq!(
            p.decide(revoke, category, day("2026-06-01"), None),
            Decision::CategoryNotAllowed
        );
    }
    assert!(matches!(
        p.decide(revoke, Category::Operator, day("2026-06-01"), None),
        Decision::Allowed(_)
    ));
    assert!(p.is_open(
        "/egide.certval.v1.CertificateValidationService/SubmitCrl",
        day("2026-06-01")
    ));
    let register = "/egide.enrolment.v1.EnrolmentService/RegisterStructure";
    assert!(matches!(
        p.decide(register, Category::Patient, day("2026-06-01"), None),
        Decision::Open(_)
    ));
    assert!(p.is_open(register, day("2026-06-01")));
    assert!(p.is_open("/egide.auth.v1.AuthService/StartLogin", day("2026-06-01")));
    assert!(!p.is_open(GET_WALLET, day("2026-06-01")));
    assert_eq!(
        p.decide(
            "/egide.unknown.v1.X/Y",
            Category::Patient,
            day("2026-06-01"),
            None
        ),
        Decision::Unlisted
    );
}

#[test]
fn explanations_name_the_rule_and_what_it_wants() {
    let p = policy();
    let d = p.decide(GET_WALLET, Category::Patient, day("2026-06-01"), None);
    assert_eq!(
        d.to_string(),
        "patient-wallet-substantial: acr ≥ eidas2, amr ⊇ {mfa}"
    );
    let d = p.decide(
        SUBMIT_CLAIM,
        Category::Professional,
        day("2026-06-01"),
        None,
    );
    assert_eq!(
        d.to_string(),
        "professional-substantial: acr ≥ eidas2, amr ⊇ {mfa}, means ∈ {card, device}"
    );
}

#[test]
fn a_bad_file_never_loads() {
    let rule = |extra: &str| {
        format!(
            "[[rule]]\nid = \"r\"\nroute = \"/a.B/C\"\ncategories = [\"patient\"]\nacr = \"eidas2\"\nwhy = \"w\"\n{extra}"
        )
    };
    let cases = [
        (rule("colour = \"blue\""), "unknown field"),
        (rule("acr2 = 1"), "unknown field"),
        (rule("amr = [\"magic\"]"), "RFC 8176"),
        (rule("from = 2026-01-01\nuntil = 2025-01-01"), "not before"),
        (rule("from = 2026-01-01T10:00:00"), "without a time"),
        (rule("means = [\"telepathy\"]"), "unknown variant"),
        (rule("").replace("eidas2", "eidas9"), "unknown variant"),
        (rule("").replace("/a.B/C", "a.B/C"), "neither"),
        (rule("").replace("[\"patient\"]", "[]"), "no categories"),
        (
            format!(
                "{}\n{}",
                rule(""),
                rule("").replace("id = \"r\"", "id = \"r2\"")
            ),
            "both apply",
        ),
        (format!("{}\n{}", rule(""), rule("")), "unique"),
        (
            format!("{}\n[[open]]\nroute = \"/a.B/C\"\nwhy = \"w\"\n", rule("")),
            "also [[open]]",
        ),
    ];
    for (text, expected) in cases {
        let error = Policy::parse(&text).unwrap_err().to_string();
        assert!(error.contains(expected), "{text}\n→ {error}");
    }
    // Periods that touch but do not overlap are fine.
    let ok = format!(
        "{}\n{}",
        rule("until = 2026-01-01"),
        rule("from = 2026-01-01").replace("id = \"r\"", "id = \"r2\"")
    );
    Policy::parse(&ok).unwrap();
}

#[test]
fn account_management_needs_an_operator_with_two_factors_and_totp_enrolment_a_password() {
    let p = policy();
    let create = "/egide.auth.v1.AuthService/CreateAccount";
    let enrol = "/egide.auth.v1.AuthService/StartTotpEnrolment";
    let pwd = amr(&["pwd"]);
    let totp = amr(&["pwd", "otp", "mfa"]);
    let at = "2026-06-01";
    assert!(matches!(
        decide(&p, create, Category::Operator, at, "eidas1", &totp),
        Decision::Allowed(_)
    ));
    assert!(matches!(
        decide(&p, create, Category::Operator, at, "eidas1", &pwd),
        Decision::Insufficient { .. }
    ));
    assert_eq!(
        decide(&p, create, Category::Staff, at, "eidas1", &totp),
        Decision::CategoryNotAllowed
    );
    assert!(matches!(
        decide(&p, enrol, Category::Staff, at, "eidas1", &pwd),
        Decision::Allowed(_)
    ));
    assert!(matches!(
        decide(&p, enrol, Category::Operator, at, "eidas1", &totp),
        Decision::Allowed(_)
    ));
    assert_eq!(
        decide(
            &p,
            enrol,
            Category::Patient,
            at,
            "eidas2",
            &amr(&["hwk", "mfa"])
        ),
        Decision::CategoryNotAllowed
    );
    // The logins themselves stay open.
    assert!(p.is_open("/egide.auth.v1.AuthService/PasswordLogin", day(at)));
}
