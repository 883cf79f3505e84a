use std::process::ExitCode;

fn main() -> ExitCode {
    egide_kit::app::main(
        egide_enrolment::SERVICE,
        egide_enrolment::DEFAULT_PORT,
        egide_enrolment::build,
    )
}
