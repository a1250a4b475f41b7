//! The telemetry store: one series per twin × metric, held as compressed chunks.
//!
//! Each chunk holds up to [`CHUNK_SAMPLES`] samples. Timestamps are encoded with
//! second-order deltas (delta-of-delta) and values by [`super::decimal`]: decimals as
//! scaled integers with per-value ulp corrections, or `pco`'s own float encoding,
//! whichever is smaller. Both are lossless: every `f64` reads back bit-identical. Every chunk keeps a summary (count, min, max, sum)
//! so plots of a month of minutes are drawn from rollups without decoding everything.
//!
//! New samples collect in an uncompressed head until it fills a chunk; [`Series::seal`]
//! compresses a partial head too (done after bulk loads so memory holds only chunks).
//! A [`RetentionPolicy`] keeps raw chunks for a span and replaces older ones by
//! fixed-width rollup buckets.

use std::collections::BTreeMap;

use pco::standalone::{simple_compress, simple_decompress};
use pco::{ChunkConfig, DeltaSpec};

use super::{DAY_SECS, HOUR_SECS, SeriesKey, UnixSecs};

/// Samples per compressed chunk.
pub const CHUNK_SAMPLES: usize = 4096;

/// Errors of the telemetry store.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    /// A sample's timestamp is earlier than the series' last one.
    #[error("sample at {ts} is earlier than the last sample of {key} at {last}")]
    OutOfOrder {
        /// The series.
        key: SeriesKey,
        /// Offending timestamp.
        ts: UnixSecs,
        /// Last timestamp already in the series.
        last: UnixSecs,
    },
    /// A value is NaN or infinite.
    #[error("value {value} at {ts} of {key} is not a finite number")]
    NotFinite {
        /// The series.
        key: SeriesKey,
        /// Timestamp of the sample.
        ts: UnixSecs,
        /// The value.
        value: f64,
    },
    /// Timestamp and value slices of different lengths.
    #[error("{timestamps} timestamps but {values} values")]
    LengthMismatch {
        /// Number of timestamps.
        timestamps: usize,
        /// Number of values.
        values: usize,
    },
    /// The codec failed (a bug or corrupted memory, never bad input).
    #[error("telemetry codec: {0}")]
    Codec(String),
}

/// How long raw samples are kept and what replaces them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Raw samples newer than this many seconds (before "now") are kept.
    pub raw_secs: i64,
    /// Width of the rollup buckets that replace older raw samples.
    pub rollup_bucket_secs: i64,
    /// Rollup buckets older than this many seconds are dropped.
    pub rollup_keep_secs: i64,
}

impl Default for RetentionPolicy {
    /// 35 days raw (so a 30-day history is whole), then hourly rollups for 400 days.
    fn default() -> Self {
        Self { raw_secs: 35 * DAY_SECS, rollup_bucket_secs: HOUR_SECS, rollup_keep_secs: 400 * DAY_SECS }
    }
}

/// Aggregate of the samples in a time bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Start of the bucket (aligned to a multiple of the bucket width).
    pub start: UnixSecs,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum of values.
    pub sum: f64,
    /// Number of samples.
    pub count: u32,
}

impl Bucket {
    fn single(start: UnixSecs, value: f64) -> Self {
        Self { start, min: value, max: value, sum: value, count: 1 }
    }

    fn add(&mut self, value: f64) {
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += value;
        self.count += 1;
    }

    fn merge(&mut self, other: &Bucket) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
    }

    /// Mean of the bucket's samples.
    pub fn avg(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.sum / f64::from(self.count) }
    }
}

/// Decoded samples: parallel timestamp and value vectors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesData {
    /// Timestamps, non-decreasing.
    pub ts: Vec<UnixSecs>,
    /// Values, one per timestamp.
    pub values: Vec<f64>,
}

impl SeriesData {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}

#[derive(Clone, Debug)]
struct Chunk {
    first_ts: UnixSecs,
    last_ts: UnixSecs,
    summary: Bucket,
    /// Length of the encoded timestamps at the start of `bytes`.
    ts_len: u32,
    bytes: Box<[u8]>,
}

