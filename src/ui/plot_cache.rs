//! Plot data for metric series, drawn from store rollups and cached: a month of minute
//! samples becomes about one bucket per pixel, and a zoomed-in view gets finer
//! buckets (down to raw samples) for just the visible range.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{SeriesKey, StoreError, TelemetryStore, UnixSecs};

/// Points of one plotted series.
#[derive(Debug, Default)]
pub struct PlotData {
    /// Bucket start times (seconds).
    pub xs: Vec<f64>,
    /// Mean per bucket.
    pub avg: Vec<f64>,
    /// Minimum per bucket.
    pub min: Vec<f64>,
    /// Maximum per bucket.
    pub max: Vec<f64>,
    /// Bucket width; equal to the resolution when these are raw samples.
    pub bucket_secs: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    bucket: i64,
    start: UnixSecs,
    end: UnixSecs,
}

/// Cache of plot data per series.
#[derive(Default)]
pub struct PlotCache {
    entries: BTreeMap<SeriesKey, (Window, Arc<PlotData>)>,
}

const NICE: [i64; 16] =
    [60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800, 2_592_000, 31_536_000];

impl PlotCache {
    /// Drops everything (new scenario).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Plot data for `key` covering the view `[view_start, view_end]` at about one
    /// bucket per `px_per_bucket` pixels of `width_px`.
    pub fn get(
        &mut self,
        store: &TelemetryStore,
        key: &SeriesKey,
        view: (f64, f64),
        width_px: f32,
        resolution_secs: i64,
    ) -> Result<Arc<PlotData>, StoreError> {
        let span = (view.1 - view.0).max(1.0);
        let wanted = span / f64::from(width_px.max(50.0)) * 1.5;
        let bucket = NICE
            .iter()
            .copied()
            .find(|b| *b as f64 >= wanted)
            .unwrap_or(NICE[NICE.len() - 1])
            .max(resolution_secs.max(1));
        // Fetch half a view either side, aligned so small pans reuse the cache.
        let align = bucket * 64;
        let start = ((view.0 - span / 2.0) as i64).div_euclid(align) * align;
        let end = ((view.1 + span / 2.0) as i64).div_euclid(align) * align + align;
        let window = Window { bucket, start, end };
        if let Some((w, data)) = self.entries.get(key)
            && *w == window
        {
            return Ok(Arc::clone(data));
        }
        let mut data = PlotData { bucket_secs: bucket, ..PlotData::default() };
        if let Some(series) = store.series(key) {
            for b in series.rollup(start, end, bucket)? {
                data.xs.push(b.start as f64);
                data.avg.push(b.avg());
                data.min.push(b.min);
                data.max.push(b.max);
            }
        }
        let data = Arc::new(data);
        self.entries.insert(key.clone(), (window, Arc::clone(&data)));
        Ok(data)
    }
}

/// Grid marks for a time axis: the largest round step (minute … year) giving at most
/// about eight marks, plus one finer level.
pub fn time_marks(bounds: (f64, f64)) -> Vec<egui_plot::GridMark> {
    let span = (bounds.1 - bounds.0).max(1.0);
    let major = NICE.iter().copied().find(|s| span / *s as f64 <= 8.0).unwrap_or(NICE[NICE.len() - 1]);
    let minor = NICE.iter().copied().rev().find(|s| *s < major && span / (*s as f64) <= 40.0);
    let mut marks = Vec::new();
    for step in [Some(major), minor].into_iter().flatten() {
        let first = (bounds.0 as i64).div_euclid(step) * step;
        let mut t = first;
        while (t as f64) <= bounds.1 && marks.len() < 400 {
            if t as f64 >= bounds.0 {
                marks.push(egui_plot::GridMark { value: t as f64, step_size: step as f64 });
            }
            t += step;
        }
    }
    marks
}
