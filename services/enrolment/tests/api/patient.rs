//! The patient app's side of a wallet enrolment: each step, and shortcuts to a wallet in a
//! given state.

use std::time::Duration;

use egide_attest::{
    Algorithm,
    attestation::{Level, Method},
    device::{DeviceKey, DeviceSigner, registration_message},
};
use egide_proto::enrolment::v1::{
    CloseWalletRequest, ConfirmEmailCodeRequest, ConfirmEmailCodeResponse,
    CreateDeviceChallengeRequest, CreateDeviceChallengeResponse, DeviceOwner, GetWalletRequest,
    ReactivateWalletRequest, RegisterDeviceRequest, RegisterDeviceResponse,
    StartWalletEnrolmentRequest, StartWalletEnrolmentResponse, SubmitIdentityProofRequest,
    SubmitIdentityProofResponse, SuspendWalletRequest, Wallet, WalletState, device_owner,
};
use egide_sims::proofing::AttestationRequest;

use crate::{
    files::Person,
    helpers::{TestApp, mailbox, sims, unique_email},
};

/// How long a mail may take to reach the mail simulator.
pub const MAIL_WAIT: Duration = Duration::from_secs(15);

/// Starts an enrolment for `person` with `email`.
pub async fn start(
    app: &TestApp,
    person: &Person,
    email: &str,
) -> Result<StartWalletEnrolmentResponse, tonic::Status> {
    app.client
        .clone()
        .start_wallet_enrolment(StartWalletEnrolmentRequest {
            nir: person.nir.clone(),
            traits: Some(person.traits()),
            email: email.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// How many mails `address` has received so far.
pub fn mails_to(address: &str) -> usize {
    mailbox()
        .messages_to(address)
        .expect("read the mailbox")
        .len()
}

/// The code of the newest mail to `address`, once it has more than `known` mails.
pub async fn code_sent_to(address: &str, known: usize) -> String {
    let mail = mailbox()
        .wait_new_to(address, known, MAIL_WAIT)
        .await
        .unwrap_or_else(|e| panic!("no code for {address}: {e}"));
    mail.find_code(6)
        .unwrap_or_else(|| panic!("no 6-digit code in {:?}", mail.body))
}

pub async fn confirm(
    app: &TestApp,
    wallet_id: &str,
    code: &str,
) -> Result<ConfirmEmailCodeResponse, tonic::Status> {
    app.client
        .clone()
        .confirm_email_code(ConfirmEmailCodeRequest {
            wallet_id: wallet_id.into(),
            code: code.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// A request as the gateway forwards it for the patient of `wallet_id`, logged in.
pub fn as_patient<T>(wallet_id: &str, message: T) -> tonic::Request<T> {
    let person = egide_kit::caller::PersonCaller {
        category: egide_kit::caller::Category::Patient,
        subject: wallet_id.to_owned(),
        acr: "eidas2".into(),
        amr: vec!["hwk".into(), "mfa".into()],
        session_id: uuid::Uuid::now_v7().to_string(),
        client_id: "egide-cvapp".into(),
        auth_time: chrono::Utc::now().timestamp(),
    };
    person.request(message)
}

pub async fn get_wallet(app: &TestApp, wallet_id: &str) -> Wallet {
    app.client
        .clone()
        .get_wallet(as_patient(
            wallet_id,
            GetWalletRequest {
                wallet_id: wallet_id.into(),
            },
        ))
        .await
        .expect("get wallet")
        .into_inner()
        .wallet
        .expect("a wallet")
}

pub async fn state_of(app: &TestApp, wallet_id: &str) -> WalletState {
    get_wallet(app, wallet_id).await.state()
}

/// The attestation request the proofing simulator would get from the app for `person`,
/// bound to this enrolment.
pub fn attestation_request(
    person: &Person,
    wallet_id: &str,
    confirmed: &ConfirmEmailCodeResponse,
) -> AttestationRequest {
    AttestationRequest {
        subject: wallet_id.into(),
        nonce: confirmed.proofing_nonce.clone(),
        audience: confirmed.proofing_audience.clone(),
        level: Some(Level::Substantial),
        method: Some(Method::FranceIdentite),
        identity: person.attested(),
        issued_at: None,
        ttl_secs: None,
    }
}

/// Asks the proofing simulator to sign `request`.
pub async fn attest(request: &AttestationRequest) -> String {
    use http_body_util::{BodyExt as _, Full};
    use hyper::{Request, body::Bytes, header::CONTENT_TYPE};
    use hyper_util::{client::legacy::Client, rt::TokioExecutor};

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let http_request = Request::post(sims().proofing.attestation_url())
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(request).expect("json"),
        )))
        .expect("request");
    let response = client
        .request(http_request)
        .await
        .expect("the proofing simulator answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert!(
        status.is_success(),
        "proofing simulator: {status} {}",
        String::from_utf8_lossy(&body)
    );
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("json answer");
    answer["attestation"]
        .as_str()
        .expect("an attestation")
        .to_owned()
}

pub async fn submit(
    app: &TestApp,
    wallet_id: &str,
    attestation: String,
) -> Result<SubmitIdentityProofResponse, tonic::Status> {
    app.client
        .clone()
        .submit_identity_proof(SubmitIdentityProofRequest {
            wallet_id: wallet_id.into(),
            attestation,
        })
        .await
        .map(tonic::Response::into_inner)
}

pub fn wallet_owner(wallet_id: &str) -> DeviceOwner {
    DeviceOwner {
        owner: Some(device_owner::Owner::WalletId(wallet_id.into())),
    }
}

pub fn ps_owner(id_nat_ps: &str) -> DeviceOwner {
    DeviceOwner {
        owner: Some(device_owner::Owner::IdNatPs(id_nat_ps.into())),
    }
}

/// The registration id a device proof is bound to.
pub fn owner_key(owner: &DeviceOwner) -> String {
    match owner.owner.as_ref().expect("an owner") {
        device_owner::Owner::WalletId(id) => format!("wallet:{id}"),
        device_owner::Owner::IdNatPs(id) => format!("ps:{id}"),
    }
}

pub async fn challenge(
    app: &TestApp,
    owner: &DeviceOwner,
) -> Result<CreateDeviceChallengeResponse, tonic::Status> {
    app.client
        .clone()
        .create_device_challenge(CreateDeviceChallengeRequest {
            owner: Some(owner.clone()),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// The registration request of `signer` for `owner` over `nonce`, signed as a phone does.
pub fn registration(
    signer: &DeviceSigner,
    owner: &DeviceOwner,
    nonce: &str,
) -> RegisterDeviceRequest {
    let key = signer.device_key();
    let message = registration_message(&owner_key(owner), nonce, &key.thumbprint());
    RegisterDeviceRequest {
        owner: Some(owner.clone()),
        public_key: key.to_spki_der(),
        nonce: nonce.into(),
        signature: signer.sign(&message),
        label: format!("test phone ({})", signer.algorithm()),
        ..Default::default()
    }
}

/// A registered phone: its key and Égide's device id.
#[derive(Debug, Clone)]
pub struct Phone {
    pub signer: DeviceSigner,
    pub device_id: String,
}

impl Phone {
    /// Co-signs `request` (the same registration message) as the live device that lets a
    /// new phone in.
    pub fn authorize(&self, mut request: RegisterDeviceRequest) -> RegisterDeviceRequest {
        let key = DeviceKey::from_spki_der(&request.public_key).expect("a device key");
        let owner = request.owner.as_ref().expect("an owner");
        let message = registration_message(&owner_key(owner), &request.nonce, &key.thumbprint());
        request.authorizing_device_id = self.device_id.clone();
        request.authorization = self.signer.sign(&message);
        request
    }
}

pub async fn register(
    app: &TestApp,
    request: RegisterDeviceRequest,
) -> Result<RegisterDeviceResponse, tonic::Status> {
    app.client
        .clone()
        .register_device(request)
        .await
        .map(tonic::Response::into_inner)
}

/// A fresh challenge, then the registration of `signer`.
pub async fn register_device(
    app: &TestApp,
    owner: &DeviceOwner,
    signer: &DeviceSigner,
) -> Result<RegisterDeviceResponse, tonic::Status> {
    let nonce = challenge(app, owner).await?.nonce;
    register(app, registration(signer, owner, &nonce)).await
}

/// A fresh challenge, then the registration of `signer` co-signed by the live `by`.
pub async fn add_device(
    app: &TestApp,
    owner: &DeviceOwner,
    signer: &DeviceSigner,
    by: &Phone,
) -> Result<RegisterDeviceResponse, tonic::Status> {
    let nonce = challenge(app, owner).await?.nonce;
    register(app, by.authorize(registration(signer, owner, &nonce))).await
}

/// The phone `signer` became once registered.
pub fn phone(signer: &DeviceSigner, registered: &RegisterDeviceResponse) -> Phone {
    Phone {
        signer: signer.clone(),
        device_id: registered.device.as_ref().expect("a device").id.clone(),
    }
}

/// An enrolment driven by the tests.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub wallet_id: String,
    pub email: String,
}

/// A started enrolment for `person` (waiting for the e-mail code).
pub async fn started(app: &TestApp, person: &Person) -> Enrolment {
    let email = unique_email("patient");
    let started = start(app, person, &email).await.expect("enrolment starts");
    Enrolment {
        wallet_id: started.wallet.expect("a wallet").id,
        email,
    }
}

/// An enrolment whose e-mail is confirmed (waiting for the proof).
pub async fn confirmed(app: &TestApp, person: &Person) -> (Enrolment, ConfirmEmailCodeResponse) {
    let e = started(app, person).await;
    let code = code_sent_to(&e.email, 0).await;
    let confirmed = confirm(app, &e.wallet_id, &code)
        .await
        .expect("code confirmed");
    (e, confirmed)
}

/// An enrolment whose identity is proven (waiting for a device).
pub async fn proven(app: &TestApp, person: &Person) -> Enrolment {
    let (e, confirmed) = confirmed(app, person).await;
    let token = attest(&attestation_request(person, &e.wallet_id, &confirmed)).await;
    submit(app, &e.wallet_id, token)
        .await
        .expect("proof accepted");
    e
}

/// An active wallet with one P-256 device.
pub async fn active(app: &TestApp, person: &Person) -> (Enrolment, Phone) {
    let e = proven(app, person).await;
    let signer = DeviceSigner::generate(Algorithm::Es256);
    let registered = register_device(app, &wallet_owner(&e.wallet_id), &signer)
        .await
        .expect("first device");
    (e, phone(&signer, &registered))
}

// ---- Suspension, reactivation, closing -------------------------------------------------

/// Who the gateway verified as the caller (the tests play the gateway).
#[derive(Clone, Debug)]
pub enum By {
    /// The wallet's patient.
    Patient,
    /// An operator, by account id.
    Operator(String),
}

pub fn patient_requester() -> Option<By> {
    Some(By::Patient)
}

pub fn operator(id: &str) -> Option<By> {
    Some(By::Operator(id.into()))
}

/// A request as the gateway forwards it for an operator with two factors.
pub fn as_operator<T>(id: &str, message: T) -> tonic::Request<T> {
    egide_kit::caller::PersonCaller::test_operator(id).request(message)
}

/// `message` from `by` acting on `wallet_id` (anonymous when `None`).
pub fn by_request<T>(wallet_id: &str, by: Option<By>, message: T) -> tonic::Request<T> {
    match by {
        None => tonic::Request::new(message),
        Some(By::Patient) => as_patient(wallet_id, message),
        Some(By::Operator(id)) => as_operator(&id, message),
    }
}

pub async fn suspend(
    app: &TestApp,
    id: &str,
    reason: &str,
    by: Option<By>,
) -> Result<egide_proto::enrolment::v1::Wallet, tonic::Status> {
    app.client
        .clone()
        .suspend_wallet(by_request(
            id,
            by,
            SuspendWalletRequest {
                wallet_id: id.into(),
                reason: reason.into(),
            },
        ))
        .await
        .map(|r| r.into_inner().wallet.expect("wallet"))
}

pub async fn reactivate(
    app: &TestApp,
    id: &str,
    by: Option<By>,
) -> Result<egide_proto::enrolment::v1::Wallet, tonic::Status> {
    app.client
        .clone()
        .reactivate_wallet(by_request(
            id,
            by,
            ReactivateWalletRequest {
                wallet_id: id.into(),
            },
        ))
        .await
        .map(|r| r.into_inner().wallet.expect("wallet"))
}

pub async fn close(
    app: &TestApp,
    id: &str,
    by: Option<By>,
) -> Result<egide_proto::enrolment::v1::Wallet, tonic::Status> {
    app.client
        .clone()
        .close_wallet(by_request(
            id,
            by,
            CloseWalletRequest {
                wallet_id: id.into(),
            },
        ))
        .await
        .map(|r| r.into_inner().wallet.expect("wallet"))
}