impl Chunk {
    fn encode(ts: &[UnixSecs], values: &[f64]) -> Result<Chunk, StoreError> {
        let (Some(&first_ts), Some(&last_ts)) = (ts.first(), ts.last()) else {
            return Err(StoreError::Codec("empty chunk".into()));
        };
        let ts_config = ChunkConfig::default().with_delta_spec(DeltaSpec::TryConsecutive(2));
        let mut bytes = simple_compress(ts, &ts_config).map_err(codec)?;
        let ts_len = u32::try_from(bytes.len()).map_err(|e| StoreError::Codec(e.to_string()))?;
        bytes.extend(super::decimal::encode(values).map_err(value_codec)?);
        let mut summary = Bucket::single(first_ts, values[0]);
        for v in &values[1..] {
            summary.add(*v);
        }
        Ok(Chunk { first_ts, last_ts, summary, ts_len, bytes: bytes.into_boxed_slice() })
    }

    fn decode_into(&self, out: &mut SeriesData) -> Result<(), StoreError> {
        let (ts_bytes, value_bytes) = self.bytes.split_at(self.ts_len as usize);
        let ts: Vec<i64> = simple_decompress(ts_bytes).map_err(codec)?;
        let values = super::decimal::decode(value_bytes).map_err(value_codec)?;
        if ts.len() != values.len() || ts.len() != self.summary.count as usize {
            return Err(StoreError::Codec("chunk lengths disagree".into()));
        }
        out.ts.extend(ts);
        out.values.extend(values);
        Ok(())
    }

    fn decode(&self) -> Result<SeriesData, StoreError> {
        let mut out = SeriesData::default();
        self.decode_into(&mut out)?;
        Ok(out)
    }
}

#[allow(clippy::needless_pass_by_value)] // a `map_err` adaptor
fn codec(e: pco::errors::PcoError) -> StoreError {
    StoreError::Codec(e.to_string())
}

#[allow(clippy::needless_pass_by_value)] // a `map_err` adaptor
fn value_codec(e: super::decimal::CodecError) -> StoreError {
    StoreError::Codec(e.to_string())
}

fn floor_to(ts: UnixSecs, width: i64) -> UnixSecs {
    ts.div_euclid(width) * width
}

/// One series: sealed chunks, an open head and rollups of expired samples.
#[derive(Clone, Debug, Default)]
pub struct Series {
    chunks: Vec<Chunk>,
    head: SeriesData,
    /// Rollups of samples past raw retention, oldest first.
    archive: Vec<Bucket>,
    archive_bucket_secs: i64,
}

impl Series {
    /// Builds a sealed series from samples (non-decreasing timestamps, finite values).
    pub fn from_samples(key: &SeriesKey, ts: &[UnixSecs], values: &[f64]) -> Result<Series, StoreError> {
        let mut series = Series::default();
        series.append_many(key, ts, values)?;
        series.seal()?;
        Ok(series)
    }

    /// Timestamp of the last sample (raw or rolled up), if any.
    pub fn last_ts(&self) -> Option<UnixSecs> {
        self.head
            .ts
            .last()
            .copied()
            .or_else(|| self.chunks.last().map(|c| c.last_ts))
            .or_else(|| self.archive.last().map(|b| b.start))
    }

    fn first_ts(&self) -> Option<UnixSecs> {
        self.archive
            .first()
            .map(|b| b.start)
            .or_else(|| self.chunks.first().map(|c| c.first_ts))
            .or_else(|| self.head.ts.first().copied())
    }

