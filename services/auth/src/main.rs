use std::process::ExitCode;

fn main() -> ExitCode {
    egide_kit::app::main(
        egide_auth::SERVICE,
        egide_auth::DEFAULT_PORT,
        egide_auth::build,
    )
}
