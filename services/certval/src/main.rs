use std::process::ExitCode;

fn main() -> ExitCode {
    egide_kit::app::main_with(
        egide_certval::SERVICE,
        egide_certval::CertvalConfig::new(egide_kit::config::ServiceConfig::local_defaults(
            egide_certval::DEFAULT_PORT,
        )),
        egide_certval::build,
    )
}
