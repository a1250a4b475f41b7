//! Telemetry files through polars: the long layout `timestamp,twin,metric,value` (CSV
//! or Parquet) and the single-series layout `timestamp,value` (CSV or Parquet; the
//! series is named after the file: twin = file stem, metric = `value`).
//!
//! Rows keep the file's order when read ([`read_table`]); loading into the store
//! sorts each series by time (stable) and reports that repair. Timestamps are whole
//! seconds (see `io::time`). Bad cells are reported as `file:line:col`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::IoError;
use super::time::{format_rfc3339, parse_timestamp};
use crate::model::ids::is_valid_name;
use crate::model::{RetentionPolicy, SeriesData, SeriesKey, TelemetryStore};

/// Which columns a file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `timestamp,twin,metric,value`.
    Long,
    /// `timestamp,value`.
    Single,
}

/// A telemetry file as read: series in row order.
#[derive(Clone, Debug)]
pub struct TelemetryTable {
    /// Column layout of the file.
    pub layout: Layout,
    /// Data rows read.
    pub rows: usize,
    /// Samples per series, in the file's row order.
    pub series: BTreeMap<SeriesKey, SeriesData>,
}

/// What loading into the store had to repair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Series whose rows were not in time order and were sorted.
    pub sorted_series: usize,
    /// Samples sharing a timestamp with the sample before them (kept, in file order).
    pub duplicate_timestamps: usize,
}

/// Whether a path names a telemetry file this module writes (`.csv`, `.parquet`).
pub fn is_telemetry_file(path: &Path) -> bool {
    is_parquet(path) || path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// Reads a telemetry file (CSV or Parquet by extension).
pub fn read_table(path: &Path) -> Result<TelemetryTable, IoError> {
    if std::fs::metadata(path).is_err() {
        // Let the OS say why (missing, permission) with the path.
        File::open(path).map_err(|error| IoError::Read { what: "telemetry file", path: path.to_path_buf(), error })?;
    }
    let df = if is_parquet(path) { read_parquet(path)? } else { read_csv(path)? };
    table_from_frame(path, &df)
}

fn polars_error(path: &Path, e: &PolarsError) -> IoError {
    IoError::invalid(path, format!("cannot read telemetry: {e}"))
}

fn read_csv(path: &Path) -> Result<DataFrame, IoError> {
    let result = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_raise_if_empty(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish());
    result.map_err(|e| match locate_ragged_row(path) {
        Some(err) => err,
        None => polars_error(path, &e),
    })
}

fn read_parquet(path: &Path) -> Result<DataFrame, IoError> {
    let file =
        File::open(path).map_err(|error| IoError::Read { what: "telemetry file", path: path.to_path_buf(), error })?;
    ParquetReader::new(file).finish().map_err(|e| polars_error(path, &e))
}

/// In the error path of a CSV read: the first line whose field count differs from the
/// header's, as a positioned error.
fn locate_ragged_row(path: &Path) -> Option<IoError> {
    let text = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&text);
    let mut lines = text.lines().enumerate();
    let (_, header) = lines.next()?;
    let expected = split_fields(header).len();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line);
        if fields.len() != expected {
            let col = if fields.len() > expected {
                fields.get(expected).map_or(1, |(start, _)| start + 1)
            } else {
                line.chars().count() + 1
            };
            return Some(IoError::at(
                path,
                (i + 1, col),
                format!("expected {expected} fields like the header, found {}", fields.len()),
            ));
        }
    }
    None
}

/// Splits a CSV line into (start column, text) fields, honouring double quotes.
pub(crate) fn split_fields(line: &str) -> Vec<(usize, String)> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in line.chars().enumerate() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                fields.push((start, std::mem::take(&mut current)));
                start = i + 1;
            }
            _ => current.push(c),
        }
    }
    fields.push((start, current));
    fields
}

/// The (line, col) of a data row's field, found by re-reading the file (error path).
fn locate_cell(path: &Path, row: usize, column: &str) -> (usize, usize) {
    let Ok(bytes) = std::fs::read(path) else {
        return (row + 2, 1);
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return (row + 2, 1);
    };
    let index = split_fields(header).iter().position(|(_, name)| name.trim().eq_ignore_ascii_case(column)).unwrap_or(0);
    let found = lines.filter(|(_, l)| !l.trim().is_empty()).nth(row);
    match found {
        Some((i, line)) => (i + 1, split_fields(line).get(index).map_or(1, |(start, _)| start + 1)),
        None => (row + 2, 1),
    }
}

