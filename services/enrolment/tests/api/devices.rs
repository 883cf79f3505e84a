//! Device registration with proof of possession: bad proofs, unusable keys, duplicates,
//! the device limit, revocation, and the wallet states that allow a device.

use base64::Engine as _;
use egide_attest::{
    Algorithm,
    device::{DeviceSigner, registration_message},
};
use egide_kit::events::Payload;
use egide_proto::enrolment::v1::{RevokeDeviceRequest, WalletState};
use tonic::Code;

use crate::{
    files::{Person, import_reference},
    helpers::{TestApp, expect_error, spawn_app, spawn_app_with_config, violation_fields},
    patient::{
        Phone, active, add_device, challenge, confirmed, owner_key, proven, register,
        register_device, registration, started, state_of, wallet_owner,
    },
};

/// A 1024-bit RSA SubjectPublicKeyInfo (DER).
const RSA_SPKI: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDDdwvVF46p/ToilEv2AO9N6rsbqgrC3drFaM2hcptpNRIQcZmauB1cIHKOcfJX1XqWmr3CcF8YFyhrhRoPenUkh4FekBdxhUvybO6zyb9jYTD94OZzEP1qaUj9WWz1u6z4230dLdDgR/VETcH8Oz8y3/5Yje0AaHz2KoBAYjFTKQIDAQAB";
/// A P-384 SubjectPublicKeyInfo (DER).
const P384_SPKI: &str = "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE0HYome4x2J4e19amux8y1K3RSymzsp9kcCUzKoQXT0oEIpkrwiCCnKCpG5qJGrQ0iqoPIxwMs624pl8yRYYjLpkYL5nOAuy0oPUDgybPBdPqFIc2wjQ1JpJP9nwpM/88";

fn der(b64: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64")
}

async fn live_devices(app: &TestApp) -> i64 {
    app.sql_i64("SELECT count(*) FROM devices WHERE revoked_at IS NULL")
        .await
}

#[tokio::test]
async fn every_bad_proof_is_refused_and_burns_the_nonce() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let e = proven(&app, &Person::zoe()).await;
    let other = proven(&app, &Person::paul()).await;
    let owner = wallet_owner(&e.wallet_id);
    let phone = DeviceSigner::generate(Algorithm::Es256);
    let bad_proof = |r| expect_error(r, Code::PermissionDenied, "bad_proof");

    // A signature by another key, then the right one over the same (burnt) nonce.
    let nonce = challenge(&app, &owner).await.unwrap().nonce;
    let thief = DeviceSigner::generate(Algorithm::Es256);
    let mut forged = registration(&phone, &owner, &nonce);
    forged.signature = thief.sign(&registration_message(
        &owner_key(&owner),
        &nonce,
        &phone.device_key().thumbprint(),
    ));
    bad_proof(register(&app, forged).await);
    bad_proof(register(&app, registration(&phone, &owner, &nonce)).await);

    // Bytes that are no signature at all.
    let nonce = challenge(&app, &owner).await.unwrap().nonce;
    let mut garbage = registration(&phone, &owner, &nonce);
    garbage.signature = vec![7; 10];
    bad_proof(register(&app, garbage).await);

    // A signature over another nonce.
    let signed = challenge(&app, &owner).await.unwrap().nonce;
    let sent = challenge(&app, &owner).await.unwrap().nonce;
    let mut swapped = registration(&phone, &owner, &signed);
    swapped.nonce = sent.clone();
    bad_proof(register(&app, swapped).await);
    bad_proof(register(&app, registration(&phone, &owner, &sent)).await);

    // An expired nonce.
    let nonce = challenge(&app, &owner).await.unwrap().nonce;
    app.sql(&format!("UPDATE device_challenges SET expires_at = now() - interval '1 second' WHERE nonce = '{nonce}'")).await;
    bad_proof(register(&app, registration(&phone, &owner, &nonce)).await);

    // A nonce issued to another wallet, and one never issued.
    let theirs = challenge(&app, &wallet_owner(&other.wallet_id))
        .await
        .unwrap()
        .nonce;
    bad_proof(register(&app, registration(&phone, &owner, &theirs)).await);
    bad_proof(register(&app, registration(&phone, &owner, "made-up-nonce")).await);

    assert_eq!(live_devices(&app).await, 0);
    assert_eq!(
        state_of(&app, &e.wallet_id).await,
        WalletState::PendingDevice
    );
    assert!(
        app.events_of("egide.enrolment.device.registered")
            .await
            .is_empty()
    );

    // The nonce signed earlier but never presented is still good, once.
    let ok = registration(&phone, &owner, &signed);
    register(&app, ok.clone())
        .await
        .expect("the untouched nonce works");
    bad_proof(register(&app, ok).await);
    assert_eq!(live_devices(&app).await, 1);
}

