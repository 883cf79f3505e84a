//! `egide professional …`: health professionals from the RPPS directory, and their e-CPS.

mod card;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context as _;
use clap::Subcommand;
use egide_attest::Algorithm;
use egide_proto::enrolment::v1::{
    ConfirmEcpsActivationRequest, ContactChannels, DeviceOwner, GetProfessionalRequest,
    Professional, SetProfessionalContactsRequest, StartEcpsActivationRequest, device_owner,
};
use egide_sims::mailbox::Mailbox;

use crate::{
    client::{
        Enrolment, JsonArg, Show, enrolment, fmt_opt_time, or_dash, required, short_enum, show,
        step,
    },
    phone::{Inbox, NewDevice, mailbox, print_devices},
};

/// `egide professional …`
#[derive(Subcommand)]
pub enum ProfessionalCommand {
    /// Shows what the directory and enrolment know of a professional.
    Get {
        /// idNat_PS, e.g. 810001045367 (8 + RPPS).
        #[arg(required_unless_present = "idnat", conflicts_with = "idnat")]
        id_nat_ps: Option<String>,
        /// The same, as an option (`--idnat 810001045367`).
        #[arg(long)]
        idnat: Option<String>,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Sets the e-mail and phone e-CPS activation codes go to (overriding the directory's).
    Contacts {
        /// idNat_PS, e.g. 810001045367 (8 + RPPS).
        id_nat_ps: String,
        /// E-mail address for the e-mail code.
        #[arg(long)]
        email: String,
        /// Phone number for the SMS code (E.164 or national format).
        #[arg(long)]
        phone: String,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Plays the e-CPS app against the simulators: starts activation, reads both codes
    /// from the mail capture (or signs a challenge with a soft CPS card, `--card`),
    /// confirms, registers a fresh P-256 device key.
    Activate {
        /// idNat_PS, e.g. 810001045367 (8 + RPPS).
        #[arg(required_unless_present = "idnat", conflicts_with = "idnat")]
        id_nat_ps: Option<String>,
        /// The same, as an option (`--idnat 810001045367`).
        #[arg(long)]
        idnat: Option<String>,
        /// Activate with this soft CPS card (its directory) instead of the two codes. The
        /// PIN is read from EGIDE_CARD_PIN, else asked on the terminal (never an argument:
        /// it would show in the process list and the shell history).
        #[arg(long, value_name = "DIR")]
        card: Option<PathBuf>,
        /// Domain of the e-mail-to-SMS gateway the service sends SMS through.
        #[arg(long, default_value = "sms.egide.test")]
        sms_domain: String,
        #[command(flatten)]
        json: JsonArg,
    },
}

/// `egide professional …`
pub async fn run(run_dir: &Path, command: ProfessionalCommand) -> anyhow::Result<ExitCode> {
    let mut client = enrolment(run_dir).await?;
    let (professional, json) = match command {
        ProfessionalCommand::Get {
            id_nat_ps,
            idnat,
            json,
        } => (
            get(&mut client, id_nat_ps.or(idnat).unwrap_or_default()).await?,
            json,
        ),
        ProfessionalCommand::Contacts {
            id_nat_ps,
            email,
            phone,
            json,
        } => {
            // As the operator logged in, recorded in the event.
            let token = crate::account::account_token(run_dir).await?;
            let request = SetProfessionalContactsRequest {
                id_nat_ps,
                contacts: Some(ContactChannels { email, phone }),
            };
            let r = client
                .set_professional_contacts(crate::session::bearer(&token, request)?)
                .await?;
            (required(r.into_inner().professional, "professional")?, json)
        }
        ProfessionalCommand::Activate {
            id_nat_ps,
            idnat,
            card,
            sms_domain,
            json,
        } => {
            let id_nat_ps = id_nat_ps.or(idnat).unwrap_or_default();
            let p = match card {
                Some(dir) => card::activate(&mut client, run_dir, id_nat_ps, &dir, json).await?,
                None => {
                    let mailbox = mailbox(run_dir)?;
                    activate(&mut client, run_dir, &mailbox, id_nat_ps, &sms_domain, json).await?
                }
            };
            step(json, "");
            (p, json)
        }
    };
    show(&professional, json)?;
    Ok(ExitCode::SUCCESS)
}

async fn get(client: &mut Enrolment, id_nat_ps: String) -> anyhow::Result<Professional> {
    let r = client
        .get_professional(GetProfessionalRequest { id_nat_ps })
        .await?;
    required(r.into_inner().professional, "professional")
}

/// The e-CPS activation, step by step.
async fn activate(
    client: &mut Enrolment,
    run_dir: &Path,
    mailbox: &Mailbox,
    id_nat_ps: String,
    sms_domain: &str,
    json: JsonArg,
) -> anyhow::Result<Professional> {
    let professional = get(client, id_nat_ps.clone()).await?;
    // Watch every address the codes may go to before they are sent; the masked channels
    // in the answer then say which ones they went to.
    let emails = watch_all(mailbox, email_candidates(&professional))?;
    let phones = watch_all(
        mailbox,
        phone_candidates(&professional)
            .into_iter()
            .map(|digits| format!("{digits}@{sms_domain}")),
    )?;
    let started = client
        .start_ecps_activation(StartEcpsActivationRequest {
            id_nat_ps: id_nat_ps.clone(),
        })
        .await?
        .into_inner();
    step(
        json,
        &format!(
            "1/3 started     codes sent to {} and {} (until {})",
            started.email_masked,
            started.phone_masked,
            fmt_opt_time(started.expires_at.as_ref())
        ),
    );
    let email_inbox = pick(emails, |address| {
        mask_email(address) == started.email_masked
    })
    .context("the e-mail code went to an address this professional's record does not show")?;
    let sms_inbox = pick(phones, |address| {
        let digits = address.split('@').next().unwrap_or_default();
        digits.len() >= 4 && started.phone_masked.ends_with(&digits[digits.len() - 4..])
    })
    .context("the SMS code went to a phone this professional's record does not show")?;
    let email_code = email_inbox.code().await?;
    let sms_code = sms_inbox.code().await?;
    let confirmed = client
        .confirm_ecps_activation(ConfirmEcpsActivationRequest {
            id_nat_ps: id_nat_ps.clone(),
            email_code,
            sms_code,
        })
        .await?
        .into_inner();
    step(
        json,
        &format!(
            "2/3 codes       both confirmed (e-CPS {})",
            confirmed
                .professional
                .as_ref()
                .map(ecps_state)
                .unwrap_or("?")
        ),
    );
    register_phone(client, run_dir, &id_nat_ps, json).await
}

/// The last step of either activation: a fresh P-256 key, saved under the run directory,
/// registered as the first e-CPS device (which makes e-CPS active).
async fn register_phone(
    client: &mut Enrolment,
    run_dir: &Path,
    id_nat_ps: &str,
    json: JsonArg,
) -> anyhow::Result<Professional> {
    let device = NewDevice::generate(run_dir, &format!("ps-{id_nat_ps}"), Algorithm::Es256)?;
    let owner = DeviceOwner {
        owner: Some(device_owner::Owner::IdNatPs(id_nat_ps.to_owned())),
    };
    let registered = device
        .register(client, owner, &format!("ps:{id_nat_ps}"))
        .await?;
    step(
        json,
        &format!(
            "3/3 device      {} registered, private key in {}",
            registered
                .device
                .as_ref()
                .map(|d| d.thumbprint.as_str())
                .unwrap_or("?"),
            device.path().display()
        ),
    );
    required(registered.professional, "professional")
}

/// Operator-set e-mail first, then the directory's, in file order.
fn email_candidates(p: &Professional) -> Vec<String> {
    let operator = p.operator_contacts.iter().map(|c| c.email.trim());
    let directory = p.activities.iter().map(|a| a.email.trim());
    dedup(
        operator
            .chain(directory)
            .filter(|e| e.contains('@'))
            .map(str::to_owned),
    )
}

/// Operator-set phone first, then the directory's, as the digits the SMS gateway uses.
fn phone_candidates(p: &Professional) -> Vec<String> {
    let operator = p.operator_contacts.iter().map(|c| c.phone.as_str());
    let directory = p.activities.iter().map(|a| a.phone.as_str());
    dedup(
        operator
            .chain(directory)
            .map(|phone| {
                phone
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            })
            .filter(|digits| digits.len() >= 8),
    )
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn watch_all(
    mailbox: &Mailbox,
    addresses: impl IntoIterator<Item = String>,
) -> anyhow::Result<Vec<(String, Inbox)>> {
    addresses
        .into_iter()
        .map(|a| Ok((a.clone(), Inbox::watch(mailbox, &a)?)))
        .collect()
}

/// The inbox whose address matches the masked one the service answered, else the only one.
fn pick(inboxes: Vec<(String, Inbox)>, matches: impl Fn(&str) -> bool) -> Option<Inbox> {
    let only = inboxes.len() == 1;
    let mut fallback = None;
    for (address, inbox) in inboxes {
        if matches(&address) {
            return Some(inbox);
        }
        if only {
            fallback = Some(inbox);
        }
    }
    fallback
}

/// The service's mask of an e-mail: first character, `***@`, domain.
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            format!("{}***@{domain}", local.chars().next().unwrap_or('*'))
        }
        None => "***".into(),
    }
}

fn ecps_state(p: &Professional) -> &'static str {
    short_enum(p.ecps_state().as_str_name(), "ECPS_STATE_")
}