fn cell_error(path: &Path, row: usize, column: &str, message: String, parquet: bool) -> IoError {
    if parquet {
        IoError::invalid(path, format!("row {}, column {column}: {message}", row + 1))
    } else {
        IoError::at(path, locate_cell(path, row, column), message)
    }
}

fn find_column<'a>(df: &'a DataFrame, name: &str) -> Option<&'a Column> {
    df.columns().iter().find(|c| c.name().trim().eq_ignore_ascii_case(name))
}

fn table_from_frame(path: &Path, df: &DataFrame) -> Result<TelemetryTable, IoError> {
    let parquet = is_parquet(path);
    let names: Vec<String> = df.columns().iter().map(|c| c.name().trim().to_ascii_lowercase()).collect();
    let mut sorted_names = names.clone();
    sorted_names.sort();
    let layout = match sorted_names.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["metric", "timestamp", "twin", "value"] => Layout::Long,
        ["timestamp", "value"] => Layout::Single,
        _ => {
            return Err(IoError::at(
                path,
                (1, 1),
                format!(
                    "expected the columns timestamp,value or timestamp,twin,metric,value; found {}",
                    names.join(",")
                ),
            ));
        }
    };
    let rows = df.height();
    if rows == 0 {
        return Err(IoError::at(path, (2, 1), "the file has a header but no samples"));
    }
    let ts = timestamps(path, find_column(df, "timestamp"), parquet)?;
    let values = values(path, find_column(df, "value"), parquet)?;
    let mut series: BTreeMap<SeriesKey, SeriesData> = BTreeMap::new();
    match layout {
        Layout::Single => {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("series");
            let twin: String =
                stem.chars().map(|c| if is_valid_name(&c.to_string()) { c } else { '_' }).take(128).collect();
            series.insert(SeriesKey::new(twin.as_str(), "value"), SeriesData { ts, values });
        }
        Layout::Long => {
            let twins = strings(path, find_column(df, "twin"))?;
            let metrics = strings(path, find_column(df, "metric"))?;
            let mut last: Option<(String, String, SeriesKey)> = None;
            for row in 0..rows {
                let (Some(twin), Some(metric)) = (twins.get(row), metrics.get(row)) else {
                    return Err(cell_error(path, row, "twin", "missing twin or metric".into(), parquet));
                };
                let (twin, metric) = (twin.unwrap_or(""), metric.unwrap_or(""));
                let key = match &last {
                    Some((t, m, key)) if t == twin && m == metric => key.clone(),
                    _ => {
                        if !is_valid_name(twin) {
                            return Err(cell_error(
                                path,
                                row,
                                "twin",
                                format!("twin id {twin:?} must be 1–128 letters, digits or - _ . : /"),
                                parquet,
                            ));
                        }
                        if !is_valid_name(metric) {
                            return Err(cell_error(
                                path,
                                row,
                                "metric",
                                format!("metric name {metric:?} must be 1–128 letters, digits or - _ . : /"),
                                parquet,
                            ));
                        }
                        let key = SeriesKey::new(twin, metric);
                        last = Some((twin.to_string(), metric.to_string(), key.clone()));
                        key
                    }
                };
                let data = series.entry(key).or_default();
                data.ts.push(ts[row]);
                data.values.push(values[row]);
            }
        }
    }
    Ok(TelemetryTable { layout, rows, series })
}

fn strings<'a>(path: &Path, column: Option<&'a Column>) -> Result<Vec<Option<&'a str>>, IoError> {
    let column = column.ok_or_else(|| IoError::invalid(path, "missing column"))?;
    let ca = column.str().map_err(|_| {
        IoError::invalid(path, format!("column {} must hold text, not {}", column.name(), column.dtype()))
    })?;
    Ok(ca.iter().collect())
}

