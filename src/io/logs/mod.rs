//! Logs as telemetry (SPEC M3, M26): a **log mapping** (YAML) turns access and
//! application logs into per-twin series in the long layout, which `twinbench ingest
//! --logs` writes and scenarios (`logs: [...]`) and the workbench read directly.
//!
//! ```yaml
//! version: 1
//! format: regex                 # or json: one object per line, its keys are the fields
//! pattern: '^(?P<addr>\S+) .* \[(?P<time>[^\]]+)\] "[^"]*" (?P<status>\d{3}) .* (?P<secs>[\d.]+)$'
//! files: ['../../assets/logs/*.log.gz']   # optional: the logs, relative to this file
//! twin: {file: stem}            # or an id, {file: REGEX} (group `twin`), {field: NAME}
//! timestamp: {field: time, format: common_log}   # auto, common_log, unix, unix_ms, strftime
//! step: 60s                     # default 60s
//! max_delay: 10m                # how far a line may lag the newest line read (default 10m)
//! metrics:
//!   - {name: request_rate, aggregate: rate}                       # lines per second
//!   - name: error_rate                                            # percent of lines with
//!     aggregate: percent                                          # status >= 500
//!     where: {field: status, op: '>=', value: 500}
//!   - {name: latency_ms, aggregate: p95, value: secs, scale: 1000}
//! ```
//!
//! - `format`: `regex` splits a line with `pattern` (the named groups are the fields;
//!   the pattern must match the whole line as written), `json` reads one object per
//!   line (top-level keys; strings, numbers and booleans).
//! - `twin`: a fixed id; `{file: stem}`, the log file's name without `.gz` and its last
//!   extension (`web-1.access.log.gz` → `web-1.access`); `{file: REGEX}`, the group
//!   `twin` (else the first group) of a regex on the file's name; `{field: NAME}`, a
//!   field of each line. Characters outside `A-Z a-z 0-9 - _ . : /` become `_`.
//! - `timestamp.format`: `auto` (RFC 3339, `YYYY-MM-DD HH:MM:SS` UTC or Unix seconds,
//!   as telemetry files), `common_log` (`10/Oct/2026:13:55:36 +0200`), `unix`,
//!   `unix_ms`, or a chrono `strftime` pattern (UTC unless it has `%z`). Samples are
//!   stamped with the start of their step (steps are aligned to the Unix epoch).
//! - `metrics[].aggregate`: `count` (lines per step), `rate` (lines per second over the
//!   step), `percent` (percent of the twin's lines in the step for which `where`
//!   holds), or `avg`, `min`, `max`, `sum`, `p50`, `p95`, `p99` of the numbers in the
//!   field `value` (times `scale`; percentiles by nearest rank, as policies' `p95`).
//!   A value written `-` or empty, or a field the line lacks, is no value; text that
//!   is not a number makes the line unparsable.
//! - `metrics[].where`: `{field, op, value}` with `op` one of `==`, `!=`, `<`, `<=`,
//!   `>`, `>=` (numbers; `==`/`!=` also text), or `{op: matches, value: REGEX}`
//!   (with `field`, on that field; without, on the whole line). A metric with `where`
//!   counts, or takes values from, only the lines for which it holds.
//! - `files`: the logs the mapping reads when it is opened by itself (the workbench,
//!   a scenario's `logs:`, `ingest --logs` without files); `*` and `?` match within
//!   a file name. Files given to `ingest --logs` are read instead.
//!
//! Reading is one pass: the files are merged by time as they are read (rotated logs
//! in any order, several servers of one twin), lines out of order by up to
//! `max_delay` are put in their steps, and memory holds only the open steps
//! (`aggregate`). Gzip files are recognised by their first bytes. A line that does not
//! parse (no match, bad JSON, bad timestamp or number), is over 1 MiB, or comes after
//! its step closed is counted, the first [`REPORTED`] are reported as `file:line[:col]:
//! why`, and reading goes on; only when no line at all gives a sample is it an error.

