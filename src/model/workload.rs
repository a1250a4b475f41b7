//! Workload models: the declared shape of a metric over time (base level, daily and
//! weekly seasonality, trend, autocorrelated noise, incidents) and how it couples to
//! the twin's load. History is generated from them deterministically (`sim::history`)
//! and the simulation engine drives metrics with them. A model is written by hand in a
//! scenario or learned from history (`analytics::learn`); a learned one says so in
//! [`WorkloadModel::learned`], with what it was learned from and how faithful it is.

use std::f64::consts::TAU;

use super::{DAY_SECS, UnixSecs};

/// What an incident does to a metric while it lasts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum IncidentEffect {
    /// Adds up to this amount, rising and falling linearly (a triangle).
    Spike(f64),
    /// Adds this amount for the whole incident.
    Shift(f64),
    /// Adds an amount growing linearly from 0 to this by the end (a leak).
    Ramp(f64),
    /// Multiplies the value.
    Scale(f64),
    /// The twin is down: the metric sits at its minimum and the twin's status is down.
    Outage,
}

/// A time-bounded event in a workload model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Incident {
    /// Start time.
    pub start: UnixSecs,
    /// Duration in seconds (> 0).
    pub duration_secs: i64,
    /// What it does.
    pub effect: IncidentEffect,
}

impl Incident {
    /// End time (exclusive).
    pub fn end(&self) -> UnixSecs {
        self.start + self.duration_secs
    }

    /// Whether the incident is active at `t`.
    pub fn active_at(&self, t: UnixSecs) -> bool {
        t >= self.start && t < self.end()
    }
}

/// The distribution of the noise's innovations (unit variance either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoiseTails {
    /// Gaussian.
    Normal,
    /// Student's t with this many degrees of freedom (3, 5 or 10), scaled to unit
    /// variance: heavier tails, so rare large deviations happen as in real telemetry.
    StudentT(u8),
}

impl NoiseTails {
    /// The degrees of freedom the engine has tables for.
    pub const DEGREES: [u8; 3] = [3, 5, 10];

    /// `StudentT(ν)` for a supported ν, `Normal` for `None`.
    pub fn from_degrees(degrees: Option<u8>) -> Option<Self> {
        match degrees {
            None => Some(NoiseTails::Normal),
            Some(d) if Self::DEGREES.contains(&d) => Some(NoiseTails::StudentT(d)),
            Some(_) => None,
        }
    }

    /// The degrees of freedom, `None` for Gaussian.
    pub fn degrees(self) -> Option<u8> {
        match self {
            NoiseTails::Normal => None,
            NoiseTails::StudentT(d) => Some(d),
        }
    }
}

/// How faithful a learned model was on history it had not seen (`twinbench learn
/// --holdout`): hourly means of the held-out span against simulations of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fidelity {
    /// Length of the held-out span in seconds.
    pub holdout_secs: i64,
    /// MASE of the simulated hourly median against the actual hourly means.
    pub mase_sim: f64,
    /// MASE of a twin replaying the same hour a week (or a day) earlier.
    pub mase_replay: f64,
    /// Share of actual hourly means inside the simulated 10–90% envelope.
    pub coverage80: f64,
}

/// Where a learned model came from.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnedInfo {
    /// First and last sample learned from.
    pub from: UnixSecs,
    /// Last sample learned from.
    pub until: UnixSecs,
    /// Samples learned from.
    pub samples: usize,
    /// What the learner decided and why ("daily season: 13 cycles, split-half r 0.93",
    /// "level shift of +12.4 on 2014-02-22 13:00: level from then on", …).
    pub notes: Vec<String>,
    /// Fidelity on held-out history, when measured.
    pub fit: Option<Fidelity>,
}

