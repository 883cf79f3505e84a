use std::process::ExitCode;

fn main() -> ExitCode {
    egide_kit::app::main_with(
        egide_enrolment::SERVICE,
        egide_enrolment::EnrolmentConfig::new(egide_kit::config::ServiceConfig::local_defaults(
            egide_enrolment::DEFAULT_PORT,
        )),
        egide_enrolment::build,
    )
}
