//! Policy files given on the command line (`--policy FILE`): RON holding one policy in
//! the scenario's inline form — the seed's `(name: "cpu", rules: [(metric: "cpu_usage",
//! operator: ">", threshold: 85)])` loads as written — or a list of them.

use std::path::Path;

use super::scenario::{Converter, PolicyFile, parse_ron};
use super::{IoError, read_text};
use crate::model::TwinGraph;
use crate::policy::Policy;

/// Reads the policies of a file and validates them against the scenario's twins.
pub fn load_policies(path: &Path, graph: &TwinGraph) -> Result<Vec<Policy>, IoError> {
    let src = read_text(path, "policy file")?;
    parse_policies(path, &src, graph)
}

/// Parses policy text (one policy or a list).
pub fn parse_policies(path: &Path, src: &str, graph: &TwinGraph) -> Result<Vec<Policy>, IoError> {
    let is_list = src
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("#!["))
        .is_some_and(|l| l.starts_with('['));
    let files: Vec<PolicyFile> = if is_list { parse_ron(path, src)? } else { vec![parse_ron(path, src)?] };
    let converter = Converter::new(path, src);
    files.iter().map(|p| converter.policy(p, graph)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Twin, TwinKind};

    #[test]
    fn the_seed_policy_loads_as_written() {
        let mut g = TwinGraph::new();
        g.add_twin(Twin::new("web", TwinKind::Service)).unwrap();
        let seed = r#"(name: "cpu-limit", rules: [(metric: "cpu_usage", operator: ">", threshold: 80.0)])"#;
        let p = parse_policies(Path::new("p.ron"), seed, &g).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].rules[0].to_string(), "cpu_usage > 80");
        let list = format!("[{seed}, (name: \"mem\", rules: [])]");
        assert_eq!(parse_policies(Path::new("p.ron"), &list, &g).unwrap().len(), 2);
        let bad = r#"(name: "x", selector: (ids: ["nope"]), rules: [])"#;
        let e = parse_policies(Path::new("p.ron"), bad, &g).unwrap_err().to_string();
        assert!(e.starts_with("p.ron:1:") && e.contains("unknown twin \"nope\""), "{e}");
    }
}
