//! `egide ins search`: the INS reference, searched by strict traits like INSi.

use std::{path::Path, process::ExitCode};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use egide_proto::enrolment::v1::{
    IdentityTraits, InsIdentity, InsSearchResult, SearchInsIdentityRequest,
    SearchInsIdentityResponse,
};

use crate::client::{JsonArg, Show, enrolment, show};

/// `egide ins …`
#[derive(Subcommand)]
pub enum InsCommand {
    /// Searches the INS reference by strict traits: 00 found, 01 none, 02 several.
    Search {
        #[command(flatten)]
        traits: Option<TraitsArgs>,
        #[command(flatten)]
        json: JsonArg,
    },
}

/// The strict INS identity traits, as typed on the command line: all or none (an
/// `Option<TraitsArgs>` is `None` when none is given; clap would otherwise require the
/// fields of an optional flattened struct, clap-rs/clap#5092).
#[derive(Args, Debug, Clone)]
#[group(requires_all = ["birth_name", "given_names", "sex", "birth_date", "birth_place"], multiple = true)]
pub struct TraitsArgs {
    /// Birth name (nom de naissance).
    #[arg(long, required = false)]
    pub birth_name: String,
    /// Birth given names in order, separated by spaces (quote them).
    #[arg(long, required = false)]
    pub given_names: String,
    /// M or F.
    #[arg(long, required = false)]
    pub sex: String,
    /// YYYY-MM-DD.
    #[arg(long, required = false)]
    pub birth_date: String,
    /// INSEE code of the birth place (5 characters; 99xxx abroad).
    #[arg(long, required = false)]
    pub birth_place: String,
}

impl From<TraitsArgs> for IdentityTraits {
    fn from(t: TraitsArgs) -> Self {
        Self {
            birth_name: t.birth_name.trim().to_owned(),
            given_names: t
                .given_names
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            sex: t.sex.trim().to_ascii_uppercase(),
            birth_date: t.birth_date.trim().to_owned(),
            birth_place: t.birth_place.trim().to_ascii_uppercase(),
        }
    }
}

/// `egide ins …`
pub async fn run(run_dir: &Path, command: InsCommand) -> anyhow::Result<ExitCode> {
    let InsCommand::Search { traits, json } = command;
    let traits = traits.context(
        "give the traits: --birth-name, --given-names, --sex, --birth-date, --birth-place",
    )?;
    let response = enrolment(run_dir)
        .await?
        .search_ins_identity(SearchInsIdentityRequest {
            traits: Some(traits.into()),
        })
        .await?
        .into_inner();
    show(&response, json)?;
    Ok(ExitCode::SUCCESS)
}

impl Show for SearchInsIdentityResponse {
    const NAME: &'static str = "egide.enrolment.v1.SearchInsIdentityResponse";

    fn print(&self) {
        match self.result() {
            InsSearchResult::Found => {
                println!("00 found: exactly one identity");
                if let Some(identity) = &self.identity {
                    identity.print();
                }
            }
            InsSearchResult::None => println!("01 none: no identity has these traits"),
            InsSearchResult::Several => {
                println!("02 several: more than one identity has these traits");
            }
            InsSearchResult::Unspecified => println!("no result (the service left it out)"),
        }
    }
}

impl Show for InsIdentity {
    const NAME: &'static str = "egide.enrolment.v1.InsIdentity";

    fn print(&self) {
        println!("  INS         {}  (OID {})", self.nir, self.oid);
        if !self.identity_status.is_empty() {
            println!("  status      {}", self.identity_status);
        }
        if let Some(t) = &self.traits {
            println!("  birth name  {}", t.birth_name);
            println!("  given names {}", t.given_names.join(" "));
            println!("  sex         {}", t.sex);
            println!("  born        {} at {}", t.birth_date, t.birth_place);
        }
    }
}