    /// Appends samples; timestamps must not go backwards and values must be finite.
    pub fn append_many(&mut self, key: &SeriesKey, ts: &[UnixSecs], values: &[f64]) -> Result<(), StoreError> {
        if ts.len() != values.len() {
            return Err(StoreError::LengthMismatch { timestamps: ts.len(), values: values.len() });
        }
        let mut last = self.last_ts();
        for (&t, &v) in ts.iter().zip(values) {
            if let Some(last) = last.filter(|l| t < *l) {
                return Err(StoreError::OutOfOrder { key: key.clone(), ts: t, last });
            }
            if !v.is_finite() {
                return Err(StoreError::NotFinite { key: key.clone(), ts: t, value: v });
            }
            last = Some(t);
        }
        let mut start = 0;
        while start < ts.len() {
            let room = CHUNK_SAMPLES - self.head.len();
            let end = (start + room).min(ts.len());
            if self.head.is_empty() && end - start == CHUNK_SAMPLES {
                self.chunks.push(Chunk::encode(&ts[start..end], &values[start..end])?);
            } else {
                self.head.ts.extend_from_slice(&ts[start..end]);
                self.head.values.extend_from_slice(&values[start..end]);
                if self.head.len() == CHUNK_SAMPLES {
                    self.seal()?;
                }
            }
            start = end;
        }
        Ok(())
    }

    /// Compresses the open head into a chunk, even when it is not full.
    pub fn seal(&mut self) -> Result<(), StoreError> {
        if !self.head.is_empty() {
            let chunk = Chunk::encode(&self.head.ts, &self.head.values)?;
            self.chunks.push(chunk);
            self.head = SeriesData::default();
        }
        Ok(())
    }

    /// Number of raw samples held (chunks and head).
    pub fn sample_count(&self) -> usize {
        self.chunks.iter().map(|c| c.summary.count as usize).sum::<usize>() + self.head.len()
    }

