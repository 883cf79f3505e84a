//! Professionals: what the RPPS import says of them, their contact channels, e-CPS
//! activation with two codes, and e-CPS following the directory (deactivation,
//! reactivation).

use egide_attest::{Algorithm, device::DeviceSigner};
use egide_kit::events::{ActorKind, Payload};
use egide_proto::enrolment::v1::{
    ConfirmEcpsActivationRequest, ContactChannels, EcpsState, GetProfessionalRequest, Professional,
    SetProfessionalContactsRequest, StartEcpsActivationRequest, StartEcpsActivationResponse,
};
use tonic::Code;

use crate::{
    files::{Act, Ps, import_rpps, rpps_file, rpps_name},
    helpers::{
        TestApp, expect_error, spawn_app, spawn_app_with_config, unique_email, unique_phone,
        violation_fields,
    },
    patient::{
        Phone, add_device, challenge, code_sent_to, mails_to, phone, ps_owner, register_device,
    },
};

/// Where the mail simulator receives the SMS for `phone`.
fn sms_address(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    format!("{digits}@sms.egide.test")
}

async fn get(app: &TestApp, id: &str) -> Result<Professional, tonic::Status> {
    app.client
        .clone()
        .get_professional(GetProfessionalRequest {
            id_nat_ps: id.into(),
        })
        .await
        .map(|r| r.into_inner().professional.expect("professional"))
}

