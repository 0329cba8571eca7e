use std::process::ExitCode;

fn main() -> ExitCode {
    confer::cli::main(std::env::args().skip(1).collect())
}
