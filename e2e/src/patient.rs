//! A patient's wallet enrolment as the carte Vitale app does it: the NIR and traits, the
//! e-mail code read from the mail simulator's capture, the attestation asked of the proofing
//! simulator over HTTP, and a device key proven over a challenge.
//!
//! Each step is its own function returning what the service answered, so that a test can
//! check every state on the way; [`Patient::enrol`] runs them all.

use std::{io::BufRead as _, path::Path, time::Duration};

use anyhow::{Context as _, bail, ensure};
use egide_attest::{
    Algorithm,
    attestation::{Identity, Sex},
    device::{DeviceSigner, registration_message},
};
use egide_directory::ins;
use egide_proto::enrolment::v1::{
    ConfirmEmailCodeRequest, ConfirmEmailCodeResponse, CreateDeviceChallengeRequest, Device,
    DeviceOwner, IdentityTraits, RegisterDeviceRequest, StartWalletEnrolmentRequest,
    SubmitIdentityProofRequest, Wallet, WalletState, device_owner,
    enrolment_service_client::EnrolmentServiceClient,
};
use egide_sims::{mailbox::Mailbox, proofing::AttestationRequest};
use tonic::transport::Channel;

use crate::Platform;

/// How long a code mail may take (the service sends through its outbox).
pub const MAIL_WAIT: Duration = Duration::from_secs(30);

/// An identity of the INS reference, as the patient declares it.
#[derive(Clone)]
pub struct Person {
    /// Matricule INS (NIR), 15 characters.
    pub nir: String,
    /// The strict traits.
    pub traits: IdentityTraits,
}

impl std::fmt::Debug for Person {
    // Identity traits never reach a log, even a test's.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Person { .. }")
    }
}

impl Person {
    /// The identity the (simulated) provider reads from the identity document: the
    /// declared one.
    pub fn attested(&self) -> anyhow::Result<Identity> {
        let t = &self.traits;
        let sex = match t.sex.as_str() {
            "M" => Sex::M,
            "F" => Sex::F,
            other => bail!("sex {other:?}: M or F"),
        };
        Ok(Identity {
            birth_name: t.birth_name.clone(),
            given_names: t.given_names.clone(),
            sex,
            birth_date: t.birth_date.clone(),
            birth_place: t.birth_place.clone(),
        })
    }
}

/// The first `n` well-formed identities of an `ins_reference.csv` (e.g. the synthetic one).
pub fn reference_identities(path: &Path, n: usize) -> anyhow::Result<Vec<Person>> {
    let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header = lines.next().transpose()?.unwrap_or_default();
    ins::check_identity_header(header.trim_start_matches('\u{feff}').as_bytes())?;
    let mut people = Vec::with_capacity(n);
    for line in lines {
        if people.len() == n {
            break;
        }
        let line = line?;
        // Broken rows (the synthetic file may hold some) are skipped, as the import does.
        let Ok(identity) = ins::parse_identity(line.trim_end_matches('\r').as_bytes()) else {
            continue;
        };
        people.push(Person {
            nir: identity.ins.matricule().to_string(),
            traits: IdentityTraits {
                birth_name: identity.birth_name.to_owned(),
                given_names: identity.given_name_list().map(str::to_owned).collect(),
                sex: identity.sex.letter().to_owned(),
                birth_date: identity.birth_date.format("%Y-%m-%d").to_string(),
                birth_place: identity.birth_place.to_owned(),
            },
        });
    }
    ensure!(
        people.len() == n,
        "{} holds {} identities, {n} wanted",
        path.display(),
        people.len()
    );
    Ok(people)
}

/// The owner of a wallet's devices.
pub fn wallet_owner(wallet_id: &str) -> DeviceOwner {
    DeviceOwner {
        owner: Some(device_owner::Owner::WalletId(wallet_id.to_owned())),
    }
}

/// A patient with their app: the enrolment client (through the gateway when it runs), the
/// mailbox of their address and the proofing provider's URL.
#[derive(Debug)]
pub struct Patient {
    /// Who enrols.
    pub person: Person,
    /// Where the code goes.
    pub email: String,
    client: EnrolmentServiceClient<Channel>,
    mailbox: Mailbox,
    attestation_url: String,
}

/// A wallet enrolled to its first device.
#[derive(Debug)]
pub struct Enrolled {
    /// The wallet, active.
    pub wallet: Wallet,
    /// The phone's key.
    pub phone: DeviceSigner,
    /// The device as registered.
    pub device: Device,
}