#[tokio::test]
async fn unusable_keys_are_invalid_argument_and_change_nothing() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let e = proven(&app, &Person::zoe()).await;
    let owner = wallet_owner(&e.wallet_id);
    let nonce = challenge(&app, &owner).await.unwrap().nonce;
    let phone = DeviceSigner::generate(Algorithm::Es256);

    for key in [
        der(RSA_SPKI),
        der(P384_SPKI),
        b"not a key".to_vec(),
        Vec::new(),
    ] {
        let mut request = registration(&phone, &owner, &nonce);
        request.public_key = key;
        let status = expect_error(
            register(&app, request).await,
            Code::InvalidArgument,
            "invalid_argument",
        );
        assert_eq!(violation_fields(&status), ["public_key"]);
    }
    let mut long_label = registration(&phone, &owner, &nonce);
    long_label.label = "x".repeat(65);
    let status = expect_error(
        register(&app, long_label).await,
        Code::InvalidArgument,
        "invalid_argument",
    );
    assert_eq!(violation_fields(&status), ["label"]);

    // A refused request is no attempt: the nonce still works.
    register(&app, registration(&phone, &owner, &nonce))
        .await
        .expect("registered");
}

#[tokio::test]
async fn a_key_is_registered_once() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let (e, phone) = active(&app, &Person::zoe()).await;
    let other = proven(&app, &Person::paul()).await;
    let before = app.events().await.len();
    // Again for the same wallet (co-signed by itself, so that the key is what is refused).
    expect_error(
        add_device(&app, &wallet_owner(&e.wallet_id), &phone.signer, &phone).await,
        Code::AlreadyExists,
        "device_exists",
    );
    // Nor for somebody else.
    expect_error(
        register_device(&app, &wallet_owner(&other.wallet_id), &phone.signer).await,
        Code::AlreadyExists,
        "device_exists",
    );
    assert_eq!(live_devices(&app).await, 1);
    assert_eq!(
        state_of(&app, &other.wallet_id).await,
        WalletState::PendingDevice
    );
    assert_eq!(
        app.events().await.len(),
        before,
        "no event for a refused key"
    );
}

async fn revoke(
    app: &TestApp,
    wallet_id: &str,
    device_id: &str,
    operator: &str,
) -> Result<egide_proto::enrolment::v1::Device, tonic::Status> {
    app.client
        .clone()
        .revoke_device({
            let message = RevokeDeviceRequest {
                owner: Some(wallet_owner(wallet_id)),
                device_id: device_id.into(),
            };
            if operator.is_empty() {
                crate::patient::as_patient(wallet_id, message)
            } else {
                crate::patient::as_operator(operator, message)
            }
        })
        .await
        .map(|r| r.into_inner().device.expect("device"))
}