/// The declared behaviour of one metric of one twin.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadModel {
    /// Level at the start of history, before seasonality.
    pub base: f64,
    /// Half the peak-to-trough swing of the daily cycle.
    pub daily_amplitude: f64,
    /// Hour of day (UTC, 0–24) at which the daily cycle peaks.
    pub peak_hour: f64,
    /// Multiplier of the level on Saturdays and Sundays (1 = no weekly pattern).
    pub weekend_factor: f64,
    /// Change of the level per day.
    pub trend_per_day: f64,
    /// Standard deviation of the noise.
    pub noise: f64,
    /// Autocorrelation of the noise, in [0, 1): 0 is white noise.
    pub noise_memory: f64,
    /// Values are clamped to `[min, max]`.
    pub min: f64,
    /// Upper clamp.
    pub max: f64,
    /// Values are rounded to this many decimals, as real telemetry is (negative:
    /// to tens, hundreds, …).
    pub decimals: i8,
    /// Incidents, sorted by start.
    pub incidents: Vec<Incident>,
    /// A daily profile added to the level: `daily_profile[k]` holds at the middle of
    /// the k-th of `len` equal parts of the (UTC) day, linearly interpolated between
    /// neighbours, cyclic. Empty: none.
    pub daily_profile: Vec<f64>,
    /// Offsets added to the level per day of the week (UTC), Monday first: 7 values
    /// or empty.
    pub weekly_profile: Vec<f64>,
    /// The distribution of the noise's innovations.
    pub tails: NoiseTails,
    /// For `cpu_usage`: the share of the CPU that follows the twin's traffic (1: all
    /// of it, the default; 0.6: 40% is a floor that stays when traffic drops).
    pub follows_traffic: f64,
    /// For `latency_ms`: the share of the latency at the usual utilisation that is
    /// queueing, which grows as `(1 − ρ₀)/(1 − ρ)` when utilisation ρ rises (1: all
    /// of it, the default; the rest is fixed service time).
    pub queueing_share: f64,
    /// Set when the model was learned from history.
    pub learned: Option<LearnedInfo>,
}

impl WorkloadModel {
    /// A flat model at `base` with no noise, clamped to [0, ∞), two decimals.
    pub fn flat(base: f64) -> Self {
        Self {
            base,
            daily_amplitude: 0.0,
            peak_hour: 14.0,
            weekend_factor: 1.0,
            trend_per_day: 0.0,
            noise: 0.0,
            noise_memory: 0.0,
            min: 0.0,
            max: f64::MAX,
            decimals: 2,
            incidents: Vec::new(),
            daily_profile: Vec::new(),
            weekly_profile: Vec::new(),
            tails: NoiseTails::Normal,
            follows_traffic: 1.0,
            queueing_share: 1.0,
            learned: None,
        }
    }

    /// The deterministic part at time `t` (no noise, no incidents, not clamped):
    /// `(base + trend·days + daily·cos(hour − peak) + profiles(t)) × weekend`.
    pub fn expected(&self, origin: UnixSecs, t: UnixSecs) -> f64 {
        let days = (t - origin) as f64 / DAY_SECS as f64;
        let hour = t.rem_euclid(DAY_SECS) as f64 / 3600.0;
        let daily = self.daily_amplitude * libm::cos(TAU * (hour - self.peak_hour) / 24.0);
        (self.base + self.trend_per_day * days + daily + self.profiles_at(t)) * self.weekend_multiplier(t)
    }

    /// Whether the model has a daily or weekly profile.
    pub fn has_profiles(&self) -> bool {
        !self.daily_profile.is_empty() || !self.weekly_profile.is_empty()
    }

    /// The daily and weekly profiles' contribution at `t` (0 without profiles).
    pub fn profiles_at(&self, t: UnixSecs) -> f64 {
        profile_value(&self.daily_profile, t) + weekday_value(&self.weekly_profile, t)
    }

    /// The weekly factor at `t` (1970-01-01 was a Thursday).
    pub fn weekend_multiplier(&self, t: UnixSecs) -> f64 {
        let weekday = (t.div_euclid(DAY_SECS) + 3).rem_euclid(7); // 0 = Monday
        if weekday >= 5 { self.weekend_factor } else { 1.0 }
    }

    /// Applies incidents, clamping and rounding to a raw value (deterministic part plus
    /// noise) at time `t`.
    pub fn finish(&self, t: UnixSecs, raw: f64) -> f64 {
        let mut value = raw;
        for incident in self.incidents.iter().filter(|i| i.active_at(t)) {
            let progress = (t - incident.start) as f64 / incident.duration_secs.max(1) as f64;
            value = match incident.effect {
                IncidentEffect::Spike(add) => value + add * (1.0 - (2.0 * progress - 1.0).abs()),
                IncidentEffect::Shift(add) => value + add,
                IncidentEffect::Ramp(add) => value + add * progress,
                IncidentEffect::Scale(factor) => value * factor,
                IncidentEffect::Outage => self.min,
            };
        }
        self.quantize(value.clamp(self.min, self.max))
    }