pub mod aggregate;
pub mod mapping;
pub mod parse;
pub mod reader;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::path::{Path, PathBuf};

use aggregate::{Aggregator, Record};
use mapping::{Condition, LogMapping, Test, TimeFormat, TwinRule};
use parse::{FieldRef, SplitError, Splitter};
use reader::{Line, LineReader};

use super::IoError;
use super::telemetry::{Layout, TelemetryTable};
use crate::model::{SeriesData, SeriesKey};

pub use mapping::load as load_mapping;

/// How many line problems are reported by position.
pub const REPORTED: usize = 5;
/// Most twins one ingest may create (a field that names twins should not be an id).
pub const MAX_TWINS: usize = 10_000;

/// What an ingest read, used and skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogReport {
    /// Files read.
    pub files: usize,
    /// Bytes of log text read (after decompression).
    pub bytes: u64,
    /// Bytes of the files on disk.
    pub file_bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Lines that gave samples.
    pub used: u64,
    /// Lines that did not parse (and overlong ones).
    pub unparsable: u64,
    /// Lines whose step had already closed (more than `max_delay` behind).
    pub late: u64,
    /// Lines older than the line before them in their file, put in their step.
    pub out_of_order: u64,
    /// The first problems, as `file:line[:col]: why`.
    pub problems: Vec<String>,
    /// Whether the nginx split parser served the lines (else the general path).
    pub fast_path: bool,
    /// Most (step, twin) states held at once.
    pub peak_open_steps: usize,
}

/// Series made from logs, with what reading them met.
#[derive(Clone, Debug)]
pub struct LogIngest {
    /// The series (sorted by time).
    pub series: BTreeMap<SeriesKey, SeriesData>,
    /// What was read.
    pub report: LogReport,
}

impl LogIngest {
    /// Samples over all series.
    pub fn samples(&self) -> usize {
        self.series.values().map(SeriesData::len).sum()
    }

    /// The series as a telemetry table (long layout).
    pub fn into_table(self) -> TelemetryTable {
        let rows = self.samples();
        TelemetryTable { layout: Layout::Long, rows, series: self.series }
    }
}

/// Whether a path names a log mapping (`.yaml`, `.yml`).
pub fn is_mapping_path(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(), Some("yaml" | "yml"))
}

/// Reads a mapping and the logs its `files` name.
pub fn ingest_mapping(path: &Path) -> Result<LogIngest, IoError> {
    let mapping = mapping::load(path)?;
    if mapping.files.is_empty() {
        return Err(IoError::invalid(
            path,
            "the log mapping names no log files: add `files: [...]` (relative to the mapping), or give the files to `twinbench ingest --logs`",
        ));
    }
    let files = resolve_files(&mapping.path, &mapping.files)?;
    ingest(&mapping, &files)
}

