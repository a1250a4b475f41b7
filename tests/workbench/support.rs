//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The NAB data shipped beside the project.
pub fn nab_dir() -> PathBuf {
    root().join("../shared/data/nab")
}

/// Runs the twinbench binary with arguments.
pub fn twinbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twinbench"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the twinbench binary runs")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes a file into a temporary directory and returns its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}