    /// Bytes the series occupies: compressed chunks, 16 bytes per head sample, and
    /// 32 bytes per archived rollup.
    pub fn encoded_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.bytes.len()).sum::<usize>() + self.head.len() * 16 + self.archive.len() * 32
    }

    /// Raw samples with `start <= ts < end`.
    pub fn read(&self, start: UnixSecs, end: UnixSecs) -> Result<SeriesData, StoreError> {
        let mut out = SeriesData::default();
        for chunk in self.chunks.iter().filter(|c| c.last_ts >= start && c.first_ts < end) {
            if chunk.first_ts >= start && chunk.last_ts < end {
                chunk.decode_into(&mut out)?;
            } else {
                let data = chunk.decode()?;
                push_range(&mut out, &data, start, end);
            }
        }
        push_range(&mut out, &self.head, start, end);
        Ok(out)
    }

    /// Every raw sample.
    pub fn read_all(&self) -> Result<SeriesData, StoreError> {
        self.read(UnixSecs::MIN, UnixSecs::MAX)
    }

    /// The last sample at or before `at`.
    pub fn value_at(&self, at: UnixSecs) -> Result<Option<(UnixSecs, f64)>, StoreError> {
        if let Some(i) = self.head.ts.partition_point(|t| *t <= at).checked_sub(1) {
            return Ok(Some((self.head.ts[i], self.head.values[i])));
        }
        let n = self.chunks.partition_point(|c| c.first_ts <= at);
        let Some(chunk) = n.checked_sub(1).map(|i| &self.chunks[i]) else {
            return Ok(None);
        };
        if chunk.last_ts <= at {
            // The last value is not in the summary; decode (rare: only past the end).
            let data = chunk.decode()?;
            return Ok(data.ts.last().copied().zip(data.values.last().copied()));
        }
        let data = chunk.decode()?;
        let i = data.ts.partition_point(|t| *t <= at);
        Ok(i.checked_sub(1).map(|i| (data.ts[i], data.values[i])))
    }

    /// Aggregates samples with `start <= ts < end` into buckets `bucket_secs` wide
    /// (aligned to multiples of the width), using chunk summaries where a whole chunk
    /// falls in one bucket and archived rollups for expired history. Empty buckets are
    /// omitted; the result is sorted by start.
    pub fn rollup(&self, start: UnixSecs, end: UnixSecs, bucket_secs: i64) -> Result<Vec<Bucket>, StoreError> {
        let width = bucket_secs.max(1);
        let mut buckets: BTreeMap<UnixSecs, Bucket> = BTreeMap::new();
        let add = |buckets: &mut BTreeMap<UnixSecs, Bucket>, ts: UnixSecs, v: f64| {
            let b = floor_to(ts, width);
            buckets.entry(b).and_modify(|bucket| bucket.add(v)).or_insert_with(|| Bucket::single(b, v));
        };
        for chunk in self.chunks.iter().filter(|c| c.last_ts >= start && c.first_ts < end) {
            let inside = chunk.first_ts >= start && chunk.last_ts < end;
            if inside && floor_to(chunk.first_ts, width) == floor_to(chunk.last_ts, width) {
                let b = floor_to(chunk.first_ts, width);
                let mut summary = chunk.summary;
                summary.start = b;
                buckets.entry(b).and_modify(|bucket| bucket.merge(&summary)).or_insert(summary);
                continue;
            }
            let data = chunk.decode()?;
            for (t, v) in data.ts.iter().zip(&data.values) {
                if *t >= start && *t < end {
                    add(&mut buckets, *t, *v);
                }
            }
        }
        for (t, v) in self.head.ts.iter().zip(&self.head.values) {
            if *t >= start && *t < end {
                add(&mut buckets, *t, *v);
            }
        }
        // An archived bucket counts when it overlaps the range (its samples are no longer
        // known individually).
        let archive_width = self.archive_bucket_secs.max(1);
        for archived in self.archive.iter().filter(|b| b.start + archive_width > start && b.start < end) {
            let b = floor_to(archived.start, width);
            let mut bucket = *archived;
            bucket.start = b;
            buckets.entry(b).and_modify(|x| x.merge(&bucket)).or_insert(bucket);
        }
        Ok(buckets.into_values().collect())
    }

    /// Moves raw chunks that end before `now - raw_secs` into rollup buckets and drops
    /// rollups older than `now - rollup_keep_secs`. Returns the number of raw samples
    /// that were rolled up.
    pub fn apply_retention(&mut self, now: UnixSecs, policy: &RetentionPolicy) -> Result<usize, StoreError> {
        let width = policy.rollup_bucket_secs.max(1);
        if self.archive_bucket_secs != width && !self.archive.is_empty() {
            return Err(StoreError::Codec("rollup width changed under existing rollups".into()));
        }
        self.archive_bucket_secs = width;
        let raw_cutoff = now - policy.raw_secs;
        let expired = self.chunks.partition_point(|c| c.last_ts < raw_cutoff);
        let mut rolled = 0;
        for chunk in self.chunks.drain(..expired) {
            let data = chunk.decode()?;
            rolled += data.len();
            for (t, v) in data.ts.iter().zip(&data.values) {
                let b = floor_to(*t, width);
                match self.archive.last_mut() {
                    Some(last) if last.start == b => last.add(*v),
                    _ => self.archive.push(Bucket::single(b, *v)),
                }
            }
        }
        let keep_cutoff = now - policy.rollup_keep_secs;
        let dropped = self.archive.partition_point(|b| b.start < keep_cutoff);
        self.archive.drain(..dropped);
        Ok(rolled)
    }
}

fn push_range(out: &mut SeriesData, data: &SeriesData, start: UnixSecs, end: UnixSecs) {
    let lo = data.ts.partition_point(|t| *t < start);
    let hi = data.ts.partition_point(|t| *t < end);
    out.ts.extend_from_slice(&data.ts[lo..hi]);
    out.values.extend_from_slice(&data.values[lo..hi]);
}

/// Size figures of a store.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StoreStats {
    /// Number of series.
    pub series: usize,
    /// Raw samples held.
    pub samples: usize,
    /// Size of the samples uncompressed: 16 bytes each (i64 timestamp + f64 value).
    pub raw_bytes: usize,
    /// Size held in memory by chunks, heads and rollups.
    pub encoded_bytes: usize,
}

impl StoreStats {
    /// Encoded bytes per raw sample.
    pub fn bytes_per_sample(&self) -> f64 {
        if self.samples == 0 { 0.0 } else { self.encoded_bytes as f64 / self.samples as f64 }
    }
}

