//! How load travels, learned from co-moving hourly means (see the module docs of
//! `learn` for the formulas): CPU against request rate, latency against utilisation,
//! and traffic shares along edges.

use std::collections::BTreeMap;

use super::carries_traffic;
use crate::model::{EdgeKind, SeriesKey, TwinId, UnixSecs};
use crate::scenario::Scenario;

/// The metrics couplings read.
pub(crate) const READS: [&str; 3] = ["cpu_usage", "request_rate", "latency_ms"];
/// Fewest common hours a coupling is fitted on.
const MIN_HOURS: usize = 24;

/// The couplings learned for one twin (`None`: no evidence, the default stays).
#[derive(Clone, Debug, PartialEq)]
pub struct Coupling {
    /// The twin.
    pub twin: TwinId,
    /// Share of its CPU that follows its traffic.
    pub follows_traffic: Option<f64>,
    /// Share of its latency that is queueing.
    pub queueing_share: Option<f64>,
    /// What was fitted, or why not.
    pub notes: Vec<String>,
}

/// A traffic share learned for an edge.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeShare {
    /// The caller.
    pub from: TwinId,
    /// The twin called.
    pub to: TwinId,
    /// The edge's kind.
    pub kind: EdgeKind,
    /// The share before learning (as written, 1 by default).
    pub before: f64,
    /// The learned share.
    pub share: f64,
    /// Correlation of the callee's request rate with the fit.
    pub r: f64,
}

type Hourly = BTreeMap<SeriesKey, (UnixSecs, Vec<f64>)>;

/// Pairs of finite hourly means of two series over the hours both have.
fn common(hourly: &Hourly, a: &SeriesKey, b: &SeriesKey) -> Vec<(f64, f64)> {
    let (Some((sa, va)), Some((sb, vb))) = (hourly.get(a), hourly.get(b)) else {
        return Vec::new();
    };
    let from = (*sa).max(*sb);
    let to = (sa + va.len() as i64 * 3600).min(sb + vb.len() as i64 * 3600);
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let (i, j) = (((t - sa) / 3600) as usize, ((t - sb) / 3600) as usize);
        if let (Some(x), Some(y)) = (va.get(i), vb.get(j))
            && x.is_finite()
            && y.is_finite()
        {
            out.push((*x, *y));
        }
        t += 3600;
    }
    out
}

