//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The NAB data shipped beside the project (`../shared/data/nab`), or where
/// `TWINBENCH_NAB_DIR` points, or the workplace's copy in `/work/shared`.
pub fn nab_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("TWINBENCH_NAB_DIR").map(PathBuf::from),
        Some(root().join("../shared/data/nab")),
        Some(PathBuf::from("/work/shared/data/nab")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("realAWSCloudwatch").is_dir())
        .expect("NAB data not found: set TWINBENCH_NAB_DIR to the folder holding realAWSCloudwatch/")
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
