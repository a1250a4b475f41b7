//! Log mapping files (YAML): the DTOs as written and their validation into a
//! [`LogMapping`]. The format is described in the module docs of `io::logs`; every
//! error is `file:line:col` at the value that is wrong.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::io::format::{DurationFile, Format, parse_doc};
use crate::io::{IoError, read_text};
use crate::model::MetricName;
use crate::model::ids::is_valid_name;
use crate::policy::Operator;

/// The log mapping format version this build reads.
pub const FORMAT_VERSION: u32 = 1;
/// Most metrics one mapping may define (a bit per metric marks its condition).
pub const MAX_METRICS: usize = 64;
/// Longest accepted step or lateness window.
const MAX_SECS: i64 = 86_400;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    version: Spanned<u32>,
    format: Spanned<String>,
    #[serde(default)]
    pattern: Option<Spanned<String>>,
    #[serde(default)]
    files: Vec<Spanned<String>>,
    twin: Spanned<TwinFile>,
    timestamp: Spanned<TimestampFile>,
    #[serde(default)]
    step: Option<Spanned<DurationFile>>,
    #[serde(default)]
    max_delay: Option<Spanned<DurationFile>>,
    metrics: Spanned<Vec<MetricFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TwinFile {
    Fixed(String),
    Rule(TwinRuleFile),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TwinRuleFile {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    field: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimestampFile {
    field: Spanned<String>,
    #[serde(default)]
    format: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricFile {
    name: Spanned<String>,
    aggregate: Spanned<String>,
    #[serde(default)]
    value: Option<Spanned<String>>,
    #[serde(default)]
    scale: Option<Spanned<f64>>,
    #[serde(default, rename = "where")]
    condition: Option<Spanned<ConditionFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionFile {
    #[serde(default)]
    field: Option<String>,
    op: String,
    value: ScalarFile,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScalarFile {
    Num(f64),
    Text(String),
    Bool(bool),
}

/// How lines are split into fields.
#[derive(Clone, Debug)]
pub enum LineFormat {
    /// A regular expression over the whole line; its named groups are the fields.
    Regex(regex::bytes::Regex),
    /// One JSON object per line; its top-level keys are the fields.
    Json,
}

/// Where a line's twin comes from.
#[derive(Clone, Debug)]
pub enum TwinRule {
    /// Always this id.
    Fixed(String),
    /// The log file's name without `.gz` and its last extension.
    FileStem,
    /// A regex on the file's name: group `twin`, else the first group.
    FileName(regex::Regex),
    /// A field of each line.
    Field(String),
}

/// How the timestamp field is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or Unix seconds (`io::time`).
    Auto,
    /// Common Log Format: `10/Oct/2026:13:55:36 +0200`.
    CommonLog,
    /// Unix seconds (fractions allowed).
    Unix,
    /// Unix milliseconds.
    UnixMs,
    /// A chrono `strftime` pattern; UTC unless it has `%z`.
    Strftime {
        /// The pattern.
        pattern: String,
        /// Whether it carries an offset.
        zoned: bool,
    },
}

/// What a metric makes of a step's lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    /// Lines (matching the condition) in the step.
    Count,
    /// Lines (matching the condition) per second over the step.
    Rate,
    /// Percent of the twin's lines in the step that match the condition.
    Percent,
    /// Mean of the values.
    Avg,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Sum of the values.
    Sum,
    /// Median (nearest rank).
    P50,
    /// 95th percentile (nearest rank, as policies' `p95`).
    P95,
    /// 99th percentile (nearest rank).
    P99,
}

impl Aggregate {
    const ALL: [(&'static str, Aggregate); 10] = [
        ("count", Aggregate::Count),
        ("rate", Aggregate::Rate),
        ("percent", Aggregate::Percent),
        ("avg", Aggregate::Avg),
        ("min", Aggregate::Min),
        ("max", Aggregate::Max),
        ("sum", Aggregate::Sum),
        ("p50", Aggregate::P50),
        ("p95", Aggregate::P95),
        ("p99", Aggregate::P99),
    ];

    /// Whether the metric counts lines (else it summarises values of a field).
    pub fn counts_lines(self) -> bool {
        matches!(self, Aggregate::Count | Aggregate::Rate | Aggregate::Percent)
    }

    /// The quantile of a nearest-rank aggregate.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Aggregate::P50 => Some(0.5),
            Aggregate::P95 => Some(0.95),
            Aggregate::P99 => Some(0.99),
            _ => None,
        }
    }
}

/// A comparison of a condition.
#[derive(Clone, Debug)]
pub enum Test {
    /// Numeric comparison with a constant.
    Num(Operator, f64),
    /// Text equal (or, negated, not equal) to a constant.
    TextEq(String, bool),
    /// A regex finds a match.
    Matches(regex::bytes::Regex),
}

/// A metric's `where`: which lines it counts or takes values from.
#[derive(Clone, Debug)]
pub struct Condition {
    /// The field tested; `None` tests the whole line (only `matches`).
    pub field: Option<String>,
    /// The test.
    pub test: Test,
}

/// One metric of a mapping.
#[derive(Clone, Debug)]
pub struct MetricSpec {
    /// The series' metric name.
    pub name: MetricName,
    /// What it makes of a step.
    pub aggregate: Aggregate,
    /// The field whose values are summarised (value aggregates).
    pub value: Option<String>,
    /// Factor each value is multiplied by.
    pub scale: f64,
    /// Which lines count.
    pub condition: Option<Condition>,
}

/// A validated log mapping.
#[derive(Clone, Debug)]
pub struct LogMapping {
    /// The mapping file.
    pub path: PathBuf,
    /// How lines are split into fields.
    pub format: LineFormat,
    /// The pattern as written (regex format).
    pub pattern: Option<String>,
    /// Log files named by the mapping, resolved against its folder (may hold `*`, `?`
    /// in the file name).
    pub files: Vec<PathBuf>,
    /// Where the twin comes from.
    pub twin: TwinRule,
    /// The timestamp field.
    pub timestamp_field: String,
    /// How it is written.
    pub time_format: TimeFormat,
    /// Aggregation step in seconds.
    pub step_secs: i64,
    /// How much older than the newest line read a line may be and still count.
    pub max_delay_secs: i64,
    /// The metrics, in file order.
    pub metrics: Vec<MetricSpec>,
}

/// Reads and validates a log mapping.
pub fn load(path: &Path) -> Result<LogMapping, IoError> {
    let text = read_text(path, "log mapping")?;
    parse(path, &text)
}

fn at(path: &Path, loc: &Location, message: impl Into<String>) -> IoError {
    IoError::at(path, (loc.line().max(1) as usize, loc.column().max(1) as usize), message)
}

/// Parses and validates mapping text; `path` names it in errors and anchors `files`.
pub fn parse(path: &Path, text: &str) -> Result<LogMapping, IoError> {
    if text.trim().is_empty() {
        return Err(IoError::at(
            path,
            (1, 1),
            "the log mapping is empty; it needs version, format, twin, timestamp and metrics",
        ));
    }
    let file: MappingFile = parse_doc(path, text, Format::Yaml)?;
    if file.version.value != FORMAT_VERSION {
        return Err(at(
            path,
            &file.version.referenced,
            format!(
                "unsupported log mapping version {}; this twinbench reads version {FORMAT_VERSION}",
                file.version.value
            ),
        ));
    }
    let (format, pattern) = match (file.format.value.as_str(), &file.pattern) {
        ("regex", Some(p)) => {
            let re = regex::bytes::Regex::new(&p.value)
                .map_err(|e| at(path, &p.referenced, format!("pattern: {}", one_line(&e.to_string()))))?;
            if re.capture_names().flatten().next().is_none() {
                return Err(at(
                    path,
                    &p.referenced,
                    "pattern has no named group: name the fields as (?P<name>...) to use them",
                ));
            }
            (LineFormat::Regex(re), Some(p.value.clone()))
        }
        ("regex", None) => {
            return Err(at(path, &file.format.referenced, "format regex needs `pattern:` (a regex with named groups)"));
        }
        ("json", None) => (LineFormat::Json, None),
        ("json", Some(p)) => {
            return Err(at(path, &p.referenced, "format json takes no pattern: its keys are the fields"));
        }
        (other, _) => {
            return Err(at(
                path,
                &file.format.referenced,
                format!("unknown format {other:?} (expected regex or json)"),
            ));
        }
    };
    let fields: Option<BTreeSet<String>> = match &format {
        LineFormat::Regex(re) => Some(re.capture_names().flatten().map(str::to_string).collect()),
        LineFormat::Json => None,
    };
    let known = |name: &str, loc: &Location, what: &str| -> Result<String, IoError> {
        if name.trim().is_empty() {
            return Err(at(path, loc, format!("{what}: the field name is empty")));
        }
        match &fields {
            Some(set) if !set.contains(name) => Err(at(
                path,
                loc,
                format!(
                    "{what}: the pattern has no group {name:?} (its groups: {})",
                    set.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
            _ => Ok(name.to_string()),
        }
    };
    let base = path.parent().unwrap_or(Path::new(""));
    let mut files = Vec::new();
    for f in &file.files {
        let name = f.value.trim();
        if name.is_empty() {
            return Err(at(path, &f.referenced, "files: an entry is empty"));
        }
        files.push(base.join(name));
    }
    let twin = match &file.twin.value {
        TwinFile::Fixed(id) if is_valid_name(id) => TwinRule::Fixed(id.clone()),
        TwinFile::Fixed(id) => {
            return Err(at(
                path,
                &file.twin.referenced,
                format!("twin: id {id:?} must be 1–128 letters, digits or - _ . : /"),
            ));
        }
        TwinFile::Rule(TwinRuleFile { file: Some(f), field: None }) if f == "stem" => TwinRule::FileStem,
        TwinFile::Rule(TwinRuleFile { file: Some(f), field: None }) => {
            let re = regex::Regex::new(f)
                .map_err(|e| at(path, &file.twin.referenced, format!("twin.file: {}", one_line(&e.to_string()))))?;
            if re.captures_len() < 2 {
                return Err(at(
                    path,
                    &file.twin.referenced,
                    "twin.file: the regex needs a group, (?P<twin>...), whose text names the twin",
                ));
            }
            TwinRule::FileName(re)
        }
        TwinFile::Rule(TwinRuleFile { file: None, field: Some(f) }) => {
            TwinRule::Field(known(f, &file.twin.referenced, "twin.field")?)
        }
        TwinFile::Rule(_) => {
            return Err(at(
                path,
                &file.twin.referenced,
                "twin: give an id, {file: stem}, {file: REGEX} or {field: NAME} (exactly one of file and field)",
            ));
        }
    };
    let ts = &file.timestamp.value;
    let timestamp_field = known(&ts.field.value, &ts.field.referenced, "timestamp.field")?;
    let time_format = match &ts.format {
        None => TimeFormat::Auto,
        Some(f) => time_format(&f.value).map_err(|m| at(path, &f.referenced, format!("timestamp.format: {m}")))?,
    };
    let step_secs = secs(path, file.step.as_ref(), "step", 60, 1)?;
    let max_delay_secs = secs(path, file.max_delay.as_ref(), "max_delay", 600, 0)?;
    if file.metrics.value.is_empty() {
        return Err(at(path, &file.metrics.referenced, "metrics is empty: define at least one"));
    }
    if file.metrics.value.len() > MAX_METRICS {
        return Err(at(path, &file.metrics.referenced, format!("a mapping defines at most {MAX_METRICS} metrics")));
    }
    let mut metrics = Vec::new();
    let mut names = BTreeSet::new();
    for (i, m) in file.metrics.value.iter().enumerate() {
        let what = |field: &str| format!("metrics[{i}].{field}");
        let name = &m.name.value;
        if !is_valid_name(name) {
            return Err(at(
                path,
                &m.name.referenced,
                format!("{}: metric name {name:?} must be 1–128 letters, digits or - _ . : /", what("name")),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(at(path, &m.name.referenced, format!("{}: metric {name:?} is defined twice", what("name"))));
        }
        let aggregate =
            Aggregate::ALL.iter().find(|(n, _)| *n == m.aggregate.value).map(|(_, a)| *a).ok_or_else(|| {
                let all: Vec<&str> = Aggregate::ALL.iter().map(|(n, _)| *n).collect();
                at(
                    path,
                    &m.aggregate.referenced,
                    format!(
                        "{}: unknown aggregate {:?} (expected one of {})",
                        what("aggregate"),
                        m.aggregate.value,
                        all.join(", ")
                    ),
                )
            })?;
        let value = match (&m.value, aggregate.counts_lines()) {
            (Some(v), false) => Some(known(&v.value, &v.referenced, &what("value"))?),
            (None, false) => {
                return Err(at(
                    path,
                    &m.aggregate.referenced,
                    format!(
                        "{}: aggregate {} needs `value: FIELD`, the field it summarises",
                        what("value"),
                        m.aggregate.value
                    ),
                ));
            }
            (Some(v), true) => {
                return Err(at(
                    path,
                    &v.referenced,
                    format!("{}: aggregate {} counts lines and takes no value field", what("value"), m.aggregate.value),
                ));
            }
            (None, true) => None,
        };
        let scale = match &m.scale {
            None => 1.0,
            Some(s) if s.value.is_finite() && s.value != 0.0 => s.value,
            Some(s) => {
                return Err(at(
                    path,
                    &s.referenced,
                    format!("{}: scale must be a finite number other than 0", what("scale")),
                ));
            }
        };
        if m.scale.is_some() && aggregate.counts_lines() {
            let loc = m.scale.as_ref().map_or(&m.name.referenced, |s| &s.referenced);
            return Err(at(path, loc, format!("{}: a line count takes no scale", what("scale"))));
        }
        let condition = match &m.condition {
            None if aggregate == Aggregate::Percent => {
                return Err(at(
                    path,
                    &m.aggregate.referenced,
                    format!("{}: percent needs `where:`, the lines it is the share of", what("where")),
                ));
            }
            None => None,
            Some(c) => {
                Some(condition(&c.value).map_err(|m| at(path, &c.referenced, format!("{}: {m}", what("where"))))?)
            }
        };
        if let Some(Condition { field: Some(f), .. }) = &condition
            && let Some(c) = &m.condition
        {
            known(f, &c.referenced, &what("where.field"))?;
        }
        metrics.push(MetricSpec { name: MetricName::new(name), aggregate, value, scale, condition });
    }
    Ok(LogMapping {
        path: path.to_path_buf(),
        format,
        pattern,
        files,
        twin,
        timestamp_field,
        time_format,
        step_secs,
        max_delay_secs,
        metrics,
    })
}

fn secs(
    path: &Path,
    field: Option<&Spanned<DurationFile>>,
    name: &str,
    default: i64,
    min: i64,
) -> Result<i64, IoError> {
    let Some(f) = field else {
        return Ok(default);
    };
    let d = match &f.value {
        DurationFile::Secs(s) => std::time::Duration::from_secs(*s),
        DurationFile::Text(t) => {
            crate::io::time::parse_duration(t).map_err(|m| at(path, &f.referenced, format!("{name}: {m}")))?
        }
    };
    if d.subsec_nanos() != 0 {
        return Err(at(path, &f.referenced, format!("{name} must be whole seconds")));
    }
    let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    if !(min..=MAX_SECS).contains(&s) {
        return Err(at(path, &f.referenced, format!("{name} must be between {min} s and 1 day, not {s} s")));
    }
    Ok(s)
}

fn time_format(text: &str) -> Result<TimeFormat, String> {
    Ok(match text {
        "auto" => TimeFormat::Auto,
        "common_log" => TimeFormat::CommonLog,
        "unix" => TimeFormat::Unix,
        "unix_ms" => TimeFormat::UnixMs,
        p if p.contains('%') => {
            // Check the pattern itself now, so a typo is a mapping error, not a bad line.
            let items: Vec<_> = chrono::format::StrftimeItems::new(p).collect();
            if items.iter().any(|i| matches!(i, chrono::format::Item::Error)) {
                return Err(format!("{p:?} is not a valid strftime pattern"));
            }
            TimeFormat::Strftime { pattern: p.to_string(), zoned: p.contains("%z") || p.contains("%:z") }
        }
        other => {
            return Err(format!(
                "unknown format {other:?} (expected auto, common_log, unix, unix_ms or a strftime pattern such as %Y-%m-%d %H:%M:%S)"
            ));
        }
    })
}

fn condition(c: &ConditionFile) -> Result<Condition, String> {
    let field = c.field.as_ref().map(|f| f.trim().to_string());
    let test = match (c.op.as_str(), &c.value) {
        ("matches", ScalarFile::Text(re)) => {
            Test::Matches(regex::bytes::Regex::new(re).map_err(|e| format!("matches: {}", one_line(&e.to_string())))?)
        }
        ("matches", _) => return Err("matches needs a regex as its value".into()),
        (op, value) => {
            if field.is_none() {
                return Err(format!("op {op:?} compares a field: give `field:` (only `matches` tests the whole line)"));
            }
            let cmp = Operator::parse(op)
                .ok_or_else(|| format!("unknown op {op:?} (expected ==, !=, <, <=, >, >= or matches)"))?;
            match (cmp, value) {
                (_, ScalarFile::Num(v)) if v.is_finite() => Test::Num(cmp, *v),
                (Operator::Eq | Operator::Ne, ScalarFile::Text(t)) => Test::TextEq(t.clone(), cmp == Operator::Ne),
                (Operator::Eq | Operator::Ne, ScalarFile::Bool(b)) => Test::TextEq(b.to_string(), cmp == Operator::Ne),
                _ => return Err(format!("op {op:?} needs a finite number as its value")),
            }
        }
    };
    Ok(Condition { field, test })
}

/// The first line of a (regex) error message.
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    // regex errors: "regex parse error:", the pattern, a caret line, "error: …".
    lines.iter().find_map(|l| l.strip_prefix("error: ")).map_or_else(|| lines.join(" "), str::to_string)
}
