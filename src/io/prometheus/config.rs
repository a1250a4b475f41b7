//! Configuration from query results: how a sample or label value becomes a typed
//! [`ConfigValue`], and how the values of a `config:` entry on the query grid become
//! configuration events — the value at the start of the window, then one event per
//! change, at the first grid time the new value is seen.
//!
//! The rules, in the order they apply to one answer of one entry:
//! - **Twin**: as for series (`twin_label` or `twin`); a series without a usable twin
//!   label, or without the `from_label` label, is skipped with a warning.
//! - **Several series for one twin**: at each grid time the series that appeared most
//!   recently wins (its first grid time seen, remembered across requests; ties go to
//!   the smaller label set). This is what an info metric needs: when `release` changes,
//!   `node_uname_info` becomes a new series, while the old one can still answer for
//!   Prometheus' 5-minute lookback when no staleness marker ended it.
//! - **Changes**: a value equal to the key's current one is no change, so replayed or
//!   overlapping answers (a retry, a reconnect) add nothing; a grid time at or before
//!   the key's last one is never read twice.
//! - **Start of the window**: the first value of a key, when seen at the first grid
//!   time of the entry's first request, is the twin's configuration before history
//!   (`baseline`); first seen later, it is a change from "absent" at that time.
//! - **Gone**: a key whose series disappears keeps its last value. A scrape gap, an
//!   exporter restart or a twin that stops reporting is not a configuration change, and
//!   drift should compare what was last known.
//! - **One owner**: a (twin, key) belongs to the entry that reported it first; another
//!   entry giving the same key of the same twin is ignored with a warning.

use std::collections::{BTreeMap, BTreeSet};

use super::client::Matrix;
use super::mapping::{ConfigMapping, ConfigSource, TwinSelector};
use super::{format_labels, twin_id_from};
use crate::model::{ConfigValue, TwinId, UnixSecs};

/// Largest magnitude below which every integer is an exact f64 (2⁵³).
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// A sample value as a configuration value: an integer when it is integral and at most
/// 2⁵³ in magnitude (`500.0` → `Int(500)`, `-0.0` → `Int(0)`), else a float; `None`
/// for NaN and infinities.
pub fn value_from_sample(v: f64) -> Option<ConfigValue> {
    if !v.is_finite() {
        return None;
    }
    if v.fract() == 0.0 && v.abs() <= EXACT_INT {
        // Exact: integral and within the range where f64 holds every integer.
        return Some(ConfigValue::Int(v as i64));
    }
    Some(ConfigValue::Float(v))
}

/// A label value as a configuration value: `true`/`false` exactly become booleans, an
/// integer written canonically (`15`, `-3`; not `015`, `+3` or `-0`) becomes an
/// integer, anything else stays text. Never a float: label text such as `10.10` is a
/// version, and reading it as 10.1 would lose what it says.
pub fn value_from_label(text: &str) -> ConfigValue {
    match text {
        "true" => return ConfigValue::Bool(true),
        "false" => return ConfigValue::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>()
        && i.to_string() == text
    {
        return ConfigValue::Int(i);
    }
    ConfigValue::Str(text.to_string())
}

/// One configuration value to report.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigUpdate {
    /// The twin.
    pub twin: TwinId,
    /// The key.
    pub key: String,
    /// The first grid time the value was seen.
    pub at: UnixSecs,
    /// The value.
    pub value: ConfigValue,
    /// True when this is the key's value at the start of the window (no change entry).
    pub baseline: bool,
}

/// What one answer of a config query gives.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigAnswer {
    /// Twins the answer names, sorted (reported before their updates).
    pub twins: Vec<TwinId>,
    /// Values to report, per twin in id order and in time order within a twin.
    pub updates: Vec<ConfigUpdate>,
    /// Problems worth telling the user (each at most once is up to the caller).
    pub warnings: Vec<String>,
    /// Grid points dropped because they were at or before the key's last one.
    pub duplicates: u64,
    /// Grid points dropped because the sample value was NaN or infinite.
    pub non_finite: u64,
}

#[derive(Clone, Debug)]
struct KeyState {
    /// The entry that owns the key of this twin.
    entry: usize,
    value: ConfigValue,
    last_ts: UnixSecs,
}

