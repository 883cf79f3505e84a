use std::process::ExitCode;

use egide_kit::config::ServiceConfig;

fn main() -> ExitCode {
    egide_kit::app::main_with(
        egide_auth::SERVICE,
        egide_auth::AuthConfig::new(ServiceConfig::local_defaults(egide_auth::DEFAULT_PORT)),
        egide_auth::build,
    )
}