/// Expands `*` and `?` in the file names of `patterns` (sorted matches); paths
/// without them are kept as they are.
pub fn resolve_files(mapping_path: &Path, patterns: &[PathBuf]) -> Result<Vec<PathBuf>, IoError> {
    let mut out = Vec::new();
    for pattern in patterns {
        let name = pattern.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.contains(['*', '?']) {
            out.push(pattern.clone());
            continue;
        }
        let dir = pattern.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let entries = std::fs::read_dir(dir).map_err(|error| IoError::Read {
            what: "folder of log files",
            path: dir.to_path_buf(),
            error,
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(|n| wildcard(name.as_bytes(), n.as_bytes())))
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        if found.is_empty() {
            return Err(IoError::invalid(mapping_path, format!("files: nothing matches {}", pattern.display())));
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// `*` (any run) and `?` (one character) over bytes.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The fields a mapping reads, each once.
struct Plan {
    fields: Vec<String>,
    ts: usize,
    twin: Option<usize>,
    /// Per metric: the value field and the condition's field.
    value: Vec<Option<usize>>,
    condition: Vec<Option<(Option<usize>, Test)>>,
    scale: Vec<f64>,
}

impl Plan {
    fn of(m: &LogMapping) -> Plan {
        let mut fields: Vec<String> = Vec::new();
        let mut index = |name: &str| match fields.iter().position(|f| f == name) {
            Some(i) => i,
            None => {
                fields.push(name.to_string());
                fields.len() - 1
            }
        };
        let ts = index(&m.timestamp_field);
        let twin = match &m.twin {
            TwinRule::Field(f) => Some(index(f)),
            _ => None,
        };
        let value = m.metrics.iter().map(|s| s.value.as_deref().map(&mut index)).collect();
        let condition = m
            .metrics
            .iter()
            .map(|s| {
                s.condition.as_ref().map(|Condition { field, test }| (field.as_deref().map(&mut index), test.clone()))
            })
            .collect();
        let scale = m.metrics.iter().map(|s| s.scale).collect();
        Plan { fields, ts, twin, value, condition, scale }
    }
}

/// Turns lines into records: splitting, timestamps (with the last one remembered, as
/// neighbouring lines share their second), twins, conditions and values.
struct Evaluator {
    splitter: Splitter,
    plan: Plan,
    time_format: TimeFormat,
    last_time_text: Vec<u8>,
    last_time: i64,
    twin_ids: Vec<String>,
    twin_by_text: HashMap<Vec<u8>, u32>,
    twin_by_id: HashMap<String, u32>,
}

fn line_error(col: Option<usize>, message: impl Into<String>) -> SplitError {
    SplitError { col, message: message.into() }
}

impl Evaluator {
    fn new(m: &LogMapping) -> Evaluator {
        let plan = Plan::of(m);
        Evaluator {
            splitter: Splitter::new(&m.format, m.pattern.as_deref(), &plan.fields),
            plan,
            time_format: m.time_format.clone(),
            last_time_text: Vec::new(),
            last_time: 0,
            twin_ids: Vec::new(),
            twin_by_text: HashMap::new(),
            twin_by_id: HashMap::new(),
        }
    }

    /// The index of the twin named by `text` (sanitised), created on first sight.
    fn twin_index(&mut self, text: &[u8]) -> Result<u32, String> {
        if let Some(&i) = self.twin_by_text.get(text) {
            return Ok(i);
        }
        let id: String = text
            .iter()
            .take(128)
            .map(|&b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/') { b as char } else { '_' }
            })
            .collect();
        if id.is_empty() {
            return Err("the twin's field is empty".into());
        }
        let i = match self.twin_by_id.get(&id) {
            Some(&i) => i,
            None => {
                if self.twin_ids.len() >= MAX_TWINS {
                    return Err(format!("more than {MAX_TWINS} twins; is the twin field an id?"));
                }
                let i = self.twin_ids.len() as u32;
                self.twin_by_id.insert(id.clone(), i);
                self.twin_ids.push(id);
                i
            }
        };
        if self.twin_by_text.len() < 4 * MAX_TWINS {
            self.twin_by_text.insert(text.to_vec(), i);
        }
        Ok(i)
    }

    /// Fills `rec` from a line; `file_twin` is the twin of a file-named mapping.
    fn evaluate(&mut self, line: &[u8], file_twin: Option<u32>, rec: &mut Record) -> Result<(), SplitError> {
        self.splitter.split(line)?;
        let ts = match self.splitter.field(line, self.plan.ts) {
            None => return Err(line_error(None, format!("no timestamp field {:?}", self.plan.fields[self.plan.ts]))),
            Some(FieldRef::Text(text, col)) => {
                if text == self.last_time_text.as_slice() {
                    self.last_time
                } else {
                    let t = parse_time(text, &self.time_format).map_err(|m| line_error(col, m))?;
                    self.last_time_text.clear();
                    self.last_time_text.extend_from_slice(text);
                    self.last_time = t;
                    t
                }
            }
            Some(FieldRef::Num(n)) => number_time(n, &self.time_format).map_err(|m| line_error(None, m))?,
            Some(FieldRef::Bool(_)) => return Err(line_error(None, "the timestamp is a boolean")),
        };
        let twin = match (file_twin, self.plan.twin) {
            (Some(t), _) => t,
            (None, Some(i)) => {
                let text: Vec<u8>;
                let (bytes, col) = match self.splitter.field(line, i) {
                    Some(FieldRef::Text(t, col)) => (t, col),
                    Some(FieldRef::Num(n)) => {
                        text = format_number(n).into_bytes();
                        (text.as_slice(), None)
                    }
                    Some(FieldRef::Bool(b)) => (if b { &b"true"[..] } else { &b"false"[..] }, None),
                    None => return Err(line_error(None, format!("no twin field {:?}", self.plan.fields[i]))),
                };
                match self.twin_by_text.get(bytes) {
                    Some(&i) => i,
                    None => {
                        let owned = bytes.to_vec();
                        self.twin_index(&owned).map_err(|m| line_error(col, m))?
                    }
                }
            }
            (None, None) => 0,
        };
        rec.ts = ts;
        rec.twin = twin;
        rec.matched = 0;
        rec.values.clear();
        for m in 0..self.plan.value.len() {
            let holds = match &self.plan.condition[m] {
                None => true,
                Some((field, test)) => self.test(line, *field, test)?,
            };
            rec.matched |= u64::from(holds) << m;
            let value = match (self.plan.value[m], holds) {
                (Some(i), true) => match self.splitter.field(line, i) {
                    None => f64::NAN,
                    Some(f) => field_number(f, &self.plan.fields[i])?.map_or(f64::NAN, |v| v * self.plan.scale[m]),
                },
                _ => f64::NAN,
            };
            rec.values.push(value);
        }
        Ok(())
    }

    fn test(&self, line: &[u8], field: Option<usize>, test: &Test) -> Result<bool, SplitError> {
        let Some(i) = field else {
            return Ok(match test {
                Test::Matches(re) => re.is_match(line),
                _ => false,
            });
        };
        let Some(f) = self.splitter.field(line, i) else {
            return Ok(false);
        };
        Ok(match (test, f) {
            (Test::Num(op, b), f) => match field_number(f, &self.plan.fields[i])? {
                Some(a) => op.holds(a, *b),
                None => false,
            },
            (Test::TextEq(want, negate), FieldRef::Text(t, _)) => (t == want.as_bytes()) != *negate,
            (Test::TextEq(want, negate), FieldRef::Num(n)) => (want.trim().parse::<f64>().ok() == Some(n)) != *negate,
            (Test::TextEq(want, negate), FieldRef::Bool(b)) => (want == if b { "true" } else { "false" }) != *negate,
            (Test::Matches(re), FieldRef::Text(t, _)) => re.is_match(t),
            (Test::Matches(re), FieldRef::Num(n)) => re.is_match(format_number(n).as_bytes()),
            (Test::Matches(re), FieldRef::Bool(b)) => re.is_match(if b { b"true" } else { b"false" }),
        })
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() }
}

/// A field as a number: `None` for `-` or empty text, an error for other text.
fn field_number(f: FieldRef<'_>, name: &str) -> Result<Option<f64>, SplitError> {
    match f {
        FieldRef::Num(n) => Ok(Some(n)),
        FieldRef::Bool(b) => Ok(Some(if b { 1.0 } else { 0.0 })),
        FieldRef::Text(t, col) => {
            let text = std::str::from_utf8(t).unwrap_or("").trim();
            if text.is_empty() || text == "-" {
                return Ok(None);
            }
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(line_error(
                    col,
                    format!("field {name}: cannot read {:?} as a number", String::from_utf8_lossy(t)),
                )),
            }
        }
    }
}

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// `10/Oct/2026:13:55:36 +0200` without chrono.
fn parse_common_log(b: &[u8]) -> Option<i64> {
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[14] != b':' || b[17] != b':' || b[20] != b' '
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    let month = MONTHS.iter().position(|m| m[..] == b[3..6])? as i64 + 1;
    let (day, year) = (num(0..2)?, num(7..11)?);
    let (h, mi, s) = (num(12..14)?, num(15..17)?, num(18..20)?);
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset = sign * (num(22..24)? * 3600 + num(24..26)? * 60);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    };
    if day < 1 || day > days_in_month || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(super::time::days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + s.min(59) - offset)
}

fn parse_time(text: &[u8], format: &TimeFormat) -> Result<i64, String> {
    let s = std::str::from_utf8(text).map_err(|_| "the timestamp is not UTF-8 text".to_string())?;
    let t = match format {
        TimeFormat::Auto => return super::time::parse_timestamp(s),
        TimeFormat::CommonLog => parse_common_log(text)
            .ok_or_else(|| format!("cannot read {s:?} as a common log timestamp (like 10/Oct/2026:13:55:36 +0000)"))?,
        TimeFormat::Unix | TimeFormat::UnixMs => {
            let v: f64 = s.trim().parse().map_err(|_| format!("cannot read {s:?} as Unix time"))?;
            return number_time(v, format);
        }
        TimeFormat::Strftime { pattern, zoned: true } => chrono::DateTime::parse_from_str(s.trim(), pattern)
            .map_err(|e| format!("cannot read {s:?} as {pattern:?}: {e}"))?
            .timestamp(),
        TimeFormat::Strftime { pattern, zoned: false } => chrono::NaiveDateTime::parse_from_str(s.trim(), pattern)
            .map_err(|e| format!("cannot read {s:?} as {pattern:?}: {e}"))?
            .and_utc()
            .timestamp(),
    };
    super::time::check_range(t, s)
}

fn number_time(v: f64, format: &TimeFormat) -> Result<i64, String> {
    let secs = match format {
        TimeFormat::Auto | TimeFormat::Unix => v,
        TimeFormat::UnixMs => v / 1000.0,
        _ => return Err(format!("the timestamp is the number {v}, not text in the mapping's format")),
    };
    if !secs.is_finite() || secs.abs() > 1e13 {
        return Err(format!("timestamp {v} is out of range"));
    }
    super::time::check_range(secs.floor() as i64, &v.to_string())
}

/// One file being read: its reader, its twin (when the file names it) and its
/// current record.
struct Stream {
    path: PathBuf,
    reader: LineReader,
    file_twin: Option<u32>,
    record: Record,
    last_ts: Option<i64>,
}

/// Collected problems.
#[derive(Default)]
struct Problems {
    report: LogReport,
}

impl Problems {
    fn note(&mut self, path: &Path, line: u64, col: Option<usize>, message: &str) {
        if self.report.problems.len() < REPORTED {
            self.report.problems.push(match col {
                Some(col) => format!("{}:{line}:{col}: {message}", path.display()),
                None => format!("{}:{line}: {message}", path.display()),
            });
        }
    }
}

/// The twin a file names, per the mapping's rule.
fn file_twin_text(m: &LogMapping, path: &Path) -> Result<Option<String>, IoError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(match &m.twin {
        TwinRule::Fixed(id) => Some(id.clone()),
        TwinRule::FileStem => {
            let lower = name.to_ascii_lowercase();
            let base = if lower.ends_with(".gz") { &name[..name.len() - 3] } else { name.as_str() };
            Some(Path::new(base).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default())
        }
        TwinRule::FileName(re) => {
            let caps = re.captures(&name).ok_or_else(|| {
                IoError::invalid(&m.path, format!("twin.file: the file name {name:?} does not match {}", re.as_str()))
            })?;
            let group = caps.name("twin").or_else(|| caps.get(1));
            Some(group.map(|g| g.as_str().to_string()).unwrap_or_default())
        }
        TwinRule::Field(_) => None,
    })
}

