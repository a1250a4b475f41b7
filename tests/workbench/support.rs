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

/// `chars` with one to three random edits (replace, delete or insert a `junk` char).
pub fn garble(rng: &mut rand_chacha::ChaCha8Rng, chars: &[char], junk: &[char]) -> String {
    use rand::Rng;
    let mut mutant = chars.to_vec();
    for _ in 0..rng.random_range(1..4) {
        let at = rng.random_range(0..mutant.len());
        match rng.random_range(0..3) {
            0 => mutant[at] = junk[rng.random_range(0..junk.len())],
            1 => {
                mutant.remove(at);
            }
            _ => mutant.insert(at, junk[rng.random_range(0..junk.len())]),
        }
    }
    mutant.into_iter().collect()
}
