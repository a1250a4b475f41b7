//! Writes the 17 NAB realAWSCloudwatch series (`../shared/data/nab/realAWSCloudwatch`)
//! as twins of one scenario: a long-layout CSV (`timestamp,twin,metric,value`, one twin
//! per file, `cpu_usage` for the CPU series, `value` for the rest) and a scenario file
//! naming it, at 5 minutes. The series cover different weeks of 2013–2014; the scenario
//! spans them all.
//!
//! ```sh
//! cargo run --release --no-default-features --example nab_scenario -- target/nab-aws
//! twinbench learn target/nab-aws/nab-aws.ron --holdout 1d --out target/nab-aws/learned.ron
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/nab-aws".into()));
    let nab = std::env::var_os("TWINBENCH_NAB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nab"))
        .join("realAWSCloudwatch");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&nab)
        .map_err(|e| format!("{}: {e}", nab.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    std::fs::create_dir_all(&out)?;
    let mut csv = String::from("timestamp,twin,metric,value\n");
    let mut twins = String::new();
    for f in &files {
        let stem = f.file_stem().and_then(|s| s.to_str()).ok_or("file name")?;
        let twin = stem.replace('_', "-");
        let metric = if stem.contains("cpu") { "cpu_usage" } else { "value" };
        for line in std::fs::read_to_string(f)?.lines().skip(1) {
            let (ts, v) = line.split_once(',').ok_or_else(|| format!("{}: not timestamp,value", f.display()))?;
            writeln!(csv, "{ts},{twin},{metric},{v}")?;
        }
        writeln!(twins, "        (id: \"{twin}\", kind: \"host\"),")?;
    }
    std::fs::write(out.join("nab-aws.csv"), csv)?;
    let ron = format!(
        "// The {} NAB realAWSCloudwatch series as twins of one scenario (5-minute CloudWatch data).\n(\n    \
         version: 1,\n    name: \"nab-aws\",\n    resolution_secs: 300,\n    start: \"2013-10-09T00:00:00Z\",\n    \
         days: 200,\n    telemetry: \"nab-aws.csv\",\n    twins: [\n{twins}    ],\n)\n",
        files.len()
    );
    std::fs::write(out.join("nab-aws.ron"), ron)?;
    eprintln!("wrote {} ({} series) and nab-aws.csv", out.join("nab-aws.ron").display(), files.len());
    Ok(())
}