/// All series of a scenario or a live session.
#[derive(Clone, Debug, Default)]
pub struct TelemetryStore {
    series: BTreeMap<SeriesKey, Series>,
    retention: RetentionPolicy,
}

impl TelemetryStore {
    /// An empty store with the default retention.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with a given retention policy.
    pub fn with_retention(retention: RetentionPolicy) -> Self {
        Self { series: BTreeMap::new(), retention }
    }

    /// The retention policy.
    pub fn retention(&self) -> RetentionPolicy {
        self.retention
    }

    /// Appends one sample.
    pub fn append(&mut self, key: &SeriesKey, ts: UnixSecs, value: f64) -> Result<(), StoreError> {
        self.append_many(key, &[ts], &[value])
    }

    /// Appends samples to a series, creating it if needed.
    pub fn append_many(&mut self, key: &SeriesKey, ts: &[UnixSecs], values: &[f64]) -> Result<(), StoreError> {
        self.series.entry(key.clone()).or_default().append_many(key, ts, values)
    }

    /// Puts a whole series in place (replacing any series under the key).
    pub fn insert_series(&mut self, key: SeriesKey, series: Series) {
        self.series.insert(key, series);
    }

    /// Compresses every open head.
    pub fn seal(&mut self) -> Result<(), StoreError> {
        self.series.values_mut().try_for_each(Series::seal)
    }

    /// A series by key.
    pub fn series(&self, key: &SeriesKey) -> Option<&Series> {
        self.series.get(key)
    }

