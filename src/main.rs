//! Entry point: parse the command line, run a subcommand or open the window.

use std::process::ExitCode;

fn main() -> ExitCode {
    match twinbench::cli::run(std::env::args_os()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