/// Least squares `y = a + b·x` with the correlation and the slope's t statistic
/// (standard error inflated for lag-1 autocorrelated residuals).
fn regress(pts: &[(f64, f64)]) -> Option<(f64, f64, f64, f64)> {
    let n = pts.len() as f64;
    if pts.len() < 3 {
        return None;
    }
    let (mx, my) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (mx / n, my / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pts {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    let a = my - b * mx;
    let r = sxy / (sxx * syy).sqrt();
    let resid: Vec<f64> = pts.iter().map(|(x, y)| y - a - b * x).collect();
    let var = resid.iter().map(|e| e * e).sum::<f64>() / (n - 2.0).max(1.0);
    let rho = super::series::lag1(&resid).clamp(0.0, 0.95);
    let se = (var / sxx).sqrt() * ((1.0 + rho) / (1.0 - rho)).sqrt();
    let t = if se > 0.0 { b / se } else { f64::INFINITY };
    Some((a, b, r, t))
}

/// Non-negative least squares `y ≈ Σ βᵢ·xᵢ` (no intercept) by cyclic coordinate
/// descent, a fixed number of sweeps (deterministic).
fn nnls(rows: &[(Vec<f64>, f64)], p: usize) -> Vec<f64> {
    let mut beta = vec![0.0; p];
    let mut gram = vec![vec![0.0; p]; p];
    let mut xty = vec![0.0; p];
    for (x, y) in rows {
        for i in 0..p {
            xty[i] += x[i] * y;
            for j in 0..p {
                gram[i][j] += x[i] * x[j];
            }
        }
    }
    for _ in 0..500 {
        for i in 0..p {
            if gram[i][i] <= 0.0 {
                continue;
            }
            let others: f64 = (0..p).filter(|j| *j != i).map(|j| gram[i][j] * beta[j]).sum();
            beta[i] = ((xty[i] - others) / gram[i][i]).max(0.0);
        }
    }
    beta
}

/// Couplings per twin and learned edge shares, from the hourly means of the series.
pub(crate) fn learn_couplings(scenario: &Scenario, hourly: &Hourly) -> (Vec<Coupling>, Vec<EdgeShare>) {
    let key = |twin: &TwinId, metric: &str| SeriesKey::new(twin.clone(), metric);
    let mut couplings = Vec::new();
    for twin in scenario.graph.ids() {
        let (cpu, rate, latency) = (key(twin, "cpu_usage"), key(twin, "request_rate"), key(twin, "latency_ms"));
        let mut c = Coupling { twin: twin.clone(), follows_traffic: None, queueing_share: None, notes: Vec::new() };
        if hourly.contains_key(&cpu) && hourly.contains_key(&rate) {
            let pts = common(hourly, &rate, &cpu);
            match regress(&pts) {
                Some((_, b, r, _)) if pts.len() >= MIN_HOURS && r >= 0.5 && b > 0.0 => {
                    let (mx, my) = pts.iter().fold((0.0, 0.0), |(a, s), (x, y)| (a + x, s + y));
                    let share = if my > 0.0 { (b * mx / my).clamp(0.0, 1.0) } else { 1.0 };
                    c.follows_traffic = Some(super::series::round_sig(share));
                    c.notes.push(format!(
                        "cpu follows traffic: {:.0}% of it (r = {r:.2} over {} hours)",
                        100.0 * share,
                        pts.len()
                    ));
                }
                fit => c.notes.push(format!(
                    "cpu against request rate: no evidence ({} common hours, r = {:.2}): all of it follows traffic (default)",
                    pts.len(),
                    fit.map_or(0.0, |f| f.2)
                )),
            }
        }
        if hourly.contains_key(&cpu) && hourly.contains_key(&latency) {
            let pts: Vec<(f64, f64)> = common(hourly, &cpu, &latency)
                .into_iter()
                .map(|(u, l)| (1.0 / (1.0 - (u / 100.0).clamp(0.0, 0.99)), l))
                .collect();
            match regress(&pts) {
                Some((a, b, r, t)) if pts.len() >= MIN_HOURS && b > 0.0 && t >= 3.0 && r >= 0.3 => {
                    let mx = pts.iter().map(|p| p.0).sum::<f64>() / pts.len() as f64;
                    let q = (b * mx / (a.max(0.0) + b * mx)).clamp(0.0, 1.0);
                    c.queueing_share = Some(super::series::round_sig(q));
                    c.notes.push(format!(
                        "latency ≈ {:.3} + {b:.3}/(1 − ρ): {:.0}% queueing (t = {t:.1}, {} hours)",
                        a.max(0.0),
                        100.0 * q,
                        pts.len()
                    ));
                }
                fit => c.notes.push(format!(
                    "latency against utilisation: no evidence ({} common hours, t = {:.1}): all of it queueing (default)",
                    pts.len(),
                    fit.map_or(0.0, |f| f.3)
                )),
            }
        }
        if !c.notes.is_empty() {
            couplings.push(c);
        }
    }
    // Traffic shares: each twin's request rate against its callers'.
    let mut shares = Vec::new();
    for twin in scenario.graph.ids() {
        let rate = key(twin, "request_rate");
        let Some((start, y)) = hourly.get(&rate) else {
            continue;
        };
        let callers: Vec<(TwinId, EdgeKind, f64)> = scenario
            .graph
            .dependents(twin)
            .into_iter()
            .filter(|(c, d)| carries_traffic(d.kind) && hourly.contains_key(&key(&c.id, "request_rate")))
            .map(|(c, d)| (c.id.clone(), d.kind, d.traffic_share))
            .collect();
        if callers.is_empty() {
            continue;
        }
        // Rows over the hours every series has.
        let mut rows = Vec::new();
        for (h, target) in y.iter().enumerate() {
            if !target.is_finite() {
                continue;
            }
            let t = start + h as i64 * 3600;
            let xs: Option<Vec<f64>> = callers
                .iter()
                .map(|(c, _, _)| {
                    let (s, v) = hourly.get(&key(c, "request_rate"))?;
                    let i = usize::try_from((t - s) / 3600).ok().filter(|_| t >= *s)?;
                    v.get(i).copied().filter(|x| x.is_finite())
                })
                .collect();
            if let Some(xs) = xs {
                rows.push((xs, *target));
            }
        }
        if rows.len() < MIN_HOURS {
            continue;
        }
        let beta = nnls(&rows, callers.len());
        let fitted: Vec<(f64, f64)> =
            rows.iter().map(|(x, y)| (x.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>(), *y)).collect();
        let r = regress(&fitted).map_or(0.0, |f| f.2);
        if r < 0.5 {
            continue;
        }
        for ((caller, kind, before), b) in callers.into_iter().zip(beta) {
            let share = super::series::round_sig(b.min(1.0));
            if share > 0.0 && share != before {
                shares.push(EdgeShare { from: caller, to: twin.clone(), kind, before, share, r });
            }
        }
    }
    (couplings, shares)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nnls_recovers_non_negative_weights() {
        let rows: Vec<(Vec<f64>, f64)> = (0..50)
            .map(|k| {
                let (a, b) = (10.0 + (k % 7) as f64, 5.0 + (k % 5) as f64 * 2.0);
                (vec![a, b], 0.3 * a + 0.6 * b)
            })
            .collect();
        let beta = nnls(&rows, 2);
        assert!((beta[0] - 0.3).abs() < 1e-6 && (beta[1] - 0.6).abs() < 1e-6, "{beta:?}");
        // A caller that does not explain the callee gets 0, not a negative weight.
        let rows: Vec<(Vec<f64>, f64)> = (0..50)
            .map(|k| (vec![10.0 + (k % 7) as f64, 3.0 + (k % 3) as f64], 2.0 * (10.0 + (k % 7) as f64)))
            .collect();
        let beta = nnls(&rows, 2);
        assert!(beta[1] >= 0.0 && (beta[0] - 2.0).abs() < 0.1, "{beta:?}");
    }

    #[test]
    fn regression_finds_slope_and_correlation() {
        let pts: Vec<(f64, f64)> =
            (0..40).map(|k| (k as f64, 3.0 + 2.0 * k as f64 + if k % 2 == 0 { 0.5 } else { -0.5 })).collect();
        let (a, b, r, t) = regress(&pts).unwrap();
        assert!((b - 2.0).abs() < 0.01 && (a - 3.0).abs() < 0.3 && r > 0.99 && t > 10.0);
        assert!(regress(&[(1.0, 2.0), (1.0, 3.0), (1.0, 4.0)]).is_none());
    }
}