/// The change detector of the `config:` entries of one source.
#[derive(Debug, Default)]
pub struct ConfigTracker {
    keys: BTreeMap<(TwinId, String), KeyState>,
    /// Per (entry, label set): the first grid time the series was seen.
    first_seen: BTreeMap<(usize, String), UnixSecs>,
}

impl ConfigTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns one answer of entry `entry` (mapping `m`) into updates. `origin` is the
    /// first grid time of the entry's first request (values seen there are the
    /// baseline); samples after `chunk_end` are ignored (they belong to the next
    /// request).
    pub fn ingest(
        &mut self,
        entry: usize,
        m: &ConfigMapping,
        matrix: &Matrix,
        origin: UnixSecs,
        chunk_end: UnixSecs,
    ) -> ConfigAnswer {
        let mut answer = ConfigAnswer::default();
        let mut series: Vec<_> = matrix.series.iter().collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        // Per twin, per grid time: (first seen of the series, value).
        let mut candidates: BTreeMap<TwinId, BTreeMap<UnixSecs, (UnixSecs, ConfigValue)>> = BTreeMap::new();
        let mut present = BTreeSet::new();
        for s in series {
            let labels = format_labels(&s.labels);
            let twin = match &m.twin {
                TwinSelector::Fixed(id) => id.clone(),
                TwinSelector::Label(label) => match s.labels.get(label).and_then(|v| twin_id_from(v)) {
                    Some(id) => id,
                    None => {
                        answer.warnings.push(format!(
                            "config query `{}`: a series has no usable label `{label}` ({labels}); it is skipped",
                            m.query
                        ));
                        continue;
                    }
                },
            };
            let label_value = match &m.source {
                ConfigSource::Value => None,
                ConfigSource::Label(name) => match s.labels.get(name).filter(|v| !v.is_empty()) {
                    Some(v) => Some(value_from_label(v)),
                    None => {
                        answer.warnings.push(format!(
                            "config query `{}`: a series has no label `{name}` for key {} ({labels}); it is skipped",
                            m.query, m.key
                        ));
                        continue;
                    }
                },
            };
            let mut points: Vec<(UnixSecs, f64)> =
                s.samples.iter().map(|(ms, v)| (ms.div_euclid(1000), *v)).filter(|(t, _)| *t <= chunk_end).collect();
            points.sort_by_key(|(t, _)| *t);
            let Some(&(first_t, _)) = points.first() else {
                continue;
            };
            let seen = *self.first_seen.entry((entry, labels.clone())).or_insert(first_t);
            present.insert(labels);
            let per_time = candidates.entry(twin).or_default();
            for (t, v) in points {
                let value = match &label_value {
                    Some(value) => value.clone(),
                    None => match value_from_sample(v) {
                        Some(value) => value,
                        None => {
                            answer.non_finite += 1;
                            continue;
                        }
                    },
                };
                // The newest series wins; on a tie the first (smaller label set) stays.
                match per_time.get(&t) {
                    Some((held, _)) if *held >= seen => {}
                    _ => {
                        per_time.insert(t, (seen, value));
                    }
                }
            }
        }
        // Forget series this entry no longer returns, so the map stays as small as
        // the answer (a series that comes back counts as new, which it is).
        self.first_seen.retain(|(e, labels), _| *e != entry || present.contains(labels));
        for (twin, per_time) in candidates {
            answer.twins.push(twin.clone());
            let slot = (twin.clone(), m.key.clone());
            if let Some(state) = self.keys.get(&slot)
                && state.entry != entry
            {
                answer.warnings.push(format!(
                    "config query `{}` gives key {} of twin {twin}, which an earlier config entry already \
                     reports; it is ignored for this twin",
                    m.query, m.key
                ));
                continue;
            }
            for (t, (_, value)) in per_time {
                match self.keys.get_mut(&slot) {
                    Some(state) if t <= state.last_ts => answer.duplicates += 1,
                    Some(state) => {
                        state.last_ts = t;
                        if state.value != value {
                            state.value = value.clone();
                            answer.updates.push(ConfigUpdate {
                                twin: twin.clone(),
                                key: m.key.clone(),
                                at: t,
                                value,
                                baseline: false,
                            });
                        }
                    }
                    None => {
                        self.keys.insert(slot.clone(), KeyState { entry, value: value.clone(), last_ts: t });
                        answer.updates.push(ConfigUpdate {
                            twin: twin.clone(),
                            key: m.key.clone(),
                            at: t,
                            value,
                            baseline: t == origin,
                        });
                    }
                }
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::prometheus::client::RangeSeries;
    use crate::model::TwinKind;

    #[test]
    fn sample_values_are_integers_when_integral() {
        assert_eq!(value_from_sample(500.0), Some(ConfigValue::Int(500)));
        assert_eq!(value_from_sample(-0.0), Some(ConfigValue::Int(0)));
        assert_eq!(value_from_sample(-3.0), Some(ConfigValue::Int(-3)));
        assert_eq!(value_from_sample(0.25), Some(ConfigValue::Float(0.25)));
        assert_eq!(value_from_sample(EXACT_INT), Some(ConfigValue::Int(9_007_199_254_740_992)));
        assert_eq!(value_from_sample(EXACT_INT * 4.0), Some(ConfigValue::Float(EXACT_INT * 4.0)));
        assert_eq!(value_from_sample(f64::NAN), None);
        assert_eq!(value_from_sample(f64::INFINITY), None);
    }

    #[test]
    fn label_values_are_typed_only_when_exact() {
        assert_eq!(value_from_label("6.1.0-18-amd64"), ConfigValue::Str("6.1.0-18-amd64".into()));
        assert_eq!(value_from_label("15"), ConfigValue::Int(15));
        assert_eq!(value_from_label("-3"), ConfigValue::Int(-3));
        assert_eq!(value_from_label("true"), ConfigValue::Bool(true));
        for text in ["015", "+3", "-0", "10.10", "1e3", "True", " 15", "99999999999999999999", ""] {
            assert_eq!(value_from_label(text), ConfigValue::Str(text.into()), "{text:?}");
        }
    }

    const T0: i64 = 1_767_225_600;

    fn entry(source: ConfigSource) -> ConfigMapping {
        ConfigMapping {
            query: "q".into(),
            key: "max_connections".into(),
            twin: TwinSelector::Label("instance".into()),
            source,
            kind: TwinKind::Database,
            tags: Vec::new(),
        }
    }

    fn series(labels: &[(&str, &str)], points: &[(i64, f64)]) -> RangeSeries {
        RangeSeries {
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            samples: points.iter().map(|(t, v)| (t * 1000, *v)).collect(),
        }
    }

    fn matrix(series: Vec<RangeSeries>) -> Matrix {
        Matrix { series, warnings: Vec::new(), bytes: 0 }
    }

    fn summary(a: &ConfigAnswer) -> Vec<(String, i64, ConfigValue, bool)> {
        a.updates.iter().map(|u| (u.twin.to_string(), u.at - T0, u.value.clone(), u.baseline)).collect()
    }

    #[test]
    fn a_change_is_reported_once_at_the_first_grid_time_it_is_seen() {
        let m = entry(ConfigSource::Value);
        let mut tracker = ConfigTracker::new();
        let points: Vec<(i64, f64)> = (0..10).map(|i| (T0 + i * 60, if i < 6 { 100.0 } else { 500.0 })).collect();
        let answer = tracker.ingest(0, &m, &matrix(vec![series(&[("instance", "db-1")], &points)]), T0, T0 + 540);
        assert_eq!(
            summary(&answer),
            vec![("db-1".into(), 0, ConfigValue::Int(100), true), ("db-1".into(), 360, ConfigValue::Int(500), false)]
        );
        assert_eq!(answer.twins, vec![TwinId::new("db-1")]);
        // The same answer again (a retry, a reconnect): nothing new.
        let again = tracker.ingest(0, &m, &matrix(vec![series(&[("instance", "db-1")], &points)]), T0, T0 + 540);
        assert!(again.updates.is_empty());
        assert_eq!(again.duplicates, 10);
        // A later answer with the same value: no change; a new value: one change.
        let later = series(&[("instance", "db-1")], &[(T0 + 600, 500.0), (T0 + 660, 200.0), (T0 + 720, f64::NAN)]);
        let answer = tracker.ingest(0, &m, &matrix(vec![later]), T0, T0 + 720);
        assert_eq!(summary(&answer), vec![("db-1".into(), 660, ConfigValue::Int(200), false)]);
        assert_eq!(answer.non_finite, 1);
    }

    #[test]
    fn a_key_first_seen_after_the_window_start_is_a_change_from_absent() {
        let m = entry(ConfigSource::Value);
        let mut tracker = ConfigTracker::new();
        let s = series(&[("instance", "db-2")], &[(T0 + 120, 7.5), (T0 + 180, 7.5)]);
        let answer = tracker.ingest(0, &m, &matrix(vec![s]), T0, T0 + 180);
        assert_eq!(summary(&answer), vec![("db-2".into(), 120, ConfigValue::Float(7.5), false)]);
    }

    #[test]
    fn the_newest_series_of_an_info_metric_wins() {
        let mut m = entry(ConfigSource::Label("release".into()));
        m.key = "kernel".into();
        let mut tracker = ConfigTracker::new();
        // The old release lingers five minutes (lookback) after the new one appears.
        let old = series(
            &[("instance", "h"), ("release", "6.1.0-17")],
            &(0..9).map(|i| (T0 + i * 60, 1.0)).collect::<Vec<_>>(),
        );
        let new = series(
            &[("instance", "h"), ("release", "6.1.0-18")],
            &(4..12).map(|i| (T0 + i * 60, 1.0)).collect::<Vec<_>>(),
        );
        let answer = tracker.ingest(0, &m, &matrix(vec![new.clone(), old.clone()]), T0, T0 + 660);
        assert_eq!(
            summary(&answer),
            vec![
                ("h".into(), 0, ConfigValue::Str("6.1.0-17".into()), true),
                ("h".into(), 240, ConfigValue::Str("6.1.0-18".into()), false)
            ]
        );
        // In the next request both series start at its first grid time; the one seen
        // first in the earlier request is still the older one.
        let cut = |s: &RangeSeries| RangeSeries {
            labels: s.labels.clone(),
            samples: s.samples.iter().filter(|(ms, _)| *ms > (T0 + 300) * 1000).copied().collect(),
        };
        let mut tracker2 = ConfigTracker::new();
        let first =
            tracker2.ingest(0, &m, &matrix(vec![cut_before(&old, T0 + 300), cut_before(&new, T0 + 300)]), T0, T0 + 300);
        let second = tracker2.ingest(0, &m, &matrix(vec![cut(&old), cut(&new)]), T0, T0 + 660);
        let mut both = summary(&first);
        both.extend(summary(&second));
        assert_eq!(both, summary(&answer));
    }

    fn cut_before(s: &RangeSeries, end: i64) -> RangeSeries {
        RangeSeries {
            labels: s.labels.clone(),
            samples: s.samples.iter().filter(|(ms, _)| *ms <= end * 1000).copied().collect(),
        }
    }

    #[test]
    fn missing_labels_are_warned_and_a_key_has_one_owner() {
        let m = entry(ConfigSource::Label("release".into()));
        let mut tracker = ConfigTracker::new();
        let answer = tracker.ingest(
            0,
            &m,
            &matrix(vec![series(&[("instance", "a")], &[(T0, 1.0)]), series(&[("release", "x")], &[(T0, 1.0)])]),
            T0,
            T0,
        );
        assert!(answer.updates.is_empty());
        assert_eq!(answer.warnings.len(), 2, "{:?}", answer.warnings);
        let gauge = entry(ConfigSource::Value);
        let s = || matrix(vec![series(&[("instance", "db")], &[(T0, 10.0)])]);
        assert_eq!(tracker.ingest(1, &gauge, &s(), T0, T0).updates.len(), 1);
        let other = tracker.ingest(2, &gauge, &s(), T0, T0);
        assert!(other.updates.is_empty());
        assert!(other.warnings[0].contains("earlier config entry"), "{:?}", other.warnings);
    }
}
