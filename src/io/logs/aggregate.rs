//! Per-step aggregation of parsed lines into series, in one pass with bounded memory.
//!
//! Lines arrive roughly in time order. Every (step, twin) with lines that may still
//! change is *open*; a step closes when the newest line read is `max_delay` past its
//! end, and its samples are emitted then, so what is held is the open steps' state
//! (counters, sums and, for percentiles, the step's values), never the file. A line
//! for a step already closed is *late*: counted and reported, not used. Because steps
//! close in time order, every series comes out sorted, however the lines within the
//! window were ordered.
//!
//! Counting metrics (`count`, `rate`) also emit 0 for the steps between a twin's lines
//! that had none (up to [`MAX_ZERO_FILL`] steps; a longer silence is left as a gap):
//! a minute without requests is a request rate of 0, not missing data. `percent` and
//! the value aggregates have no sample for a step without lines (or values).

use std::collections::BTreeMap;

use super::mapping::Aggregate;
use crate::model::SeriesData;

/// Longest run of empty steps filled with zeros for counting metrics.
pub const MAX_ZERO_FILL: i64 = 1440;

/// A parsed line: its time, twin, which metrics' conditions hold and their values.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// Unix seconds.
    pub ts: i64,
    /// Index of the twin.
    pub twin: u32,
    /// Bit `m` set when metric `m` counts this line (its condition holds).
    pub matched: u64,
    /// Per metric, the line's value (value aggregates), NaN when it has none.
    pub values: Vec<f64>,
}

#[derive(Clone, Debug, Default)]
struct MetricState {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
    values: Vec<f64>,
}

#[derive(Clone, Debug)]
struct StepState {
    lines: u64,
    metrics: Vec<MetricState>,
}

/// Turns records into per-twin, per-metric series.
pub struct Aggregator {
    aggregates: Vec<Aggregate>,
    step_secs: i64,
    max_delay_secs: i64,
    newest: i64,
    closed_before: i64,
    open: BTreeMap<(i64, u32), StepState>,
    last_emitted: Vec<Option<i64>>,
    /// Per twin, per metric, the samples emitted.
    out: Vec<Vec<SeriesData>>,
    /// Most steps open at once (a figure of the memory used).
    pub peak_open_steps: usize,
}

impl Aggregator {
    /// An aggregator for metrics with these aggregates.
    pub fn new(aggregates: Vec<Aggregate>, step_secs: i64, max_delay_secs: i64) -> Aggregator {
        Aggregator {
            aggregates,
            step_secs: step_secs.max(1),
            max_delay_secs,
            newest: i64::MIN,
            closed_before: i64::MIN,
            open: BTreeMap::new(),
            last_emitted: Vec::new(),
            out: Vec::new(),
            peak_open_steps: 0,
        }
    }

    fn step_of(&self, ts: i64) -> i64 {
        ts.div_euclid(self.step_secs) * self.step_secs
    }

    /// Adds a line; `false` when it is late (its step has closed) and was not used.
    pub fn push(&mut self, r: &Record) -> bool {
        let step = self.step_of(r.ts);
        if step < self.closed_before {
            return false;
        }
        let metrics = self.aggregates.len();
        let state = self
            .open
            .entry((step, r.twin))
            .or_insert_with(|| StepState { lines: 0, metrics: vec![MetricState::default(); metrics] });
        state.lines += 1;
        for (m, (agg, ms)) in self.aggregates.iter().zip(state.metrics.iter_mut()).enumerate() {
            if agg.counts_lines() {
                ms.n += (r.matched >> m) & 1;
                continue;
            }
            let v = r.values.get(m).copied().unwrap_or(f64::NAN);
            if v.is_nan() {
                continue;
            }
            if ms.n == 0 {
                (ms.min, ms.max) = (v, v);
            } else {
                ms.min = ms.min.min(v);
                ms.max = ms.max.max(v);
            }
            ms.n += 1;
            ms.sum += v;
            if agg.quantile().is_some() {
                ms.values.push(v);
            }
        }
        self.peak_open_steps = self.peak_open_steps.max(self.open.len());
        if r.ts > self.newest {
            self.newest = r.ts;
            let closing = self.step_of(self.newest.saturating_sub(self.max_delay_secs));
            if closing > self.closed_before {
                self.closed_before = closing;
                self.close_before(closing);
            }
        }
        true
    }

    fn close_before(&mut self, limit: i64) {
        while let Some(entry) = self.open.first_entry() {
            if entry.key().0 >= limit {
                break;
            }
            let ((step, twin), state) = entry.remove_entry();
            self.emit(step, twin, state);
        }
    }