    /// Rounds to the model's decimals.
    pub fn quantize(&self, value: f64) -> f64 {
        if self.decimals >= 0 {
            let scale = 10f64.powi(i32::from(self.decimals));
            (value * scale).round() / scale
        } else {
            // Divide by an exact power of ten so the result is an exact integer.
            let unit = 10f64.powi(-i32::from(self.decimals));
            (value / unit).round() * unit
        }
    }

    /// Whether the model couples to load other than by the documented defaults.
    pub fn has_couplings(&self) -> bool {
        self.follows_traffic != 1.0 || self.queueing_share != 1.0
    }

    /// Outage windows as (start, end) pairs, in time order.
    pub fn outages(&self) -> impl Iterator<Item = (UnixSecs, UnixSecs)> + '_ {
        self.incidents.iter().filter(|i| matches!(i.effect, IncidentEffect::Outage)).map(|i| (i.start, i.end()))
    }
}

/// A daily profile's value at `t`: point k holds at `(k + ½)/len` of the day, linear
/// between neighbours, cyclic (0 for an empty profile). The engine and history use
/// this one function, so both give the same bits.
#[inline]
pub fn profile_value(profile: &[f64], t: UnixSecs) -> f64 {
    let len = profile.len();
    if len == 0 {
        return 0.0;
    }
    // Position in points, shifted so point k sits at k + ½.
    let x = t.rem_euclid(DAY_SECS) as f64 / DAY_SECS as f64 * len as f64 - 0.5;
    let x = if x < 0.0 { x + len as f64 } else { x };
    let k = (x as usize).min(len - 1);
    let frac = x - k as f64;
    let (a, b) = (profile[k], profile[(k + 1) % len]);
    a + (b - a) * frac
}

/// A weekly profile's value at `t`: the offset of its day of the week (Monday first;
/// 0 unless the profile has 7 values).
#[inline]
pub fn weekday_value(profile: &[f64], t: UnixSecs) -> f64 {
    if profile.len() != 7 {
        return 0.0;
    }
    let weekday = (t.div_euclid(DAY_SECS) + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    profile[weekday]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_cycle_peaks_at_peak_hour() {
        let mut m = WorkloadModel::flat(50.0);
        m.daily_amplitude = 10.0;
        m.peak_hour = 14.0;
        let monday = 4 * DAY_SECS; // 1970-01-05 was a Monday
        assert!((m.expected(monday, monday + 14 * 3600) - 60.0).abs() < 1e-9);
        assert!((m.expected(monday, monday + 2 * 3600) - 40.0).abs() < 1e-9);
    }

    #[test]
    fn weekends_scale_and_incidents_apply() {
        let mut m = WorkloadModel::flat(50.0);
        m.weekend_factor = 0.5;
        let saturday = 9 * DAY_SECS;
        assert_eq!(m.expected(0, saturday), 25.0);
        m.incidents.push(Incident { start: 100, duration_secs: 100, effect: IncidentEffect::Shift(7.0) });
        m.incidents.push(Incident { start: 300, duration_secs: 100, effect: IncidentEffect::Outage });
        assert_eq!(m.finish(150, 50.0), 57.0);
        assert_eq!(m.finish(350, 50.0), 0.0);
        assert_eq!(m.outages().collect::<Vec<_>>(), vec![(300, 400)]);
        assert_eq!(m.finish(0, 12.345_678), 12.35);
    }

    #[test]
    fn profiles_interpolate_and_wrap() {
        let p = vec![0.0, 10.0, 20.0, 30.0]; // points at 03:00, 09:00, 15:00, 21:00
        assert_eq!(profile_value(&p, 3 * 3600), 0.0);
        assert_eq!(profile_value(&p, 6 * 3600), 5.0);
        assert_eq!(profile_value(&p, 21 * 3600), 30.0);
        // Between 21:00 and 03:00 the profile wraps around midnight.
        assert_eq!(profile_value(&p, 0), 15.0);
        assert_eq!(profile_value(&p, DAY_SECS - 3 * 3600 / 2), 22.5);
        assert_eq!(profile_value(&[], 1234), 0.0);
        let week = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let monday = 4 * DAY_SECS;
        assert_eq!(weekday_value(&week, monday + 100), 1.0);
        assert_eq!(weekday_value(&week, monday + 6 * DAY_SECS), 7.0);
        let mut m = WorkloadModel::flat(10.0);
        m.daily_profile = p;
        m.weekly_profile = week.to_vec();
        assert_eq!(m.expected(0, monday + 6 * 3600), 10.0 + 5.0 + 1.0);
    }
}
