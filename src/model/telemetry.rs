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
//! fixed-width rollup buckets. "Now" for retention is the data's clock — each series'
//! latest sample ([`TelemetryStore::enforce_retention`]) — never the wall clock,
//! so the same samples always keep the same raw window. Loading a telemetry file, a
//! generated history and ingest apply it once; a live session applies it as samples
//! arrive, at most once per rollup bucket of data time
//! ([`TelemetryStore::maintain_retention`]), which costs a binary search per series.
//! Only whole sealed chunks roll up, so the raw window is `raw_secs` plus at most one
//! chunk.
//!
//! Rollups are kept compressed too: buckets collect in a short open tail and are sealed
//! a week ([`ARCHIVE_BLOCK_BUCKETS`]) at a time into a block (bucket starts as
//! delta-of-delta, counts, and min/max/sum through the value codec), so a year of hourly
//! rollups takes a few bytes per bucket instead of 32 and a long live session's memory
//! stays flat once the raw window is full. Rollups past `rollup_keep_secs` are dropped a
//! block at a time.
//!
//! Reading across the boundary: [`Series::read`] returns raw samples only (the recent
//! part); [`Series::rollup`] returns the archived hourly buckets for the rolled-up part
//! and buckets of the asked width for the raw part, so plots and anything built on
//! rollups span both; [`Series::value_at`] answers from the hourly mean where only
//! rollups remain.

use std::collections::BTreeMap;

use pco::standalone::{simple_compress, simple_decompress};
use pco::{ChunkConfig, DeltaSpec};

use super::{DAY_SECS, HOUR_SECS, SeriesKey, UnixSecs};

/// Samples per compressed chunk.
pub const CHUNK_SAMPLES: usize = 4096;

/// Rollup buckets per sealed archive block (a week of hourly buckets).
pub const ARCHIVE_BLOCK_BUCKETS: usize = 168;

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

/// A sealed run of rollup buckets, compressed column by column.
#[derive(Clone, Debug)]
struct ArchiveBlock {
    first_start: UnixSecs,
    last_start: UnixSecs,
    /// Five streams (starts, counts, min, max, sum), each prefixed by its length (u32 LE).
    bytes: Box<[u8]>,
}

