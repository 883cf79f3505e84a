use std::process::ExitCode;

fn main() -> ExitCode {
    egide_kit::app::main(
        egide_billing::SERVICE,
        egide_billing::DEFAULT_PORT,
        egide_billing::build,
    )
}