    /// All series keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &SeriesKey> + '_ {
        self.series.keys()
    }

    /// Metric names of one twin, sorted.
    pub fn metrics_of<'a>(&'a self, twin: &'a super::TwinId) -> impl Iterator<Item = &'a super::MetricName> + 'a {
        self.series.keys().filter(move |k| &k.twin == twin).map(|k| &k.metric)
    }

    /// Distinct metric names across all series, sorted.
    pub fn metric_names(&self) -> Vec<super::MetricName> {
        let mut names: Vec<_> = self.series.keys().map(|k| k.metric.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Earliest and latest timestamp over all series.
    pub fn span(&self) -> Option<(UnixSecs, UnixSecs)> {
        let first = self.series.values().filter_map(Series::first_ts).min()?;
        let last = self.series.values().filter_map(Series::last_ts).max()?;
        Some((first, last))
    }

    /// Size figures.
    pub fn stats(&self) -> StoreStats {
        let samples: usize = self.series.values().map(Series::sample_count).sum();
        StoreStats {
            series: self.series.len(),
            samples,
            raw_bytes: samples * 16,
            encoded_bytes: self.series.values().map(Series::encoded_bytes).sum(),
        }
    }

    /// Applies the retention policy at time `now` to every series. Returns the number
    /// of raw samples rolled up.
    pub fn apply_retention(&mut self, now: UnixSecs) -> Result<usize, StoreError> {
        let policy = self.retention;
        let mut rolled = 0;
        for series in self.series.values_mut() {
            rolled += series.apply_retention(now, &policy)?;
        }
        Ok(rolled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SeriesKey {
        SeriesKey::new("web", "cpu_usage")
    }

    fn sample_series(n: usize) -> (Vec<i64>, Vec<f64>) {
        let ts: Vec<i64> = (0..n as i64).map(|i| 1_700_000_000 + i * 60).collect();
        let values: Vec<f64> =
            (0..n).map(|i| ((i as f64 * 0.37).sin() * 40.0 + 50.0 * 1000.0).round() / 1000.0).collect();
        (ts, values)
    }

    #[test]
    fn round_trip_is_bit_exact_across_chunks() {
        let (ts, mut values) = sample_series(10_000);
        values[17] = -0.0;
        values[18] = f64::MIN_POSITIVE;
        values[19] = 1e300;
        values[20] = 51.846000000000004;
        let mut store = TelemetryStore::new();
        store.append_many(&key(), &ts[..5000], &values[..5000]).unwrap();
        for i in 5000..10_000 {
            store.append(&key(), ts[i], values[i]).unwrap();
        }
        let back = store.series(&key()).unwrap().read_all().unwrap();
        assert_eq!(back.ts, ts);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.values), bits(&values));
        store.seal().unwrap();
        let back = store.series(&key()).unwrap().read_all().unwrap();
        assert_eq!(bits(&back.values), bits(&values));
        assert_eq!(store.stats().samples, 10_000);
    }

    #[test]
    fn decimal_telemetry_compresses_well() {
        let (ts, values) = sample_series(40_000);
        let series = Series::from_samples(&key(), &ts, &values).unwrap();
        let per_sample = series.encoded_bytes() as f64 / 40_000.0;
        assert!(per_sample < 3.0, "{per_sample} bytes/sample");
    }

    #[test]
    fn rejects_out_of_order_and_nan() {
        let mut store = TelemetryStore::new();
        store.append(&key(), 100, 1.0).unwrap();
        assert!(matches!(store.append(&key(), 99, 1.0), Err(StoreError::OutOfOrder { .. })));
        assert!(matches!(store.append(&key(), 101, f64::NAN), Err(StoreError::NotFinite { .. })));
        // Equal timestamps are kept (duplicates are data, not an error).
        store.append(&key(), 100, 2.0).unwrap();
        assert_eq!(store.stats().samples, 2);
    }

    #[test]
    fn range_reads_and_value_at() {
        let (ts, values) = sample_series(9000);
        let series = Series::from_samples(&key(), &ts, &values).unwrap();
        let part = series.read(ts[4000], ts[4200]).unwrap();
        assert_eq!(part.ts, &ts[4000..4200]);
        assert_eq!(part.values, &values[4000..4200]);
        assert_eq!(series.value_at(ts[5000] + 30).unwrap(), Some((ts[5000], values[5000])));
        assert_eq!(series.value_at(ts[0] - 1).unwrap(), None);
        assert_eq!(series.value_at(i64::MAX).unwrap(), Some((ts[8999], values[8999])));
    }

    #[test]
    fn rollups_match_a_direct_aggregation() {
        let (ts, values) = sample_series(20_000);
        let series = Series::from_samples(&key(), &ts, &values).unwrap();
        for width in [60, 3600, 86_400, 400_000] {
            let buckets = series.rollup(ts[100], ts[19_000], width).unwrap();
            let mut expected: BTreeMap<i64, Bucket> = BTreeMap::new();
            for i in 100..19_000 {
                let b = floor_to(ts[i], width);
                expected.entry(b).and_modify(|x| x.add(values[i])).or_insert(Bucket::single(b, values[i]));
            }
            assert_eq!(buckets.len(), expected.len());
            for (got, want) in buckets.iter().zip(expected.values()) {
                assert_eq!((got.start, got.count, got.min, got.max), (want.start, want.count, want.min, want.max));
                assert!((got.sum - want.sum).abs() < 1e-6 * want.sum.abs().max(1.0));
            }
        }
    }

    #[test]
    fn retention_rolls_old_chunks_into_hourly_buckets() {
        let (ts, values) = sample_series(20_000);
        let policy =
            RetentionPolicy { raw_secs: 5 * DAY_SECS, rollup_bucket_secs: HOUR_SECS, rollup_keep_secs: 400 * DAY_SECS };
        let mut store = TelemetryStore::with_retention(policy);
        store.append_many(&key(), &ts, &values).unwrap();
        store.seal().unwrap();
        let now = ts[19_999];
        let rolled = store.apply_retention(now).unwrap();
        assert!(rolled > 0 && rolled.is_multiple_of(CHUNK_SAMPLES));
        let series = store.series(&key()).unwrap();
        assert_eq!(series.sample_count(), 20_000 - rolled);
        // Hourly totals over all history are unchanged by retention.
        let all = series.rollup(ts[0], now + 1, 400 * DAY_SECS).unwrap();
        assert_eq!(all.iter().map(|b| b.count).sum::<u32>(), 20_000);
        assert!(series.read_all().unwrap().ts[0] >= now - 5 * DAY_SECS - CHUNK_SAMPLES as i64 * 60);
    }
}
