use std::process::ExitCode;

fn main() -> ExitCode {
    egide_kit::app::main(
        egide_certval::SERVICE,
        egide_certval::DEFAULT_PORT,
        egide_certval::build,
    )
}
