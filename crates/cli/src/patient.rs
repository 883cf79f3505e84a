//! `egide patient …`: patients' wallets (the server side of the carte Vitale app).

mod enrol;

use std::{path::Path, process::ExitCode};

use clap::Subcommand;
use egide_proto::enrolment::v1::{
    CloseWalletRequest, Device, DeviceOwner, GetWalletRequest, InsuredRights,
    ReactivateWalletRequest, RevokeDeviceRequest, SuspendWalletRequest, Wallet, device_owner,
};

use crate::{
    client::{JsonArg, Show, enrolment, fmt_time, or_dash, required, short_enum, show},
    phone::print_devices,
};

/// `egide patient …`
#[derive(Subcommand)]
pub enum PatientCommand {
    /// Plays the carte Vitale app against the simulators: starts an enrolment, confirms
    /// the e-mail code from the mail capture, gets an identity attestation from the
    /// proofing simulator, registers a fresh device key.
    Enrol(enrol::EnrolArgs),
    /// Shows a wallet.
    Show {
        /// The wallet id.
        wallet_id: String,
        /// Read with the current operator session; without it, as the patient.
        #[arg(long)]
        as_operator: bool,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Suspends an active wallet.
    Suspend {
        /// The wallet id.
        wallet_id: String,
        /// Why, e.g. lost_phone or fraud_suspicion.
        #[arg(long)]
        reason: String,
        /// Act with the current operator session (egide login password --totp …);
        /// without it the patient acts (the CLI logs in with the wallet's device key).
        #[arg(long)]
        as_operator: bool,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Reactivates a suspended wallet.
    Reactivate {
        /// The wallet id.
        wallet_id: String,
        /// Act with the current operator session (egide login password --totp …);
        /// without it the patient acts (the CLI logs in with the wallet's device key).
        #[arg(long)]
        as_operator: bool,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Closes a wallet for good and revokes its devices.
    Close {
        /// The wallet id.
        wallet_id: String,
        /// Act with the current operator session (egide login password --totp …);
        /// without it the patient acts (the CLI logs in with the wallet's device key).
        #[arg(long)]
        as_operator: bool,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Revokes one device of a wallet.
    RevokeDevice {
        /// The wallet id.
        wallet_id: String,
        /// The device id (see `patient show`).
        device_id: String,
        /// Act with the current operator session (egide login password --totp …);
        /// without it the patient acts (the CLI logs in with the wallet's device key).
        #[arg(long)]
        as_operator: bool,
        #[command(flatten)]
        json: JsonArg,
    },
}

/// `egide patient …`
pub async fn run(run_dir: &Path, command: PatientCommand) -> anyhow::Result<ExitCode> {
    let mut client = enrolment(run_dir).await?;
    let (wallet, json) = match command {
        PatientCommand::Enrol(args) => return enrol::run(run_dir, &mut client, args).await,
        PatientCommand::Show {
            wallet_id,
            as_operator,
            json,
        } => {
            let token = caller_token(run_dir, &wallet_id, as_operator).await?;
            let request = crate::session::bearer(&token, GetWalletRequest { wallet_id })?;
            let r = client.get_wallet(request).await?;
            (r.into_inner().wallet, json)
        }
        PatientCommand::Suspend {
            wallet_id,
            reason,
            as_operator,
            json,
        } => {
            let token = caller_token(run_dir, &wallet_id, as_operator).await?;
            let request =
                crate::session::bearer(&token, SuspendWalletRequest { wallet_id, reason })?;
            (
                client.suspend_wallet(request).await?.into_inner().wallet,
                json,
            )
        }
        PatientCommand::Reactivate {
            wallet_id,
            as_operator,
            json,
        } => {
            let token = caller_token(run_dir, &wallet_id, as_operator).await?;
            let request = crate::session::bearer(&token, ReactivateWalletRequest { wallet_id })?;
            let r = client.reactivate_wallet(request).await?;
            (r.into_inner().wallet, json)
        }
        PatientCommand::Close {
            wallet_id,
            as_operator,
            json,
        } => {
            let token = caller_token(run_dir, &wallet_id, as_operator).await?;
            let request = crate::session::bearer(&token, CloseWalletRequest { wallet_id })?;
            (
                client.close_wallet(request).await?.into_inner().wallet,
                json,
            )
        }
        PatientCommand::RevokeDevice {
            wallet_id,
            device_id,
            as_operator,
            json,
        } => {
            let token = caller_token(run_dir, &wallet_id, as_operator).await?;
            let request = crate::session::bearer(
                &token,
                RevokeDeviceRequest {
                    owner: Some(wallet_owner(wallet_id)),
                    device_id,
                },
            )?;
            let device = client.revoke_device(request).await?.into_inner().device;
            show(&required(device, "device")?, json)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    show(&required(wallet, "wallet")?, json)?;
    Ok(ExitCode::SUCCESS)
}

/// The access token of whoever acts: the current operator session, or the wallet's
/// patient (the CLI plays the app and logs in with the device key it saved).
async fn caller_token(
    run_dir: &Path,
    wallet_id: &str,
    as_operator: bool,
) -> anyhow::Result<String> {
    if as_operator {
        crate::account::account_token(run_dir).await
    } else {
        crate::session::access_token(run_dir, &format!("wallet:{wallet_id}")).await
    }
}

fn wallet_owner(wallet_id: String) -> DeviceOwner {
    DeviceOwner {
        owner: Some(device_owner::Owner::WalletId(wallet_id)),
    }
}

impl Show for Wallet {
    const NAME: &'static str = "egide.enrolment.v1.Wallet";

    fn print(&self) {
        println!("wallet {}", self.id);
        println!(
            "  state       {}",
            short_enum(self.state().as_str_name(), "WALLET_STATE_")
        );
        if let Some(i) = &self.identity {
            i.print();
        }
        println!("  e-mail      {}", or_dash(&self.email_masked));
        if let Some(p) = &self.proofing {
            println!(
                "  proofing    {} by {} ({}){}",
                p.level,
                p.method,
                p.provider,
                p.proofed_at
                    .as_ref()
                    .map(|t| format!(", {}", fmt_time(t)))
                    .unwrap_or_default()
            );
        }
        match &self.rights {
            Some(r) => println!("  rights      {}", rights(r)),
            None => println!("  rights      none in the rights reference"),
        }
        for d in &self.dependants {
            let who = if d.nir.is_empty() {
                format!("birth rank {}", d.birth_rank)
            } else {
                d.nir.clone()
            };
            let r = d.rights.as_ref().map(rights).unwrap_or_default();
            println!("  dependant   {} {who}  {r}", d.quality);
        }
        if self.dependants.is_empty() {
            println!("  dependants  none");
        }
        print_devices(&self.devices);
        for (label, t) in [
            ("created", &self.created_at),
            ("activated", &self.activated_at),
            ("expires", &self.expires_at),
        ] {
            if let Some(t) = t {
                println!("  {label:<11} {}", fmt_time(t));
            }
        }
        if !self.suspension_reason.is_empty() {
            println!(
                "  suspended   {} (by {})",
                self.suspension_reason,
                or_dash(&self.suspended_by)
            );
        }
    }
}

fn rights(r: &InsuredRights) -> String {
    format!(
        "scheme {} fund {} centre {}, from {} to {}",
        r.scheme,
        r.fund,
        r.centre,
        or_dash(&r.coverage_start),
        if r.coverage_end.is_empty() {
            "open"
        } else {
            &r.coverage_end
        }
    )
}

impl Show for Device {
    const NAME: &'static str = "egide.enrolment.v1.Device";

    fn print(&self) {
        print_devices(std::slice::from_ref(self));
    }
}
