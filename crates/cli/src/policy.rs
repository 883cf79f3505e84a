//! `egide policy explain`: what the PGSSI-S policy decides, and which rule decides it.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use egide_policy::{Category, Decision, Policy};

/// `egide policy …`
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Prints the decision for a category on a route at a date, and the rule behind it.
    Explain(ExplainArgs),
    /// Checks a policy file (exit 0 when it would load).
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// `egide policy explain`
#[derive(Args)]
pub struct ExplainArgs {
    /// patient, professional, staff or operator.
    #[arg(long)]
    category: String,
    /// A gRPC method, e.g. /egide.enrolment.v1.EnrolmentService/GetWallet.
    #[arg(long)]
    route: String,
    /// The day (YYYY-MM-DD); default today (UTC).
    #[arg(long)]
    at: Option<chrono::NaiveDate>,
    /// A policy file; default the shipped policy.
    #[arg(long)]
    file: Option<PathBuf>,
}

fn load(file: Option<&PathBuf>) -> anyhow::Result<Policy> {
    let text = match file {
        Some(f) => {
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
        }
        None => egide_policy::DEFAULT.to_owned(),
    };
    Ok(Policy::parse(&text)?)
}

/// `egide policy …`
pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Check { file } => {
            let p = load(Some(&file))?;
            println!(
                "{}: {} open routes, {} rules",
                file.display(),
                p.open.len(),
                p.rules.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Explain(args) => {
            let policy = load(args.file.as_ref())?;
            let category = Category::parse(&args.category).with_context(|| {
                format!(
                    "{:?}: a category is patient, professional, staff or operator",
                    args.category
                )
            })?;
            let at = args.at.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let decision = policy.decide(&args.route, category, at, None);
            println!("{category} on {} at {at}:", args.route);
            match &decision {
                Decision::Allowed(rule) => {
                    println!("  needs   {decision}");
                    println!("  because {}", rule.why);
                    let period = match (rule.from, rule.until) {
                        (Some(f), Some(u)) => format!("from {f} until {u} (exclusive)"),
                        (Some(f), None) => format!("from {f}"),
                        (None, Some(u)) => format!("until {u} (exclusive)"),
                        (None, None) => "always".to_owned(),
                    };
                    println!("  in force {period}");
                }
                other => println!("  {other}"),
            }
            Ok(match decision {
                Decision::Open(_) | Decision::Allowed(_) => ExitCode::SUCCESS,
                _ => ExitCode::from(1),
            })
        }
    }
}