fn timestamps(path: &Path, column: Option<&Column>, parquet: bool) -> Result<Vec<i64>, IoError> {
    let column = column.ok_or_else(|| IoError::invalid(path, "missing column timestamp"))?;
    match column.dtype() {
        DataType::String => {
            let ca = column.str().map_err(|e| polars_error(path, &e))?;
            let mut out = Vec::with_capacity(ca.len());
            for (row, cell) in ca.iter().enumerate() {
                let cell = cell.ok_or_else(|| cell_error(path, row, "timestamp", "empty timestamp".into(), parquet))?;
                out.push(parse_timestamp(cell).map_err(|m| cell_error(path, row, "timestamp", m, parquet))?);
            }
            Ok(out)
        }
        dt if dt.is_integer() => {
            let cast = column.cast(&DataType::Int64).map_err(|e| polars_error(path, &e))?;
            let ca = cast.i64().map_err(|e| polars_error(path, &e))?;
            ca.iter()
                .enumerate()
                .map(|(row, v)| {
                    let v = v.ok_or_else(|| cell_error(path, row, "timestamp", "empty timestamp".into(), parquet))?;
                    parse_timestamp(&v.to_string()).map_err(|m| cell_error(path, row, "timestamp", m, parquet))
                })
                .collect()
        }
        other => Err(IoError::invalid(path, format!("column timestamp must hold text or Unix seconds, not {other}"))),
    }
}

fn values(path: &Path, column: Option<&Column>, parquet: bool) -> Result<Vec<f64>, IoError> {
    let column = column.ok_or_else(|| IoError::invalid(path, "missing column value"))?;
    let check = |row: usize, v: Option<f64>, raw: Option<&str>| -> Result<f64, IoError> {
        match v {
            Some(v) if v.is_finite() => Ok(v),
            Some(v) => Err(cell_error(path, row, "value", format!("value {v} is not a finite number"), parquet)),
            None => Err(cell_error(
                path,
                row,
                "value",
                match raw {
                    Some(raw) => format!("cannot read {raw:?} as a number"),
                    None => "empty value".into(),
                },
                parquet,
            )),
        }
    };
    match column.dtype() {
        DataType::String => {
            let ca = column.str().map_err(|e| polars_error(path, &e))?;
            ca.iter()
                .enumerate()
                .map(|(row, cell)| check(row, cell.and_then(|c| c.trim().parse::<f64>().ok()), cell))
                .collect()
        }
        dt if dt.is_primitive_numeric() => {
            let cast = column.cast(&DataType::Float64).map_err(|e| polars_error(path, &e))?;
            let ca = cast.f64().map_err(|e| polars_error(path, &e))?;
            ca.iter().enumerate().map(|(row, v)| check(row, v, None)).collect()
        }
        other => Err(IoError::invalid(path, format!("column value must hold numbers, not {other}"))),
    }
}

/// Sorts each series by time (stable, so duplicates keep file order) and counts repairs.
pub fn sort_series(table: &mut TelemetryTable) -> Repairs {
    let mut repairs = Repairs::default();
    for data in table.series.values_mut() {
        if data.ts.windows(2).any(|w| w[1] < w[0]) {
            repairs.sorted_series += 1;
            let mut order: Vec<usize> = (0..data.len()).collect();
            order.sort_by_key(|&i| data.ts[i]);
            data.ts = order.iter().map(|&i| data.ts[i]).collect();
            data.values = order.iter().map(|&i| data.values[i]).collect();
        }
        repairs.duplicate_timestamps += data.ts.windows(2).filter(|w| w[0] == w[1]).count();
    }
    repairs
}

/// Loads a sorted table into a new store (sealed), with retention applied at the
/// latest sample: chunks older than the raw window become rollups.
pub fn table_into_store(
    path: &Path,
    table: &TelemetryTable,
    retention: RetentionPolicy,
) -> Result<TelemetryStore, IoError> {
    let mut store = TelemetryStore::with_retention(retention);
    for (key, data) in &table.series {
        store.append_many(key, &data.ts, &data.values).map_err(|e| IoError::invalid(path, e.to_string()))?;
    }
    store.seal().map_err(|e| IoError::invalid(path, e.to_string()))?;
    store.enforce_retention().map_err(|e| IoError::invalid(path, e.to_string()))?;
    Ok(store)
}

/// Reads a telemetry file straight into a store.
pub fn read_store(path: &Path, retention: RetentionPolicy) -> Result<TelemetryStore, IoError> {
    let mut table = read_table(path)?;
    sort_series(&mut table);
    table_into_store(path, &table, retention)
}

/// Writes series in the long layout; CSV or Parquet by extension. CSV timestamps are
/// RFC 3339; Parquet timestamps are Int64 Unix seconds. Floats are written in their
/// shortest exact form, so reading the file back gives the same bits.
pub fn write_long(path: &Path, series: &[(SeriesKey, SeriesData)]) -> Result<usize, IoError> {
    let mut next = series.iter();
    write_long_with(path, || Ok(next.next().map(|(k, d)| (k.clone(), std::borrow::Cow::Borrowed(d)))))
}