async fn start_ecps(app: &TestApp, id: &str) -> Result<StartEcpsActivationResponse, tonic::Status> {
    app.client
        .clone()
        .start_ecps_activation(StartEcpsActivationRequest {
            id_nat_ps: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn confirm_ecps(
    app: &TestApp,
    id: &str,
    email_code: &str,
    sms_code: &str,
) -> Result<Professional, tonic::Status> {
    app.client
        .clone()
        .confirm_ecps_activation(ConfirmEcpsActivationRequest {
            id_nat_ps: id.into(),
            email_code: email_code.into(),
            sms_code: sms_code.into(),
        })
        .await
        .map(|r| r.into_inner().professional.expect("professional"))
}

async fn set_contacts(
    app: &TestApp,
    id: &str,
    email: &str,
    phone: &str,
    operator: &str,
) -> Result<Professional, tonic::Status> {
    app.client
        .clone()
        .set_professional_contacts(crate::patient::as_operator(
            operator,
            SetProfessionalContactsRequest {
                id_nat_ps: id.into(),
                contacts: Some(ContactChannels {
                    email: email.into(),
                    phone: phone.into(),
                }),
            },
        ))
        .await
        .map(|r| r.into_inner().professional.expect("professional"))
}

fn state(p: &Professional) -> EcpsState {
    p.ecps_state()
}

fn other_than(code: &str) -> String {
    let mut digits: Vec<u8> = code.bytes().collect();
    let last = digits.last_mut().expect("a code");
    *last = b'0' + (*last - b'0' + 1) % 10;
    String::from_utf8(digits).expect("digits")
}

/// A physician reachable at a unique e-mail and phone, her colleague without any contact,
/// and a third one.
struct Directory {
    reachable: Ps,
    reachable_acts: Vec<Act>,
    email: String,
    phone: String,
    silent: Ps,
    third: Ps,
}

impl Directory {
    fn new() -> Self {
        let email = unique_email("dr.lemoine");
        let phone = unique_phone();
        Self {
            reachable: Ps::new(104_5367, "LEMOINE", "Claire"),
            reachable_acts: vec![
                Act::at("CABINET DU DR LEMOINE"),
                Act::reachable("CENTRE DE SANTÉ DU THABOR", &email, &phone),
            ],
            email,
            phone,
            silent: Ps::new(205_1133, "NORMAND", "Hugo"),
            third: Ps::new(307_7001, "GARNIER", "Inès"),
        }
    }

    /// The extract, with or without the reachable physician.
    fn file(&self, with_reachable: bool) -> Vec<u8> {
        let mut lines = Vec::new();
        if with_reachable {
            lines.extend(self.reachable_acts.iter().map(|a| self.reachable.line(a)));
        }
        lines.push(self.silent.line(&Act::at("CABINET NORMAND")));
        lines.push(self.third.line(&Act::at("CABINET GARNIER")));
        rpps_file(&lines)
    }
}

/// Starts e-CPS activation and reads both codes: (e-mail code, SMS code).
async fn codes_after_start(app: &TestApp, id: &str, email: &str, phone: &str) -> (String, String) {
    let (known_mail, known_sms) = (mails_to(email), mails_to(&sms_address(phone)));
    start_ecps(app, id).await.expect("activation started");
    (
        code_sent_to(email, known_mail).await,
        code_sent_to(&sms_address(phone), known_sms).await,
    )
}

/// An active e-CPS for the reachable physician, with one phone.
async fn activated(app: &TestApp, d: &Directory) -> Phone {
    let id = d.reachable.id_nat_ps();
    let (mail_code, sms_code) = codes_after_start(app, &id, &d.email, &d.phone).await;
    confirm_ecps(app, &id, &mail_code, &sms_code)
        .await
        .expect("confirmed");
    let signer = DeviceSigner::generate(Algorithm::Es256);
    let registered = register_device(app, &ps_owner(&id), &signer)
        .await
        .expect("e-CPS device");
    phone(&signer, &registered)
}

#[tokio::test]
async fn the_directory_says_who_a_professional_is_and_where_they_practise() {
    let app = spawn_app().await;
    let d = Directory::new();
    let imported = import_rpps(&app, &rpps_name(13), d.file(true)).await;

    let p = get(&app, &d.reachable.id_nat_ps()).await.expect("listed");
    assert_eq!(
        (
            p.civility.as_str(),
            p.last_name.as_str(),
            p.first_name.as_str(),
            p.profession_code.as_str(),
            p.profession_label.as_str()
        ),
        ("DR", "LEMOINE", "Claire", "10", "Médecin")
    );
    assert!(p.active);
    assert_eq!(p.directory_import_id, imported.done.id);
    assert_eq!(state(&p), EcpsState::None);
    assert!(p.devices.is_empty() && p.operator_contacts.is_none());
    let sites: Vec<_> = p.activities.iter().map(|a| a.site_name.as_str()).collect();
    assert_eq!(
        sites,
        ["CABINET DU DR LEMOINE", "CENTRE DE SANTÉ DU THABOR"],
        "file order"
    );
    let thabor = &p.activities[1];
    assert_eq!(
        (thabor.email.as_str(), thabor.phone.as_str()),
        (d.email.as_str(), d.phone.as_str())
    );
    assert_eq!(thabor.address, "12 Rue de la Santé, 35000 Rennes");
    assert_eq!(
        (
            thabor.postal_code.as_str(),
            thabor.town.as_str(),
            thabor.department_code.as_str()
        ),
        ("35000", "Rennes", "35")
    );
    assert_eq!(
        (
            thabor.expertise_code.as_str(),
            thabor.practice_mode_label.as_str()
        ),
        ("SM54", "Libéral")
    );

    let unknown = Ps::new(999_9999, "X", "Y").id_nat_ps();
    expect_error(
        get(&app, &unknown).await,
        Code::NotFound,
        "professional_not_found",
    );
    let status = expect_error(
        get(&app, "8100010453").await,
        Code::InvalidArgument,
        "invalid_argument",
    );
    assert_eq!(violation_fields(&status), ["id_nat_ps"]);
}

#[tokio::test]
async fn ecps_is_activated_with_an_email_code_an_sms_code_and_a_device() {
    let app = spawn_app().await;
    let d = Directory::new();
    import_rpps(&app, &rpps_name(13), d.file(true)).await;
    let id = d.reachable.id_nat_ps();

    let (mails_before, sms_before) = (mails_to(&d.email), mails_to(&sms_address(&d.phone)));
    let started = start_ecps(&app, &id).await.expect("started");
    assert!(
        started.email_masked.starts_with("d***@"),
        "{}",
        started.email_masked
    );
    assert_eq!(started.phone_masked, format!("******{}", &d.phone[6..]));
    let mail_code = code_sent_to(&d.email, mails_before).await;
    let sms_code = code_sent_to(&sms_address(&d.phone), sms_before).await;
    assert_eq!(
        (mails_to(&d.email), mails_to(&sms_address(&d.phone))),
        (mails_before + 1, sms_before + 1),
        "one code per channel"
    );
    assert_eq!(
        state(&get(&app, &id).await.unwrap()),
        EcpsState::PendingCodes
    );
    // No device before the codes.
    expect_error(
        challenge(&app, &ps_owner(&id)).await,
        Code::FailedPrecondition,
        "wrong_state",
    );

    let confirmed = confirm_ecps(&app, &id, &mail_code, &sms_code)
        .await
        .expect("both codes");
    assert_eq!(state(&confirmed), EcpsState::PendingDevice);
    expect_error(
        confirm_ecps(&app, &id, &mail_code, &sms_code).await,
        Code::FailedPrecondition,
        "no_activation",
    );

    let phone = DeviceSigner::generate(Algorithm::EdDsa);
    let registered = register_device(&app, &ps_owner(&id), &phone)
        .await
        .expect("device");
    let p = registered.professional.expect("the professional");
    assert_eq!(state(&p), EcpsState::Active);
    assert_eq!(p.devices.len(), 1);
    assert!(registered.wallet.is_none());
    expect_error(
        start_ecps(&app, &id).await,
        Code::FailedPrecondition,
        "already_active",
    );

    let events = app.events().await;
    let ours: Vec<_> = events
        .iter()
        .filter(|e| {
            e.event_type.contains(".professional.ecps") || e.event_type.contains(".device.")
        })
        .collect();
    let types: Vec<_> = ours.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "egide.enrolment.professional.ecps_started",
            "egide.enrolment.professional.ecps_confirmed",
            "egide.enrolment.device.registered",
            "egide.enrolment.professional.ecps_activated",
        ]
    );
    for e in &ours {
        assert_eq!(
            e.envelope.actor.as_ref().and_then(|a| a.kind.clone()),
            Some(ActorKind::Professional(id.clone())),
            "{}",
            e.event_type
        );
        match &e.envelope.payload {
            Some(Payload::ProfessionalChanged(p)) => assert_eq!(p.id_nat_ps, id),
            Some(Payload::DeviceChanged(d)) => assert_eq!(
                d.owner,
                Some(egide_proto::enrolment::v1::device_changed::Owner::IdNatPs(
                    id.clone()
                ))
            ),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn one_wrong_code_keeps_the_right_one_usable() {
    let app = spawn_app().await;
    let d = Directory::new();
    import_rpps(&app, &rpps_name(13), d.file(true)).await;
    let id = d.reachable.id_nat_ps();
    let (mail_code, sms_code) = codes_after_start(&app, &id, &d.email, &d.phone).await;

    let status = expect_error(
        confirm_ecps(&app, &id, &mail_code, &other_than(&sms_code)).await,
        Code::PermissionDenied,
        "wrong_code",
    );
    assert!(
        status.message().contains("4 attempt(s) left"),
        "{}",
        status.message()
    );
    expect_error(
        confirm_ecps(&app, &id, &other_than(&mail_code), &sms_code).await,
        Code::PermissionDenied,
        "wrong_code",
    );
    assert_eq!(
        state(&get(&app, &id).await.unwrap()),
        EcpsState::PendingCodes
    );
    assert!(
        app.events_of("egide.enrolment.professional.ecps_confirmed")
            .await
            .is_empty()
    );

    let confirmed = confirm_ecps(&app, &id, &mail_code, &sms_code)
        .await
        .expect("both right on retry");
    assert_eq!(state(&confirmed), EcpsState::PendingDevice);
    let status = expect_error(
        confirm_ecps(&app, &id, "", &sms_code).await,
        Code::InvalidArgument,
        "invalid_argument",
    );
    assert_eq!(violation_fields(&status), ["email_code"]);
}

#[tokio::test]
async fn codes_go_to_the_channels_an_operator_sets() {
    let app = spawn_app().await;
    let d = Directory::new();
    import_rpps(&app, &rpps_name(13), d.file(true)).await;
    let silent = d.silent.id_nat_ps();

    expect_error(
        start_ecps(&app, &silent).await,
        Code::FailedPrecondition,
        "no_contact_channel",
    );
    assert!(
        app.events_of("egide.enrolment.professional.ecps_started")
            .await
            .is_empty()
    );

    // An operator's act: the verified caller, never a declared name.
    expect_error(
        app.client
            .clone()
            .set_professional_contacts(SetProfessionalContactsRequest {
                id_nat_ps: silent.clone(),
                contacts: Some(ContactChannels {
                    email: "a@example.test".into(),
                    phone: "0600000000".into(),
                }),
            })
            .await,
        Code::PermissionDenied,
        "operator_required",
    );
    let status = expect_error(
        set_contacts(&app, &silent, "nope", "12", "op-1").await,
        Code::InvalidArgument,
        "invalid_argument",
    );
    assert_eq!(
        violation_fields(&status),
        ["contacts.email", "contacts.phone"]
    );
    expect_error(
        set_contacts(
            &app,
            &Ps::new(999_9999, "X", "Y").id_nat_ps(),
            "a@example.test",
            "0600000000",
            "op-1",
        )
        .await,
        Code::NotFound,
        "professional_not_found",
    );

    let (email, phone) = (unique_email("hugo.normand"), unique_phone());
    let p = set_contacts(
        &app,
        &silent,
        &email,
        &format!(
            "{} {} {} {} {}",
            &phone[..2],
            &phone[2..4],
            &phone[4..6],
            &phone[6..8],
            &phone[8..]
        ),
        "op-ars-35",
    )
    .await
    .expect("contacts set");
    assert_eq!(
        p.operator_contacts,
        Some(ContactChannels {
            email: email.clone(),
            phone: phone.clone()
        })
    );
    let set = app
        .events_of("egide.enrolment.professional.contacts_set")
        .await;
    assert_eq!(set.len(), 1);
    assert_eq!(
        set[0].envelope.actor.as_ref().and_then(|a| a.kind.clone()),
        Some(ActorKind::Operator("op-ars-35".into()))
    );
    let (mail_code, sms_code) = codes_after_start(&app, &silent, &email, &phone).await;
    confirm_ecps(&app, &silent, &mail_code, &sms_code)
        .await
        .expect("confirmed");

    // For a professional the directory can reach, the operator's channels win.
    let reachable = d.reachable.id_nat_ps();
    let (email2, phone2) = (unique_email("claire"), unique_phone());
    set_contacts(&app, &reachable, &email2, &phone2, "op-ars-35")
        .await
        .expect("override");
    let directory_mails = mails_to(&d.email);
    let (mail_code, sms_code) = codes_after_start(&app, &reachable, &email2, &phone2).await;
    assert_eq!(
        mails_to(&d.email),
        directory_mails,
        "nothing went to the directory's e-mail"
    );
    confirm_ecps(&app, &reachable, &mail_code, &sms_code)
        .await
        .expect("confirmed");
}

#[tokio::test]
async fn codes_are_sent_a_limited_number_of_times() {
    let app = spawn_app().await;
    let d = Directory::new();
    import_rpps(&app, &rpps_name(13), d.file(true)).await;
    let id = d.reachable.id_nat_ps();
    for _ in 0..3 {
        start_ecps(&app, &id).await.expect("codes sent");
    }
    expect_error(
        start_ecps(&app, &id).await,
        Code::ResourceExhausted,
        "too_many_codes",
    );
    assert_eq!(
        app.events_of("egide.enrolment.professional.ecps_started")
            .await
            .len(),
        3
    );
    expect_error(
        confirm_ecps(&app, &d.silent.id_nat_ps(), "123456", "123456").await,
        Code::FailedPrecondition,
        "no_activation",
    );
}

#[tokio::test]
async fn ecps_follows_the_directory_out_and_back_in() {
    let app = spawn_app_with_config(|c| c.directory.max_deactivation_ratio = 0.5).await;
    let d = Directory::new();
    import_rpps(&app, &rpps_name(10), d.file(true)).await;
    let id = d.reachable.id_nat_ps();
    let first = activated(&app, &d).await;

    // A newer extract without her: inactive, e-CPS blocked.
    let without = import_rpps(&app, &rpps_name(11), d.file(false)).await;
    let c = without.counts();
    assert_eq!(
        (
            c.entities,
            c.added,
            c.updated,
            c.deactivated,
            c.reactivated,
            c.unchanged
        ),
        (2, 0, 0, 1, 0, 2)
    );
    let p = get(&app, &id).await.expect("still known");
    assert!(!p.active);
    assert_eq!(state(&p), EcpsState::Inactive);
    assert_eq!(p.devices.len(), 1, "the device is kept");
    let deactivated = app
        .events_of("egide.enrolment.professional.deactivated")
        .await;
    assert_eq!(deactivated.len(), 1);
    match &deactivated[0].envelope.payload {
        Some(Payload::ProfessionalChanged(p)) => {
            assert_eq!(
                (p.id_nat_ps.as_str(), p.import_id.as_str(), p.active),
                (id.as_str(), without.done.id.as_str(), false)
            );
        }
        other => panic!("{other:?}"),
    }
    expect_error(
        start_ecps(&app, &id).await,
        Code::FailedPrecondition,
        "professional_inactive",
    );
    expect_error(
        challenge(&app, &ps_owner(&id)).await,
        Code::FailedPrecondition,
        "professional_inactive",
    );

    // Back in a later extract: active again, and so is her e-CPS.
    let back = import_rpps(&app, &rpps_name(12), d.file(true)).await;
    let c = back.counts();
    assert_eq!(
        (
            c.entities,
            c.added,
            c.updated,
            c.deactivated,
            c.reactivated,
            c.unchanged
        ),
        (3, 0, 0, 0, 1, 2)
    );
    let p = get(&app, &id).await.unwrap();
    assert!(p.active);
    assert_eq!(state(&p), EcpsState::Active);
    assert_eq!(
        app.events_of("egide.enrolment.professional.reactivated")
            .await
            .len(),
        1
    );
    add_device(
        &app,
        &ps_owner(&id),
        &DeviceSigner::generate(Algorithm::Es256),
        &first,
    )
    .await
    .expect("a second phone, co-signed by the first");
}

#[tokio::test]
async fn a_second_ecps_phone_needs_the_first_ones_cosignature() {
    let app = spawn_app().await;
    let d = Directory::new();
    import_rpps(&app, &rpps_name(13), d.file(true)).await;
    let id = d.reachable.id_nat_ps();
    let first = activated(&app, &d).await;
    let tablet = DeviceSigner::generate(Algorithm::EdDsa);
    expect_error(
        register_device(&app, &ps_owner(&id), &tablet).await,
        Code::PermissionDenied,
        "authorization_required",
    );
    let added = add_device(&app, &ps_owner(&id), &tablet, &first)
        .await
        .expect("co-signed");
    assert_eq!(added.professional.map(|p| p.devices.len()), Some(2));
    assert_eq!(
        app.events_of("egide.enrolment.professional.ecps_activated")
            .await
            .len(),
        1,
        "only the first device activates"
    );
}

#[tokio::test]
async fn an_ecps_whose_phones_were_all_revoked_is_activated_again_with_new_codes() {
    let app = spawn_app().await;
    let d = Directory::new();
    import_rpps(&app, &rpps_name(13), d.file(true)).await;
    let id = d.reachable.id_nat_ps();
    let lost = activated(&app, &d).await;
    app.client
        .clone()
        .revoke_device(crate::patient::as_operator(
            "op-ars-35",
            egide_proto::enrolment::v1::RevokeDeviceRequest {
                owner: Some(ps_owner(&id)),
                device_id: lost.device_id.clone(),
            },
        ))
        .await
        .expect("revoked");

    let (mail_code, sms_code) = codes_after_start(&app, &id, &d.email, &d.phone).await;
    let confirmed = confirm_ecps(&app, &id, &mail_code, &sms_code)
        .await
        .expect("confirmed again");
    assert_eq!(state(&confirmed), EcpsState::PendingDevice);
    let registered = register_device(
        &app,
        &ps_owner(&id),
        &DeviceSigner::generate(Algorithm::Es256),
    )
    .await
    .expect("a new phone without co-signature");
    assert_eq!(
        registered.professional.map(|p| state(&p)),
        Some(EcpsState::Active)
    );
}

#[tokio::test]
async fn an_activation_interrupted_by_the_directory_starts_over() {
    let app = spawn_app_with_config(|c| c.directory.max_deactivation_ratio = 0.5).await;
    let d = Directory::new();
    import_rpps(&app, &rpps_name(10), d.file(true)).await;
    let id = d.reachable.id_nat_ps();
    let (mail_code, sms_code) = codes_after_start(&app, &id, &d.email, &d.phone).await;

    import_rpps(&app, &rpps_name(11), d.file(false)).await;
    assert_eq!(state(&get(&app, &id).await.unwrap()), EcpsState::Inactive);
    expect_error(
        confirm_ecps(&app, &id, &mail_code, &sms_code).await,
        Code::FailedPrecondition,
        "no_activation",
    );

    import_rpps(&app, &rpps_name(12), d.file(true)).await;
    assert_eq!(
        state(&get(&app, &id).await.unwrap()),
        EcpsState::None,
        "no device: e-CPS starts over"
    );
    let (mail_code, sms_code) = codes_after_start(&app, &id, &d.email, &d.phone).await;
    confirm_ecps(&app, &id, &mail_code, &sms_code)
        .await
        .expect("a fresh activation");
}

#[tokio::test]
async fn directory_events_carry_the_ecps_state_they_leave() {
    let app = spawn_app_with_config(|c| c.directory.max_deactivation_ratio = 0.5).await;
    let d = Directory::new();
    import_rpps(&app, &rpps_name(10), d.file(true)).await;
    activated(&app, &d).await;
    import_rpps(&app, &rpps_name(11), d.file(false)).await;
    import_rpps(&app, &rpps_name(12), d.file(true)).await;
    let states: Vec<(String, EcpsState)> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type.ends_with("activated") && e.event_type.contains(".professional."))
        .filter_map(|e| match e.envelope.payload {
            Some(Payload::ProfessionalChanged(p)) => Some((e.event_type, p.ecps_state())),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            (
                "egide.enrolment.professional.ecps_activated".to_owned(),
                EcpsState::Active
            ),
            (
                "egide.enrolment.professional.deactivated".to_owned(),
                EcpsState::Inactive
            ),
            (
                "egide.enrolment.professional.reactivated".to_owned(),
                EcpsState::Active
            ),
        ]
    );
}

#[tokio::test]
async fn no_device_for_an_unknown_professional() {
    let app = spawn_app().await;
    let unknown = Ps::new(999_9999, "X", "Y").id_nat_ps();
    expect_error(
        challenge(&app, &ps_owner(&unknown)).await,
        Code::NotFound,
        "professional_not_found",
    );
    expect_error(
        start_ecps(&app, &unknown).await,
        Code::NotFound,
        "professional_not_found",
    );
}
