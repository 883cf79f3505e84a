use std::process::ExitCode;

fn main() -> ExitCode {
    egide_gateway::main()
}