impl Patient {
    /// `person` enrolling on `platform` with a fresh address at `patients.egide.test`.
    pub fn new(platform: &Platform, person: Person) -> anyhow::Result<Self> {
        Ok(Self {
            person,
            email: format!(
                "patient-{}@patients.egide.test",
                uuid::Uuid::now_v7().simple()
            ),
            client: platform.enrolment()?,
            mailbox: platform.mailbox()?,
            attestation_url: platform.proofing_attestation_url()?,
        })
    }

    /// The client the app uses.
    pub fn client(&self) -> EnrolmentServiceClient<Channel> {
        self.client.clone()
    }

    /// `StartWalletEnrolment`.
    pub async fn start(&self) -> anyhow::Result<Wallet> {
        let answer = self
            .client()
            .start_wallet_enrolment(StartWalletEnrolmentRequest {
                nir: self.person.nir.clone(),
                traits: Some(self.person.traits.clone()),
                email: self.email.clone(),
            })
            .await
            .context("StartWalletEnrolment")?
            .into_inner();
        answer.wallet.context("StartWalletEnrolment: no wallet")
    }

    /// The newest code sent to the patient's address once there are more than `known`
    /// mails to it.
    pub async fn code(&self, known: usize) -> anyhow::Result<String> {
        let mail = self
            .mailbox
            .wait_new_to(&self.email, known, MAIL_WAIT)
            .await?;
        mail.find_code(6)
            .with_context(|| format!("no 6-digit code in {}", mail.path.display()))
    }

    /// `ConfirmEmailCode` with the code of the first mail.
    pub async fn confirm_email(&self, wallet_id: &str) -> anyhow::Result<ConfirmEmailCodeResponse> {
        let code = self.code(0).await?;
        Ok(self
            .client()
            .confirm_email_code(ConfirmEmailCodeRequest {
                wallet_id: wallet_id.to_owned(),
                code,
            })
            .await
            .context("ConfirmEmailCode")?
            .into_inner())
    }

    /// Asks the proofing simulator for an attestation bound to `confirmed`'s nonce and
    /// audience, then `SubmitIdentityProof`.
    pub async fn prove_identity(
        &self,
        wallet_id: &str,
        confirmed: &ConfirmEmailCodeResponse,
    ) -> anyhow::Result<Wallet> {
        let request = AttestationRequest {
            subject: wallet_id.to_owned(),
            nonce: confirmed.proofing_nonce.clone(),
            audience: confirmed.proofing_audience.clone(),
            level: None,
            method: None,
            identity: self.person.attested()?,
            issued_at: None,
            ttl_secs: None,
        };
        let (status, body) = crate::http::post_json(&self.attestation_url, &[], &request).await?;
        ensure!(
            status.is_success(),
            "the proofing simulator refused: {status} {body}"
        );
        let answer: egide_sims::proofing::AttestationResponse =
            serde_json::from_str(&body).context("the proofing simulator's answer")?;
        let answer = self
            .client()
            .submit_identity_proof(SubmitIdentityProofRequest {
                wallet_id: wallet_id.to_owned(),
                attestation: answer.attestation,
            })
            .await
            .context("SubmitIdentityProof")?
            .into_inner();
        answer.wallet.context("SubmitIdentityProof: no wallet")
    }

    /// A fresh P-256 key, a challenge, and `RegisterDevice` with the proof of possession
    /// (the first device needs no co-signature).
    pub async fn register_first_device(&self, wallet_id: &str) -> anyhow::Result<Enrolled> {
        let owner = wallet_owner(wallet_id);
        let phone = DeviceSigner::generate(Algorithm::Es256);
        let challenge = self
            .client()
            .create_device_challenge(CreateDeviceChallengeRequest {
                owner: Some(owner.clone()),
            })
            .await
            .context("CreateDeviceChallenge")?
            .into_inner();
        let key = phone.device_key();
        let message = registration_message(
            &format!("wallet:{wallet_id}"),
            &challenge.nonce,
            &key.thumbprint(),
        );
        let answer = self
            .client()
            .register_device(RegisterDeviceRequest {
                owner: Some(owner),
                public_key: key.to_spki_der(),
                nonce: challenge.nonce,
                signature: phone.sign(&message),
                label: "e2e phone".into(),
                ..Default::default()
            })
            .await
            .context("RegisterDevice")?
            .into_inner();
        Ok(Enrolled {
            wallet: answer.wallet.context("RegisterDevice: no wallet")?,
            device: answer.device.context("RegisterDevice: no device")?,
            phone,
        })
    }

