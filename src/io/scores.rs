//! Scored series files for `detect`: the input rows exactly as written (timestamp and
//! value text kept verbatim, same order) plus an `anomaly_score` column and, on
//! request, a `reason` column.

use std::io::Write;
use std::path::Path;

use super::IoError;
use super::telemetry::{read_single_series, split_fields};
use super::time::format_rfc3339;
use crate::model::SeriesData;

/// A single series as read, with the original text of each row's cells.
#[derive(Clone, Debug)]
pub struct SeriesRows {
    /// Parsed samples in file order.
    pub data: SeriesData,
    /// The timestamp cell of each row as written in the file.
    pub timestamp_text: Vec<String>,
    /// The value cell of each row as written in the file.
    pub value_text: Vec<String>,
}

/// Reads a single series (`timestamp,value`, CSV or Parquet) in file order, keeping
/// the cells' text so they can be written back unchanged. Errors are located as in
/// [`read_single_series`]. For Parquet input the text is formatted (RFC 3339, shortest
/// exact float).
pub fn read_series_rows(path: &Path) -> Result<SeriesRows, IoError> {
    let data = read_single_series(path)?;
    if let Some((timestamp_text, value_text)) = cell_texts(path, data.len()) {
        return Ok(SeriesRows { data, timestamp_text, value_text });
    }
    let timestamp_text = data.ts.iter().map(|t| format_rfc3339(*t)).collect();
    let value_text = data.values.iter().map(|v| format!("{v}")).collect();
    Ok(SeriesRows { data, timestamp_text, value_text })
}

/// The timestamp and value cells of every non-empty data line of a CSV file, when the
/// file is text with those header columns and as many data lines as `rows`.
fn cell_texts(path: &Path, rows: usize) -> Option<(Vec<String>, Vec<String>)> {
    let bytes = std::fs::read(path).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split_fields(lines.next()?);
    let column = |name: &str| header.iter().position(|(_, h)| h.trim().eq_ignore_ascii_case(name));
    let (ti, vi) = (column("timestamp")?, column("value")?);
    let mut timestamps = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(rows);
    for line in lines {
        let fields = split_fields(line);
        timestamps.push(fields.get(ti)?.1.clone());
        values.push(fields.get(vi)?.1.clone());
    }
    (timestamps.len() == rows).then_some((timestamps, values))
}

/// Writes `timestamp,value,anomaly_score[,reason]` rows to `out` (a file) or to
/// stdout. Scores are written with 12 significant digits.
pub fn write_scores(
    out: Option<&Path>,
    rows: &SeriesRows,
    scores: &[f64],
    reasons: Option<&[String]>,
) -> Result<(), IoError> {
    let mut text = String::with_capacity(rows.data.len() * 48);
    text.push_str(if reasons.is_some() {
        "timestamp,value,anomaly_score,reason\n"
    } else {
        "timestamp,value,anomaly_score\n"
    });
    for (i, score) in scores.iter().enumerate() {
        let (Some(ts), Some(value)) = (rows.timestamp_text.get(i), rows.value_text.get(i)) else { break };
        text.push_str(&csv_cell(ts));
        text.push(',');
        text.push_str(&csv_cell(value));
        text.push(',');
        text.push_str(&format_score(*score));
        if let Some(reasons) = reasons {
            text.push(',');
            text.push_str(&csv_cell(reasons.get(i).map_or("", String::as_str)));
        }
        text.push('\n');
    }
    match out {
        Some(path) => super::write_bytes(path, "scores file", text.as_bytes()),
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            lock.write_all(text.as_bytes()).and_then(|()| lock.flush()).map_err(|error| IoError::Write {
                what: "scores",
                path: "<stdout>".into(),
                error,
            })
        }
    }
}

/// A score with 12 significant digits (as NAB's published result files), in its
/// shortest form: `0`, `1`, `0.5`, `0.999999999999`.
pub fn format_score(score: f64) -> String {
    let rounded: f64 = format!("{score:.11e}").parse().unwrap_or(score);
    format!("{rounded}")
}

/// Quotes a CSV cell when it holds a comma, a quote or a line break.
fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_kept_verbatim_and_scores_rounded() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "timestamp,value\n2014-04-01 00:00:00,1.50\n2014-04-01 00:05:00,2e1\n").unwrap();
        let rows = read_series_rows(&input).unwrap();
        assert_eq!(rows.data.values, vec![1.5, 20.0]);
        assert_eq!(rows.value_text, vec!["1.50", "2e1"]);
        let out = dir.path().join("out.csv");
        let reasons = vec![String::new(), "cpu 3.1σ above, oddly".to_string()];
        write_scores(Some(&out), &rows, &[0.0, 0.99999999999996], Some(&reasons)).unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "timestamp,value,anomaly_score,reason\n2014-04-01 00:00:00,1.50,0,\n\
             2014-04-01 00:05:00,2e1,1,\"cpu 3.1σ above, oddly\"\n"
        );
        assert_eq!(format_score(0.123456789012345), "0.123456789012");
        assert_eq!(format_score(0.5), "0.5");
    }
}