impl ArchiveBlock {
    fn encode(buckets: &[Bucket]) -> Result<ArchiveBlock, StoreError> {
        let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
            return Err(StoreError::Codec("empty archive block".into()));
        };
        let starts: Vec<i64> = buckets.iter().map(|b| b.start).collect();
        let counts: Vec<u32> = buckets.iter().map(|b| b.count).collect();
        let column = |f: fn(&Bucket) -> f64| buckets.iter().map(f).collect::<Vec<f64>>();
        let ts_config = ChunkConfig::default().with_delta_spec(DeltaSpec::TryConsecutive(2));
        let streams = [
            simple_compress(&starts, &ts_config).map_err(codec)?,
            simple_compress(&counts, &ChunkConfig::default()).map_err(codec)?,
            super::decimal::encode(&column(|b| b.min)).map_err(value_codec)?,
            super::decimal::encode(&column(|b| b.max)).map_err(value_codec)?,
            super::decimal::encode(&column(|b| b.sum)).map_err(value_codec)?,
        ];
        let mut bytes = Vec::with_capacity(streams.iter().map(|s| s.len() + 4).sum());
        for stream in &streams {
            let len = u32::try_from(stream.len()).map_err(|e| StoreError::Codec(e.to_string()))?;
            bytes.extend(len.to_le_bytes());
            bytes.extend(stream);
        }
        Ok(ArchiveBlock { first_start: first.start, last_start: last.start, bytes: bytes.into_boxed_slice() })
    }

    fn decode(&self) -> Result<Vec<Bucket>, StoreError> {
        let mut rest: &[u8] = &self.bytes;
        let mut next = || -> Result<&[u8], StoreError> {
            let (len, tail) =
                rest.split_first_chunk::<4>().ok_or_else(|| StoreError::Codec("archive block truncated".into()))?;
            let len = u32::from_le_bytes(*len) as usize;
            if len > tail.len() {
                return Err(StoreError::Codec("archive block truncated".into()));
            }
            let (stream, tail) = tail.split_at(len);
            rest = tail;
            Ok(stream)
        };
        let starts: Vec<i64> = simple_decompress(next()?).map_err(codec)?;
        let counts: Vec<u32> = simple_decompress(next()?).map_err(codec)?;
        let min = super::decimal::decode(next()?).map_err(value_codec)?;
        let max = super::decimal::decode(next()?).map_err(value_codec)?;
        let sum = super::decimal::decode(next()?).map_err(value_codec)?;
        let n = starts.len();
        if [counts.len(), min.len(), max.len(), sum.len()].iter().any(|&l| l != n) {
            return Err(StoreError::Codec("archive block columns disagree".into()));
        }
        Ok((0..n)
            .map(|i| Bucket { start: starts[i], min: min[i], max: max[i], sum: sum[i], count: counts[i] })
            .collect())
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
    /// Sealed rollups of samples past raw retention, oldest first.
    archive_blocks: Vec<ArchiveBlock>,
    /// Rollups not yet sealed into a block, oldest first, all after the blocks' (the
    /// newest stays here when a block is sealed: the next rolled chunk may continue it).
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
            .or_else(|| self.archive_blocks.last().map(|b| b.last_start))
    }

    fn first_ts(&self) -> Option<UnixSecs> {
        self.archive_blocks
            .first()
            .map(|b| b.first_start)
            .or_else(|| self.archive.first().map(|b| b.start))
            .or_else(|| self.chunks.first().map(|c| c.first_ts))
            .or_else(|| self.head.ts.first().copied())
    }

    /// Number of samples that were rolled up (known only through rollup buckets).
    pub fn rolled_up_count(&self) -> Result<usize, StoreError> {
        let mut n: usize = self.archive.iter().map(|b| b.count as usize).sum();
        for block in &self.archive_blocks {
            n += block.decode()?.iter().map(|b| b.count as usize).sum::<usize>();
        }
        Ok(n)
    }

    /// Archived rollups whose bucket overlaps `[start, end)`, oldest first.
    fn archived(&self, start: UnixSecs, end: UnixSecs) -> Result<Vec<Bucket>, StoreError> {
        let width = self.archive_bucket_secs.max(1);
        let overlaps = |b: &Bucket| b.start.saturating_add(width) > start && b.start < end;
        let mut out = Vec::new();
        for block in
            self.archive_blocks.iter().filter(|b| b.last_start.saturating_add(width) > start && b.first_start < end)
        {
            out.extend(block.decode()?.into_iter().filter(|b| overlaps(b)));
        }
        out.extend(self.archive.iter().filter(|b| overlaps(b)));
        Ok(out)
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
                    // A series that fills its head keeps growing (a live session): keep
                    // the head's buffers for the next chunk instead of reallocating them.
                    self.chunks.push(Chunk::encode(&self.head.ts, &self.head.values)?);
                    self.head.ts.clear();
                    self.head.values.clear();
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

    /// Bytes the series occupies: compressed chunks, 16 bytes per head sample, sealed
    /// rollup blocks, and 32 bytes per rollup in the open tail.
    pub fn encoded_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.bytes.len()).sum::<usize>()
            + self.head.len() * 16
            + self.archive_blocks.iter().map(|b| b.bytes.len()).sum::<usize>()
            + self.archive.len() * 32
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

    /// The last sample at or before `at`; where only rollups remain, the mean of the
    /// last rollup bucket starting at or before `at` (timed at the bucket's start).
    pub fn value_at(&self, at: UnixSecs) -> Result<Option<(UnixSecs, f64)>, StoreError> {
        if let Some(i) = self.head.ts.partition_point(|t| *t <= at).checked_sub(1) {
            return Ok(Some((self.head.ts[i], self.head.values[i])));
        }
        let n = self.chunks.partition_point(|c| c.first_ts <= at);
        let Some(chunk) = n.checked_sub(1).map(|i| &self.chunks[i]) else {
            if let Some(b) = self.archive.iter().rfind(|b| b.start <= at) {
                return Ok(Some((b.start, b.avg())));
            }
            let n = self.archive_blocks.partition_point(|b| b.first_start <= at);
            let Some(block) = n.checked_sub(1).map(|i| &self.archive_blocks[i]) else {
                return Ok(None);
            };
            let buckets = block.decode()?;
            return Ok(buckets.iter().rfind(|b| b.start <= at).map(|b| (b.start, b.avg())));
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
        // known individually). Asked for a finer width than the archive's, the old part
        // comes back at the archive's width (one bucket per archived hour).
        for mut bucket in self.archived(start, end)? {
            let b = floor_to(bucket.start, width);
            bucket.start = b;
            buckets.entry(b).and_modify(|x| x.merge(&bucket)).or_insert(bucket);
        }
        Ok(buckets.into_values().collect())
    }

    /// Moves raw chunks that end before `now - raw_secs` into rollup buckets, seals
    /// full weeks of rollups into compressed blocks, and drops rollup blocks that end
    /// before `now - rollup_keep_secs` (and tail buckets, once no block is left).
    /// Returns the number of raw samples that were rolled up.
    pub fn apply_retention(&mut self, now: UnixSecs, policy: &RetentionPolicy) -> Result<usize, StoreError> {
        let width = policy.rollup_bucket_secs.max(1);
        if self.archive_bucket_secs != width && !(self.archive.is_empty() && self.archive_blocks.is_empty()) {
            return Err(StoreError::Codec("rollup width changed under existing rollups".into()));
        }
        self.archive_bucket_secs = width;
        let raw_cutoff = now.saturating_sub(policy.raw_secs);
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
        while self.archive.len() > ARCHIVE_BLOCK_BUCKETS {
            // Keep the newest bucket open: the next chunk may continue its hour.
            let block = ArchiveBlock::encode(&self.archive[..ARCHIVE_BLOCK_BUCKETS])?;
            self.archive_blocks.push(block);
            self.archive.drain(..ARCHIVE_BLOCK_BUCKETS);
        }
        let keep_cutoff = now.saturating_sub(policy.rollup_keep_secs);
        let dropped_blocks = self.archive_blocks.partition_point(|b| b.last_start < keep_cutoff);
        self.archive_blocks.drain(..dropped_blocks);
        if self.archive_blocks.is_empty() {
            let dropped = self.archive.partition_point(|b| b.start < keep_cutoff);
            self.archive.drain(..dropped);
        }
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
    /// The data time retention was last applied at (see [`Self::maintain_retention`]).
    retention_applied_at: Option<UnixSecs>,
}

impl TelemetryStore {
    /// An empty store with the default retention.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with a given retention policy.
    pub fn with_retention(retention: RetentionPolicy) -> Self {
        Self { series: BTreeMap::new(), retention, retention_applied_at: None }
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
        self.retention_applied_at = Some(now);
        Ok(rolled)
    }

    /// The latest sample time over all series: the data's clock.
    pub fn latest_ts(&self) -> Option<UnixSecs> {
        self.series.values().filter_map(Series::last_ts).max()
    }

    /// Applies retention to each series with "now" at that series' own latest sample:
    /// a file that merges series of different periods keeps each one's last raw
    /// window, and in a live session, where all series advance together, it is the
    /// session's clock. Returns the number of raw samples rolled up.
    pub fn enforce_retention(&mut self) -> Result<usize, StoreError> {
        let policy = self.retention;
        let mut rolled = 0;
        for series in self.series.values_mut() {
            if let Some(now) = series.last_ts() {
                rolled += series.apply_retention(now, &policy)?;
            }
        }
        self.retention_applied_at = self.latest_ts();
        Ok(rolled)
    }

    /// [`Self::enforce_retention`] when the data's clock has moved at least one rollup
    /// bucket since retention was last applied: cheap enough to call after every batch
    /// of a live session.
    pub fn maintain_retention(&mut self) -> Result<usize, StoreError> {
        let Some(now) = self.latest_ts() else {
            return Ok(0);
        };
        let due = self.retention_applied_at.is_none_or(|at| now - at >= self.retention.rollup_bucket_secs.max(1));
        if due { self.enforce_retention() } else { Ok(0) }
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

    /// `days` of one sample a minute from `t0`, values with two decimals.
    fn minutes(t0: i64, days: i64) -> (Vec<i64>, Vec<f64>) {
        let n = (days * DAY_SECS / 60) as usize;
        let ts: Vec<i64> = (0..n as i64).map(|i| t0 + i * 60).collect();
        let values = (0..n).map(|i| ((i as f64 * 0.01).sin() * 30.0 * 100.0 + 5000.0).round() / 100.0).collect();
        (ts, values)
    }

    #[test]
    fn rollups_span_rolled_up_and_raw_history() {
        let t0 = 1_700_000_400 - 1_700_000_400 % HOUR_SECS;
        let (ts, values) = minutes(t0, 40);
        let mut store = TelemetryStore::new();
        store.append_many(&key(), &ts, &values).unwrap();
        store.seal().unwrap();
        let rolled = store.enforce_retention().unwrap();
        let series = store.series(&key()).unwrap();
        let raw = series.read_all().unwrap();
        // The raw window is 35 days plus at most one chunk; the rest is rolled up.
        assert!(rolled > 0 && rolled + raw.len() == ts.len());
        assert_eq!(series.rolled_up_count().unwrap(), rolled);
        assert_eq!(raw.ts[..], ts[rolled..]);
        let last = *ts.last().unwrap();
        assert!(raw.ts[0] <= last - 35 * DAY_SECS && raw.ts[0] > last - 35 * DAY_SECS - CHUNK_SAMPLES as i64 * 60);
        // Asked at one minute over everything: hourly buckets where only rollups remain,
        // one bucket per sample for the raw part, nothing lost.
        let buckets = series.rollup(t0, last + 1, 60).unwrap();
        assert_eq!(buckets.iter().map(|b| b.count as usize).sum::<usize>(), ts.len());
        let boundary = raw.ts[0];
        for b in &buckets {
            if b.start + HOUR_SECS <= boundary {
                assert_eq!((b.start % HOUR_SECS, b.count), (0, 60), "{b:?}");
            } else if b.start >= boundary {
                assert_eq!(b.count, 1, "{b:?}");
            }
        }
        // The hourly rollups agree with the samples they replaced.
        let hour = 3;
        let old = &buckets[hour];
        let want = &values[hour * 60..(hour + 1) * 60];
        assert_eq!(old.start, t0 + hour as i64 * HOUR_SECS);
        assert_eq!(old.min, want.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(old.max, want.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        // A point in the rolled-up past reads as its hour's mean; the raw part as itself.
        let (at, mean) = series.value_at(old.start + 1234).unwrap().unwrap();
        assert_eq!((at, mean), (old.start, old.avg()));
        assert_eq!(series.value_at(ts[ts.len() - 10]).unwrap(), Some((ts[ts.len() - 10], values[values.len() - 10])));
        assert_eq!(series.value_at(t0 - 1).unwrap(), None);
        assert_eq!(store.span(), Some((t0, last)));
    }

    #[test]
    fn archived_rollups_are_sealed_compressed_and_expire_by_the_block() {
        let t0 = 1_700_002_800;
        let (ts, values) = minutes(t0, 60);
        let policy =
            RetentionPolicy { raw_secs: DAY_SECS, rollup_bucket_secs: HOUR_SECS, rollup_keep_secs: 400 * DAY_SECS };
        let mut store = TelemetryStore::with_retention(policy);
        // Fed a day at a time, as a long session would be.
        for day in ts.chunks(1440).zip(values.chunks(1440)) {
            store.append_many(&key(), day.0, day.1).unwrap();
            store.maintain_retention().unwrap();
        }
        let series = store.series(&key()).unwrap();
        assert!(series.archive_blocks.len() >= 7, "{} blocks", series.archive_blocks.len());
        assert!(series.archive.len() <= ARCHIVE_BLOCK_BUCKETS);
        let archived_buckets = series.archive_blocks.len() * ARCHIVE_BLOCK_BUCKETS + series.archive.len();
        let archive_bytes = series.encoded_bytes()
            - series.chunks.iter().map(|c| c.bytes.len()).sum::<usize>()
            - series.head.len() * 16;
        assert!(archive_bytes * 2 < archived_buckets * 32, "{archive_bytes} bytes for {archived_buckets} buckets");
        // Daily totals over the whole history match a direct aggregation.
        let last = *ts.last().unwrap();
        let days = series.rollup(t0, last + 1, DAY_SECS).unwrap();
        let mut want: BTreeMap<i64, Bucket> = BTreeMap::new();
        for (t, v) in ts.iter().zip(&values) {
            let b = floor_to(*t, DAY_SECS);
            want.entry(b).and_modify(|x| x.add(*v)).or_insert(Bucket::single(b, *v));
        }
        assert_eq!(days.len(), want.len());
        for (got, want) in days.iter().zip(want.values()) {
            assert_eq!((got.start, got.count, got.min, got.max), (want.start, want.count, want.min, want.max));
            assert!((got.sum - want.sum).abs() < 1e-9 * want.sum.abs());
        }
        // Rollups past the keep window go a week at a time.
        let mut short = store.clone();
        short.retention.rollup_keep_secs = 20 * DAY_SECS;
        short.apply_retention(last).unwrap();
        let kept = short.series(&key()).unwrap();
        let first_kept = kept.first_ts().unwrap();
        assert!(first_kept > last - 20 * DAY_SECS - 7 * DAY_SECS && first_kept <= last - 20 * DAY_SECS);
        assert!(kept.rolled_up_count().unwrap() < series.rolled_up_count().unwrap());
    }

    #[test]
    fn maintenance_runs_once_per_rollup_bucket_of_data_time() {
        let (ts, values) = minutes(1_700_000_000, 40);
        let mut store = TelemetryStore::new();
        assert_eq!(store.maintain_retention().unwrap(), 0);
        store.append_many(&key(), &ts[..100], &values[..100]).unwrap();
        store.maintain_retention().unwrap();
        let first = store.retention_applied_at;
        assert_eq!(first, Some(ts[99]));
        store.append_many(&key(), &ts[100..150], &values[100..150]).unwrap();
        store.maintain_retention().unwrap();
        assert_eq!(store.retention_applied_at, first, "within the hour: not yet");
        store.append_many(&key(), &ts[150..], &values[150..]).unwrap();
        assert!(store.maintain_retention().unwrap() > 0);
        assert_eq!(store.retention_applied_at, ts.last().copied());
    }
}
