//! Workload models: the declared shape of a metric over time (base level, daily and
//! weekly seasonality, trend, autocorrelated noise, incidents). History is generated
//! from them deterministically (`sim::history`) and the simulation engine drives
//! metrics with them.

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
        }
    }

    /// The deterministic part at time `t` (no noise, no incidents, not clamped):
    /// `(base + trend·days + daily·cos(hour − peak)) × weekend`.
    pub fn expected(&self, origin: UnixSecs, t: UnixSecs) -> f64 {
        let days = (t - origin) as f64 / DAY_SECS as f64;
        let hour = t.rem_euclid(DAY_SECS) as f64 / 3600.0;
        let daily = self.daily_amplitude * (TAU * (hour - self.peak_hour) / 24.0).cos();
        (self.base + self.trend_per_day * days + daily) * self.weekend_multiplier(t)
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

    /// Outage windows as (start, end) pairs, in time order.
    pub fn outages(&self) -> impl Iterator<Item = (UnixSecs, UnixSecs)> + '_ {
        self.incidents.iter().filter(|i| matches!(i.effect, IncidentEffect::Outage)).map(|i| (i.start, i.end()))
    }
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
}
