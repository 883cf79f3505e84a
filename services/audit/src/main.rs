use std::process::ExitCode;

fn main() -> ExitCode {
    egide_kit::app::main(
        egide_audit::SERVICE,
        egide_audit::DEFAULT_PORT,
        egide_audit::build,
    )
}