/// Rows buffered before a batch is written.
const BATCH_ROWS: usize = 1 << 20;

/// Writes series in the long layout as [`write_long`] does, taking them one at a time
/// from `next` (until it gives `None`) and writing in batches of about a million rows,
/// so memory stays bounded however long the history is.
pub fn write_long_with<'a>(
    path: &Path,
    mut next: impl FnMut() -> Result<Option<(SeriesKey, std::borrow::Cow<'a, SeriesData>)>, IoError>,
) -> Result<usize, IoError> {
    let parquet = is_parquet(path);
    let invalid = |e: PolarsError| IoError::invalid(path, format!("cannot write telemetry: {e}"));
    let file = File::create(path).map_err(|error| IoError::Write {
        what: "telemetry file",
        path: path.to_path_buf(),
        error,
    })?;
    let ts_type = if parquet { DataType::Int64 } else { DataType::String };
    let schema = Schema::from_iter([
        Field::new("timestamp".into(), ts_type),
        Field::new("twin".into(), DataType::String),
        Field::new("metric".into(), DataType::String),
        Field::new("value".into(), DataType::Float64),
    ]);
    enum Writer {
        Parquet(Box<polars::io::parquet::write::BatchedWriter<File>>),
        Csv(polars::io::csv::write::BatchedWriter<File>),
    }
    let mut writer = if parquet {
        Writer::Parquet(Box::new(ParquetWriter::new(file).batched(&schema).map_err(invalid)?))
    } else {
        Writer::Csv(CsvWriter::new(file).include_header(true).batched(&schema).map_err(invalid)?)
    };
    // A batch: its series (key, rows) and their rows' times and values.
    let (mut keys, mut values, mut ts_int): (Vec<(SeriesKey, usize)>, Vec<f64>, Vec<i64>) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut rows = 0;
    let flush = |keys: &mut Vec<(SeriesKey, usize)>,
                 values: &mut Vec<f64>,
                 ts_int: &mut Vec<i64>,
                 writer: &mut Writer|
     -> Result<(), IoError> {
        let repeat = |part: fn(&SeriesKey) -> &str| -> Vec<&str> {
            keys.iter().flat_map(|(k, n)| std::iter::repeat_n(part(k), *n)).collect()
        };
        let ts_column = if parquet {
            Column::new("timestamp".into(), std::mem::take(ts_int))
        } else {
            Column::new("timestamp".into(), ts_int.drain(..).map(format_rfc3339).collect::<Vec<_>>())
        };
        let df = DataFrame::new_infer_height(vec![
            ts_column,
            Column::new("twin".into(), repeat(|k| k.twin.as_str())),
            Column::new("metric".into(), repeat(|k| k.metric.as_str())),
            Column::new("value".into(), std::mem::take(values)),
        ])
        .map_err(|e| IoError::invalid(path, e.to_string()))?;
        keys.clear();
        match writer {
            Writer::Parquet(w) => w.write_batch(&df),
            Writer::Csv(w) => w.write_batch(&df),
        }
        .map_err(invalid)
    };
    while let Some((key, data)) = next()? {
        values.extend_from_slice(&data.values);
        ts_int.extend_from_slice(&data.ts);
        rows += data.len();
        keys.push((key, data.len()));
        if values.len() >= BATCH_ROWS {
            flush(&mut keys, &mut values, &mut ts_int, &mut writer)?;
        }
    }
    if !values.is_empty() || rows == 0 {
        flush(&mut keys, &mut values, &mut ts_int, &mut writer)?;
    }
    match &mut writer {
        Writer::Parquet(w) => w.finish().map(|_| ()),
        Writer::Csv(w) => w.finish(),
    }
    .map_err(invalid)?;
    Ok(rows)
}

/// The (line, col) of a data row's cell (`row` counts data rows from 0, in file order)
/// in a CSV file, for errors found after reading; `None` for Parquet, which has no
/// lines.
pub fn cell_position(path: &Path, row: usize, column: &str) -> Option<(usize, usize)> {
    (!is_parquet(path)).then(|| locate_cell(path, row, column))
}