    fn emit(&mut self, step: i64, twin: u32, mut state: StepState) {
        let t = twin as usize;
        if self.out.len() <= t {
            self.out.resize_with(t + 1, || vec![SeriesData::default(); self.aggregates.len()]);
            self.last_emitted.resize(t + 1, None);
        }
        let step_secs = self.step_secs;
        if let Some(prev) = self.last_emitted[t] {
            let gap = (step - prev) / step_secs - 1;
            if (1..=MAX_ZERO_FILL).contains(&gap) {
                for (agg, series) in self.aggregates.iter().zip(self.out[t].iter_mut()) {
                    if matches!(agg, Aggregate::Count | Aggregate::Rate) {
                        for k in 1..=gap {
                            series.ts.push(prev + k * step_secs);
                            series.values.push(0.0);
                        }
                    }
                }
            }
        }
        self.last_emitted[t] = Some(step);
        for ((agg, ms), series) in self.aggregates.iter().zip(state.metrics.iter_mut()).zip(self.out[t].iter_mut()) {
            let value = match agg {
                Aggregate::Count => Some(ms.n as f64),
                Aggregate::Rate => Some(ms.n as f64 / step_secs as f64),
                Aggregate::Percent => (state.lines > 0).then(|| 100.0 * ms.n as f64 / state.lines as f64),
                _ if ms.n == 0 => None,
                Aggregate::Avg => Some(ms.sum / ms.n as f64),
                Aggregate::Min => Some(ms.min),
                Aggregate::Max => Some(ms.max),
                Aggregate::Sum => Some(ms.sum),
                Aggregate::P50 | Aggregate::P95 | Aggregate::P99 => {
                    agg.quantile().and_then(|q| nearest_rank(&mut ms.values, q))
                }
            };
            if let Some(v) = value {
                series.ts.push(step);
                series.values.push(v);
            }
        }
    }

    /// Closes every open step and gives the series: per twin, per metric.
    pub fn finish(mut self) -> Vec<Vec<SeriesData>> {
        self.close_before(i64::MAX);
        self.out
    }
}

/// The `q` quantile by nearest rank (the smallest value with at least `q` of the values
/// at or below it), as policies compute `p95`.
pub fn nearest_rank(values: &mut [f64], q: f64) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    let (_, v, _) = values.select_nth_unstable_by(rank - 1, f64::total_cmp);
    Some(*v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts: i64, twin: u32, matched: u64, value: f64) -> Record {
        Record { ts, twin, matched, values: vec![f64::NAN, f64::NAN, value] }
    }

    #[test]
    fn steps_close_in_order_and_late_lines_are_refused() {
        let mut a = Aggregator::new(vec![Aggregate::Rate, Aggregate::Percent, Aggregate::P95], 60, 120);
        // Out of order within the window: sorted by the steps.
        assert!(a.push(&rec(130, 0, 0b11, 2.0)));
        assert!(a.push(&rec(61, 0, 0b01, 1.0)));
        assert!(a.push(&rec(10, 0, 0b01, 5.0)));
        // 400 closes every step before 240; 100 is late now.
        assert!(a.push(&rec(400, 0, 0b01, 3.0)));
        assert!(!a.push(&rec(100, 0, 0b01, 3.0)));
        let out = a.finish();
        let rate = &out[0][0];
        // Steps 0, 60, 120, then zeros for 180, 240, 300 (steps without lines), then 360.
        assert_eq!(rate.ts, vec![0, 60, 120, 180, 240, 300, 360]);
        assert_eq!(rate.values, vec![1.0 / 60.0, 1.0 / 60.0, 1.0 / 60.0, 0.0, 0.0, 0.0, 1.0 / 60.0]);
        let percent = &out[0][1];
        assert_eq!(percent.ts, vec![0, 60, 120, 360]);
        assert_eq!(percent.values, vec![0.0, 0.0, 100.0, 0.0]);
        assert_eq!(out[0][2].values, vec![5.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn nearest_rank_matches_the_policy_definition() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(nearest_rank(&mut v, 0.95), Some(95.0));
        assert_eq!(nearest_rank(&mut [3.0], 0.95), Some(3.0));
        assert_eq!(nearest_rank(&mut [], 0.95), None);
        let mut v = vec![1.0, 2.0];
        assert_eq!(nearest_rank(&mut v, 0.5), Some(1.0));
    }
}
