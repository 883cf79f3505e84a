//! `egide structure …`: structures (hospitals, practices) known to enrolment.

use std::{path::Path, process::ExitCode};

use clap::Subcommand;
use egide_proto::enrolment::v1::{
    Establishment, GetStructureRequest, RegisterStructureRequest, Structure,
    register_structure_request, structure,
};

use crate::client::{JsonArg, Show, enrolment, fmt_time, or_dash, required, show};

/// `egide structure …`
#[derive(Subcommand)]
pub enum StructureCommand {
    /// Registers a structure by FINESS (an active establishment of the FINESS directory)
    /// or SIRET.
    Register {
        /// FINESS number (9 characters).
        #[arg(long, conflicts_with = "siret", required_unless_present = "siret")]
        finess: Option<String>,
        /// SIRET number (14 digits).
        #[arg(long)]
        siret: Option<String>,
        /// Name (raison sociale); for a FINESS, the directory's name when left out.
        #[arg(long, required_unless_present = "finess")]
        name: Option<String>,
        /// Register a SIRET that no directory lists (as the operator logged in, recorded).
        #[arg(long)]
        without_directory: bool,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Shows a structure by idNat_Struct (e.g. 1 + FINESS), with its directory data.
    Get {
        /// The national structure identifier.
        id_nat_struct: String,
        #[command(flatten)]
        json: JsonArg,
    },
}

/// `egide structure …`
pub async fn run(run_dir: &Path, command: StructureCommand) -> anyhow::Result<ExitCode> {
    let mut client = enrolment(run_dir).await?;
    let (structure, json) = match command {
        StructureCommand::Register {
            finess,
            siret,
            name,
            without_directory,
            json,
        } => {
            let identifier = match (finess, siret) {
                (Some(f), _) => Some(register_structure_request::Identifier::Finess(f)),
                (_, Some(s)) => Some(register_structure_request::Identifier::Siret(s)),
                _ => None,
            };
            let request = RegisterStructureRequest {
                identifier,
                name: name.unwrap_or_default(),
                allow_without_directory: without_directory,
            };
            let request = if without_directory {
                let token = crate::account::account_token(run_dir).await?;
                crate::session::bearer(&token, request)?
            } else {
                tonic::Request::new(request)
            };
            let response = client.register_structure(request).await?.into_inner();
            (response.structure, json)
        }
        StructureCommand::Get {
            id_nat_struct,
            json,
        } => {
            let response = client
                .get_structure(GetStructureRequest { id_nat_struct })
                .await?
                .into_inner();
            (response.structure, json)
        }
    };
    show(&required(structure, "structure")?, json)?;
    Ok(ExitCode::SUCCESS)
}

impl Show for Structure {
    const NAME: &'static str = "egide.enrolment.v1.Structure";

    fn print(&self) {
        let identifier = match &self.identifier {
            Some(structure::Identifier::Finess(f)) => format!("FINESS {f}"),
            Some(structure::Identifier::Siret(s)) => format!("SIRET {s}"),
            None => "-".into(),
        };
        println!("structure {}", self.id_nat_struct);
        println!("  name        {}", self.name);
        println!("  identifier  {identifier}");
        println!("  id          {}", self.id);
        if let Some(t) = &self.registered_at {
            println!("  registered  {}", fmt_time(t));
        }
        if !self.registered_without_directory_by.is_empty() {
            println!(
                "  without directory, registered by {}",
                self.registered_without_directory_by
            );
        }
        if let Some(e) = &self.establishment {
            print_establishment(e);
        }
    }
}

fn print_establishment(e: &Establishment) {
    println!(
        "  FINESS directory{}",
        if e.active { "" } else { " (NO LONGER LISTED)" }
    );
    println!(
        "    establishment  {}  (legal entity {})",
        e.finess,
        or_dash(&e.legal_entity_finess)
    );
    println!("    name           {}", e.name);
    if !e.long_name.is_empty() && e.long_name != e.name {
        println!("    long name      {}", e.long_name);
    }
    println!(
        "    category       {} {}",
        e.category_code, e.category_label
    );
    println!("    address        {}", or_dash(&e.address));
    println!(
        "    town           {}  (department {})",
        or_dash(&e.town),
        or_dash(&e.department_code)
    );
    println!("    phone          {}", or_dash(&e.phone));
    println!("    SIRET          {}", or_dash(&e.siret));
    println!(
        "    opened on      {}  updated on {}",
        or_dash(&e.opened_on),
        or_dash(&e.updated_on)
    );
    if let Some(g) = &e.geolocation {
        println!(
            "    Lambert-93     x {:.1}  y {:.1}  ({}, {})",
            g.x, g.y, g.source, g.date
        );
    }
}