/// Reads a single series (`timestamp,value`) in file order, for `forecast` and
/// `detect`. A long file with exactly one series is accepted too.
pub fn read_single_series(path: &Path) -> Result<SeriesData, IoError> {
    let table = read_table(path)?;
    let count = table.series.len();
    match table.series.into_values().next() {
        Some(data) if count == 1 => Ok(data),
        _ => Err(IoError::invalid(path, format!("expected one series, found {count}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn loading_applies_retention_at_each_series_latest_sample() {
        // 60 days at 5 minutes: the oldest chunk (14 days) falls out of the 35-day raw window.
        let dir = tempfile::tempdir().unwrap();
        let t0 = 1_767_225_600;
        let n = 60 * 288;
        let mut text = String::from("timestamp,value\n");
        for i in 0..n {
            text.push_str(&format!("{},{}.{}\n", t0 + i * 300, i % 97, i % 10));
        }
        let path = write(&dir, "long.csv", &text);
        let store = read_store(&path, RetentionPolicy::default()).unwrap();
        let key = store.keys().next().unwrap().clone();
        let series = store.series(&key).unwrap();
        let rolled = series.rolled_up_count().unwrap();
        assert!(rolled > 0, "nothing rolled up");
        assert_eq!(series.sample_count() + rolled, n as usize);
        let last = t0 + (n - 1) * 300;
        assert!(series.read_all().unwrap().ts[0] <= last - 35 * crate::model::DAY_SECS);
        assert_eq!(store.span(), Some((t0, last)));
    }

    #[test]
    fn reads_long_and_single_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let long = write(
            &dir,
            "l.csv",
            "timestamp,twin,metric,value\n2026-01-01 00:00:00,web,cpu_usage,1.5\n2026-01-01T00:01:00Z,web,cpu_usage,2\n1767225600,db,cpu_usage,3\n",
        );
        let t = read_table(&long).unwrap();
        assert_eq!(t.layout, Layout::Long);
        assert_eq!(t.series.len(), 2);
        assert_eq!(t.series[&SeriesKey::new("web", "cpu_usage")].values, vec![1.5, 2.0]);
        let single = write(&dir, "cpu.csv", "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:05:00,2\n");
        let t = read_table(&single).unwrap();
        assert_eq!(t.layout, Layout::Single);
        assert!(t.series.contains_key(&SeriesKey::new("cpu", "value")));
    }

    #[test]
    fn bad_cells_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "bad.csv", "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:05:00,abc\n");
        let e = read_table(&p).unwrap_err().to_string();
        assert!(e.ends_with(":3:21: cannot read \"abc\" as a number"), "{e}");
        let p = write(&dir, "badts.csv", "timestamp,value\nnope,1\n");
        let e = read_table(&p).unwrap_err().to_string();
        assert!(e.contains(":2:1: cannot read \"nope\" as a timestamp"), "{e}");
        let p = write(&dir, "ragged.csv", "timestamp,value\n2026-01-01 00:00:00,1,7\n");
        let e = read_table(&p).unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");
        let p = write(&dir, "nan.csv", "timestamp,value\n2026-01-01 00:00:00,NaN\n");
        assert!(read_table(&p).unwrap_err().to_string().contains("not a finite number"));
        let p = write(&dir, "cols.csv", "time,val\n1,2\n");
        assert!(read_table(&p).unwrap_err().to_string().contains(":1:1: expected the columns"));
        let p = write(&dir, "empty.csv", "");
        assert!(read_table(&p).is_err());
        let p = write(&dir, "header.csv", "timestamp,value\n");
        assert!(read_table(&p).unwrap_err().to_string().contains("no samples"));
    }

    #[test]
    fn export_round_trips_bit_exact() {
        let dir = tempfile::tempdir().unwrap();
        let data = SeriesData { ts: vec![1_767_225_600, 1_767_225_660], values: vec![51.846000000000004, 0.1 + 0.2] };
        let series = vec![(SeriesKey::new("web", "cpu_usage"), data.clone())];
        for name in ["out.csv", "out.parquet"] {
            let p = dir.path().join(name);
            assert_eq!(write_long(&p, &series).unwrap(), 2);
            let back = read_table(&p).unwrap();
            let got = &back.series[&SeriesKey::new("web", "cpu_usage")];
            assert_eq!(got.ts, data.ts);
            assert_eq!(
                got.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                data.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn sorting_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "u.csv", "timestamp,value\n120,2\n60,1\n120,3\n");
        let mut t = read_table(&p).unwrap();
        let r = sort_series(&mut t);
        assert_eq!(r, Repairs { sorted_series: 1, duplicate_timestamps: 1 });
        let d = t.series.values().next().unwrap();
        assert_eq!(d.values, vec![1.0, 2.0, 3.0]);
    }
}