#[tokio::test]
async fn the_device_limit_holds_until_one_is_revoked() {
    let app = spawn_app_with_config(|c| c.wallet.max_devices = 2).await;
    import_reference(&app, &[]).await;
    let (e, first) = active(&app, &Person::zoe()).await;
    let owner = wallet_owner(&e.wallet_id);
    let second = add_device(
        &app,
        &owner,
        &DeviceSigner::generate(Algorithm::EdDsa),
        &first,
    )
    .await
    .unwrap();
    let third = DeviceSigner::generate(Algorithm::Es256);
    expect_error(
        add_device(&app, &owner, &third, &first).await,
        Code::FailedPrecondition,
        "too_many_devices",
    );
    assert_eq!(live_devices(&app).await, 2);

    // Revoking one makes room.
    let second_id = second.device.unwrap().id;
    let revoked = revoke(&app, &e.wallet_id, &second_id, "")
        .await
        .expect("revoked");
    assert!(revoked.revoked_at.is_some());
    let events = app.events_of("egide.enrolment.device.revoked").await;
    assert_eq!(events.len(), 1);
    match &events[0].envelope.payload {
        Some(Payload::DeviceChanged(d)) => assert_eq!(
            d.device.as_ref().map(|d| d.id.as_str()),
            Some(second_id.as_str())
        ),
        other => panic!("{other:?}"),
    }
    expect_error(
        revoke(&app, &e.wallet_id, &second_id, "").await,
        Code::NotFound,
        "device_not_found",
    );
    let other = proven(&app, &Person::paul()).await;
    expect_error(
        revoke(&app, &other.wallet_id, &second_id, "op-1").await,
        Code::NotFound,
        "device_not_found",
    );

    add_device(&app, &owner, &third, &first)
        .await
        .expect("room for a device again");
    expect_error(
        add_device(
            &app,
            &owner,
            &DeviceSigner::generate(Algorithm::EdDsa),
            &first,
        )
        .await,
        Code::FailedPrecondition,
        "too_many_devices",
    );
    let wallet = crate::patient::get_wallet(&app, &e.wallet_id).await;
    assert_eq!(wallet.devices.len(), 3, "revoked devices stay listed");
    assert_eq!(
        wallet
            .devices
            .iter()
            .filter(|d| d.revoked_at.is_none())
            .count(),
        2
    );
    assert_eq!(
        wallet.state(),
        WalletState::Active,
        "revoking does not touch the wallet"
    );
}

#[tokio::test]
async fn a_revoked_key_may_come_back_with_a_live_phones_cosignature() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let (e, first) = active(&app, &Person::zoe()).await;
    let owner = wallet_owner(&e.wallet_id);
    let tablet = DeviceSigner::generate(Algorithm::EdDsa);
    let added = add_device(&app, &owner, &tablet, &first)
        .await
        .expect("second device");
    let tablet_id = added.device.unwrap().id;
    let revoked = revoke(&app, &e.wallet_id, &tablet_id, "op-support-1")
        .await
        .expect("revoked by an operator");
    assert!(revoked.revoked_at.is_some());
    let event = app
        .events_of("egide.enrolment.device.revoked")
        .await
        .pop()
        .unwrap();
    assert_eq!(
        event.envelope.actor.and_then(|a| a.kind),
        Some(egide_kit::events::ActorKind::Operator(
            "op-support-1".into()
        ))
    );
    // A revoked device authorizes nothing.
    expect_error(
        add_device(
            &app,
            &owner,
            &DeviceSigner::generate(Algorithm::Es256),
            &Phone {
                signer: tablet.clone(),
                device_id: tablet_id.clone(),
            },
        )
        .await,
        Code::PermissionDenied,
        "authorization_required",
    );

    let again = add_device(&app, &owner, &tablet, &first)
        .await
        .expect("registered again");
    assert_ne!(again.device.unwrap().id, tablet_id, "a new device record");
    assert_eq!(live_devices(&app).await, 2);
    assert_eq!(
        app.events_of("egide.enrolment.device.registered")
            .await
            .len(),
        3
    );
}

/// Knowing a wallet id must never be enough to bind a phone to it: once the last phone is
/// revoked, the way back is a new enrolment with a fresh identity proof.
#[tokio::test]
async fn a_wallet_left_without_devices_cannot_bind_a_phone_without_a_cosignature() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let (e, phone) = active(&app, &Person::zoe()).await;
    revoke(&app, &e.wallet_id, &phone.device_id, "")
        .await
        .expect("revoked");
    assert_eq!(state_of(&app, &e.wallet_id).await, WalletState::Active);
    let replacement = DeviceSigner::generate(Algorithm::Es256);
    expect_error(
        register_device(&app, &wallet_owner(&e.wallet_id), &replacement).await,
        Code::PermissionDenied,
        "authorization_required",
    );
    assert_eq!(live_devices(&app).await, 0);
}