    /// Every step, checking the state after each.
    pub async fn enrol(&self) -> anyhow::Result<Enrolled> {
        let started = self.start().await?;
        expect_state(&started, WalletState::PendingEmail, "after the start")?;
        let confirmed = self.confirm_email(&started.id).await?;
        expect_state(
            confirmed
                .wallet
                .as_ref()
                .context("ConfirmEmailCode: no wallet")?,
            WalletState::PendingProofing,
            "after the e-mail code",
        )?;
        let proven = self.prove_identity(&started.id, &confirmed).await?;
        expect_state(
            &proven,
            WalletState::PendingDevice,
            "after the identity proof",
        )?;
        let enrolled = self.register_first_device(&started.id).await?;
        expect_state(
            &enrolled.wallet,
            WalletState::Active,
            "after the first device",
        )?;
        Ok(enrolled)
    }
}

/// Fails unless `wallet` is in `state`.
impl Enrolled {
    /// The app's device-key login through `platform` (the gateway when it runs), as
    /// client `egide-cvapp`.
    pub async fn login(
        &self,
        platform: &Platform,
    ) -> anyhow::Result<egide_proto::auth::v1::TokenResponse> {
        use egide_proto::auth::v1::{self as pb, auth_service_client::AuthServiceClient};
        let mut auth = AuthServiceClient::new(platform.api_channel(crate::Service::Auth)?);
        let owner = format!("wallet:{}", self.wallet.id);
        let challenge = auth
            .start_login(pb::StartLoginRequest {
                client_id: "egide-cvapp".into(),
                scope: "openid".into(),
                means: Some(pb::start_login_request::Means::Device(pb::DeviceLogin {
                    owner: Some(pb::LoginOwner {
                        owner: Some(pb::login_owner::Owner::WalletId(self.wallet.id.clone())),
                    }),
                    device_id: self.device.id.clone(),
                })),
            })
            .await?
            .into_inner();
        let message = egide_attest::login::login_message(
            "device",
            &owner,
            &self.device.id,
            "egide-cvapp",
            &challenge.challenge_id,
            &challenge.challenge,
        );
        Ok(auth
            .complete_login(pb::CompleteLoginRequest {
                challenge_id: challenge.challenge_id,
                proof: Some(pb::complete_login_request::Proof::DeviceSignature(
                    self.phone.sign(&message),
                )),
                nonce: String::new(),
            })
            .await?
            .into_inner())
    }
}

/// `message` with `authorization: Bearer <access_token>`.
pub fn with_bearer<T>(access_token: &str, message: T) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {access_token}").parse()?);
    Ok(request)
}

pub fn expect_state(wallet: &Wallet, state: WalletState, when: &str) -> anyhow::Result<()> {
    ensure!(
        wallet.state() == state,
        "wallet {} is {:?} {when}, {state:?} expected",
        wallet.id,
        wallet.state()
    );
    Ok(())
}

/// The first operator's session through `platform`, with two factors (made once per
/// platform, then refreshed: see `Platform::operator_tokens`).
pub async fn operator_session(
    platform: &Platform,
) -> anyhow::Result<egide_proto::auth::v1::TokenResponse> {
    platform.operator_tokens().await
}

/// A new operator session with two factors: the first operator logs in with the password,
/// enrols TOTP (the CLI's `egide totp enrol`, the code computed as an authenticator app
/// would), then logs in with password and code. Once per platform: a second enrolment
/// would need a session that used the first TOTP.
pub(crate) async fn first_operator_session(
    platform: &Platform,
) -> anyhow::Result<egide_proto::auth::v1::TokenResponse> {
    use egide_auth::accounts::totp;
    use egide_proto::auth::v1::{self as pb, auth_service_client::AuthServiceClient};
    let mut auth = AuthServiceClient::new(platform.api_channel(crate::Service::Auth)?);
    let login = |second_factor: String| pb::PasswordLoginRequest {
        client_id: "egide-cli".into(),
        scope: String::new(),
        login: crate::platform::FIRST_OPERATOR.into(),
        password: crate::platform::FIRST_OPERATOR_PASSWORD.into(),
        second_factor,
    };
    let pwd = auth
        .password_login(login(String::new()))
        .await?
        .into_inner();
    let started = auth
        .start_totp_enrolment(with_bearer(
            &pwd.access_token,
            pb::StartTotpEnrolmentRequest {},
        )?)
        .await?
        .into_inner();
    let secret = totp::base32_decode(&started.secret_base32)
        .ok_or_else(|| anyhow::anyhow!("not base32: {}", started.secret_base32))?;
    let step = |offset: u64| {
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        totp::code_at(&secret, now / totp::PERIOD + offset, totp::DIGITS)
    };
    auth.confirm_totp_enrolment(with_bearer(
        &pwd.access_token,
        pb::ConfirmTotpEnrolmentRequest { code: step(0) },
    )?)
    .await?;
    // The enrolment spent this step's code: the next one (within the ±1 step window).
    Ok(auth.password_login(login(step(1))).await?.into_inner())
}
