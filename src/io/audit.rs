//! The orchestration audit log: one JSON object per line, appended, never rewritten.

use std::io::Write as _;
use std::path::Path;

use serde_json::json;

use super::IoError;
use super::time::format_rfc3339;
use crate::remediation::orchestrate::AuditEntry;

/// One entry as a JSON line (no trailing newline).
pub fn to_json_line(e: &AuditEntry) -> String {
    json!({
        "at": format_rfc3339(e.at),
        "action_id": e.action_id,
        "twin": e.twin.as_str(),
        "action": e.action,
        "reason": e.reason,
        "score": {
            "total": round(e.score.total),
            "severity": round(e.score.severity),
            "impact": round(e.score.impact),
            "urgency": round(e.score.urgency),
            "cost": round(e.score.cost),
        },
        "mode": e.mode.as_str(),
        "decision": e.decision.name(),
        "detail": e.decision.detail(),
    })
    .to_string()
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Appends entries to a JSON-lines file (created if missing).
pub fn append(path: &Path, entries: &[AuditEntry]) -> Result<(), IoError> {
    let write_err = |error| IoError::Write { what: "audit log", path: path.to_path_buf(), error };
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(write_err)?;
    let mut text = String::new();
    for e in entries {
        text.push_str(&to_json_line(e));
        text.push('\n');
    }
    file.write_all(text.as_bytes()).map_err(write_err)
}