#[tokio::test]
async fn a_second_phone_needs_a_live_phones_cosignature() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let (e, first) = active(&app, &Person::zoe()).await;
    let (_, pauls) = active(&app, &Person::paul()).await;
    let owner = wallet_owner(&e.wallet_id);
    let new = DeviceSigner::generate(Algorithm::Es256);
    let refused = |r| expect_error(r, Code::PermissionDenied, "authorization_required");

    // None at all.
    let nonce = challenge(&app, &owner).await.unwrap().nonce;
    refused(register(&app, registration(&new, &owner, &nonce)).await);
    // Signed by another key than the named device's.
    let impostor = Phone {
        signer: DeviceSigner::generate(Algorithm::Es256),
        device_id: first.device_id.clone(),
    };
    refused(add_device(&app, &owner, &new, &impostor).await);
    // The named device's signature over another registration.
    let nonce = challenge(&app, &owner).await.unwrap().nonce;
    let elsewhere = challenge(&app, &owner).await.unwrap().nonce;
    let mut request = first.authorize(registration(&new, &owner, &elsewhere));
    let proper = registration(&new, &owner, &nonce);
    request.nonce = nonce;
    request.signature = proper.signature;
    refused(register(&app, request).await);
    // Another wallet's phone, an unknown device, no device id.
    refused(add_device(&app, &owner, &new, &pauls).await);
    let ghost = Phone {
        signer: first.signer.clone(),
        device_id: uuid::Uuid::now_v7().to_string(),
    };
    refused(add_device(&app, &owner, &new, &ghost).await);
    let nameless = Phone {
        signer: first.signer.clone(),
        device_id: String::new(),
    };
    refused(add_device(&app, &owner, &new, &nameless).await);
    assert_eq!(
        live_devices(&app).await,
        2,
        "Zoé's and Paul's first phones only"
    );

    // The refused attempt burnt its nonce.
    let nonce = challenge(&app, &owner).await.unwrap().nonce;
    refused(register(&app, registration(&new, &owner, &nonce)).await);
    expect_error(
        register(&app, first.authorize(registration(&new, &owner, &nonce))).await,
        Code::PermissionDenied,
        "bad_proof",
    );

    let added = add_device(&app, &owner, &new, &first)
        .await
        .expect("co-signed");
    assert_eq!(added.wallet.map(|w| w.devices.len()), Some(2));
}

#[tokio::test]
async fn no_device_before_the_identity_is_proven() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let pending_email = started(&app, &Person::zoe()).await;
    let (pending_proofing, _) = confirmed(&app, &Person::paul()).await;
    for e in [&pending_email, &pending_proofing] {
        expect_error(
            challenge(&app, &wallet_owner(&e.wallet_id)).await,
            Code::FailedPrecondition,
            "wrong_state",
        );
    }
    // Even with a nonce obtained some other way, the state is checked.
    app.sql(&format!(
        "INSERT INTO device_challenges (nonce, owner, expires_at) VALUES ('forged', 'wallet:{}', now() + interval '1 minute')",
        pending_proofing.wallet_id
    ))
    .await;
    let phone = DeviceSigner::generate(Algorithm::Es256);
    let owner = wallet_owner(&pending_proofing.wallet_id);
    expect_error(
        register(&app, registration(&phone, &owner, "forged")).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
    assert_eq!(live_devices(&app).await, 0);
    assert_eq!(
        state_of(&app, &pending_proofing.wallet_id).await,
        WalletState::PendingProofing
    );
    expect_error(
        challenge(&app, &wallet_owner(&uuid::Uuid::now_v7().to_string())).await,
        Code::NotFound,
        "wallet_not_found",
    );
}

#[tokio::test]
async fn a_nonce_presented_for_another_owner_is_burnt_too() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let zoe = proven(&app, &Person::zoe()).await;
    let paul = proven(&app, &Person::paul()).await;
    let pauls = wallet_owner(&paul.wallet_id);
    let nonce = challenge(&app, &pauls).await.unwrap().nonce;
    let phone = DeviceSigner::generate(Algorithm::Es256);
    let misused = registration(&phone, &wallet_owner(&zoe.wallet_id), &nonce);
    expect_error(
        register(&app, misused).await,
        Code::PermissionDenied,
        "bad_proof",
    );
    expect_error(
        register(&app, registration(&phone, &pauls, &nonce)).await,
        Code::PermissionDenied,
        "bad_proof",
    );
}
