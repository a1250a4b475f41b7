//! Entry point: parse the command line, run a subcommand or open the window.

use std::process::ExitCode;

use twinbench::cli::GuiArgs;

fn main() -> ExitCode {
    match twinbench::cli::run(std::env::args_os(), open_window) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "gui")]
fn open_window(args: &GuiArgs) -> anyhow::Result<ExitCode> {
    twinbench::ui::run(args)
}

#[cfg(not(feature = "gui"))]
fn open_window(_args: &GuiArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this twinbench was built without the `gui` feature; use the headless commands (see --help)")
}