impl Show for Professional {
    const NAME: &'static str = "egide.enrolment.v1.Professional";

    fn print(&self) {
        println!(
            "professional {}  {} {} {}",
            self.id_nat_ps, self.civility, self.first_name, self.last_name
        );
        println!(
            "  profession  {} {}",
            self.profession_code, self.profession_label
        );
        println!(
            "  directory   {}, updated {} by import {}",
            if self.active {
                "listed"
            } else {
                "NO LONGER LISTED"
            },
            fmt_opt_time(self.directory_updated_at.as_ref()),
            or_dash(&self.directory_import_id)
        );
        println!("  e-CPS       {}", ecps_state(self));
        if let Some(c) = &self.operator_contacts {
            println!("  contacts    {} {} (set by an operator)", c.email, c.phone);
        }
        for a in &self.activities {
            let site = [a.site_name.as_str(), a.site_trade_name.as_str()]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or("-");
            let ids: Vec<String> = [
                ("FINESS", &a.site_finess),
                ("SIRET", &a.site_siret),
                ("structure", &a.structure_technical_id),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
            println!(
                "  activity    {} {} — {site} ({}), {} {}",
                a.profession_code,
                a.practice_mode_label,
                ids.join(", "),
                a.postal_code,
                a.town
            );
        }
        print_devices(&self.devices);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use egide_proto::enrolment::v1::Activity;

    use super::*;

    fn professional() -> Professional {
        let activity = |email: &str, phone: &str| Activity {
            email: email.into(),
            phone: phone.into(),
            ..Activity::default()
        };
        Professional {
            activities: vec![
                activity("", "01 23"),
                activity("marie@cabinet.test", "01 23 45 67 89"),
                activity("marie@cabinet.test", "+33 1 98 76 54 32"),
            ],
            ..Professional::default()
        }
    }

    #[test]
    fn candidates_keep_directory_order_and_put_the_operator_first() {
        let mut p = professional();
        assert_eq!(email_candidates(&p), ["marie@cabinet.test"]);
        assert_eq!(phone_candidates(&p), ["0123456789", "33198765432"]);
        p.operator_contacts = Some(ContactChannels {
            email: "m@ops.test".into(),
            phone: "+33612345678".into(),
        });
        assert_eq!(email_candidates(&p), ["m@ops.test", "marie@cabinet.test"]);
        assert_eq!(phone_candidates(&p)[0], "33612345678");
    }

    #[test]
    fn masks_are_the_services() {
        assert_eq!(mask_email("marie@cabinet.test"), "m***@cabinet.test");
        assert_eq!(mask_email("nope"), "***");
    }
}