/// Reads `files` with `mapping` into series, one pass, memory bounded by the open
/// steps (module docs).
pub fn ingest(mapping: &LogMapping, files: &[PathBuf]) -> Result<LogIngest, IoError> {
    if files.is_empty() {
        return Err(IoError::invalid(&mapping.path, "no log files to read"));
    }
    let mut eval = Evaluator::new(mapping);
    let mut problems = Problems::default();
    let mut streams = Vec::new();
    for path in files {
        let reader = LineReader::open(path)?;
        problems.report.file_bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let file_twin = match file_twin_text(mapping, path)? {
            Some(text) => Some(
                eval.twin_index(text.as_bytes())
                    .map_err(|m| IoError::invalid(path, format!("twin named by the file: {m}")))?,
            ),
            None => None,
        };
        streams.push(Stream { path: path.clone(), reader, file_twin, record: Record::default(), last_ts: None });
    }
    let aggregates = mapping.metrics.iter().map(|m| m.aggregate).collect();
    let mut agg = Aggregator::new(aggregates, mapping.step_secs, mapping.max_delay_secs);
    // Each stream's next record, smallest time first (ties in file order).
    let mut heap: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
    for (i, stream) in streams.iter_mut().enumerate() {
        if advance(stream, &mut eval, &mut problems)? {
            heap.push(Reverse((stream.record.ts, i)));
        }
    }
    while let Some(Reverse((_, i))) = heap.pop() {
        let stream = &mut streams[i];
        if agg.push(&stream.record) {
            problems.report.used += 1;
        } else {
            problems.report.late += 1;
            let message = format!(
                "the line's time is more than max_delay ({} s) behind the newest line read; its step was already written",
                mapping.max_delay_secs
            );
            problems.note(&stream.path, stream.reader.line_no, None, &message);
        }
        if advance(stream, &mut eval, &mut problems)? {
            heap.push(Reverse((stream.record.ts, i)));
        }
    }
    let mut report = problems.report;
    report.files = streams.len();
    for s in &streams {
        report.bytes += s.reader.bytes;
        report.lines += s.reader.line_no;
    }
    report.fast_path = eval.splitter.is_fast();
    report.peak_open_steps = agg.peak_open_steps;
    let out = agg.finish();
    let mut series = BTreeMap::new();
    for (t, per_metric) in out.into_iter().enumerate() {
        for (m, data) in per_metric.into_iter().enumerate() {
            if !data.ts.is_empty() {
                series.insert(SeriesKey::new(eval.twin_ids[t].as_str(), mapping.metrics[m].name.clone()), data);
            }
        }
    }
    if series.is_empty() {
        let first = report.problems.first().map_or_else(String::new, |p| format!("; the first problem: {p}"));
        return Err(IoError::invalid(
            &mapping.path,
            format!("no line of {} log lines gave a sample{first}", report.lines),
        ));
    }
    Ok(LogIngest { series, report })
}

/// Reads lines of `stream` until one gives a record (true) or the file ends (false).
fn advance(stream: &mut Stream, eval: &mut Evaluator, problems: &mut Problems) -> Result<bool, IoError> {
    loop {
        let (gzip, next_no) = (stream.reader.gzip, stream.reader.line_no + 1);
        let line = match stream.reader.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(false),
            Err(e) if gzip => {
                // A truncated or corrupt archive (a log rotated while compressing):
                // what was read stays, the rest is reported.
                problems.report.unparsable += 1;
                let message = format!("the gzip stream ends here ({e}); the rest of the file is not read");
                problems.note(&stream.path, next_no, None, &message);
                return Ok(false);
            }
            Err(error) => return Err(IoError::Read { what: "log file", path: stream.path.clone(), error }),
        };
        let result = match line {
            Line::TooLong => Err(line_error(None, format!("the line is longer than {} bytes", reader::MAX_LINE))),
            Line::Text(text) if text.iter().all(u8::is_ascii_whitespace) => continue,
            Line::Text(text) => eval.evaluate(text, stream.file_twin, &mut stream.record),
        };
        match result {
            Ok(()) => {
                if stream.last_ts.is_some_and(|t| stream.record.ts < t) {
                    problems.report.out_of_order += 1;
                } else {
                    stream.last_ts = Some(stream.record.ts);
                }
                return Ok(true);
            }
            Err(e) => {
                problems.report.unparsable += 1;
                problems.note(&stream.path, stream.reader.line_no, e.col, &e.message);
            }
        }
    }
}

#[cfg(test)]
mod tests;
