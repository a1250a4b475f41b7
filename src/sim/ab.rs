//! A/B tests of strategies (M14): strategies A and B run over N replications with
//! common random numbers — replication r runs both arms on a fresh world with seed
//! `S + r`, so both see the same noise, the same random faults and the same workload —
//! and are compared on each objective (violation minutes, cost, SLO breaches).
//!
//! Both arms are measured with the same yardstick: the scenario's policies plus the
//! policies of both strategies; each arm's orchestrator acts only on its own.
//!
//! Statistics, per objective: each arm's mean with a 95% confidence interval
//! (Student t, n − 1 degrees of freedom), and a **paired t-test** on the per-
//! replication differences A − B. Common random numbers pair the runs: replication r of
//! A and of B share every random draw, so their difference removes the noise both
//! share, and the paired test is the one whose assumptions hold (Welch's test assumes
//! independent samples; its p-value is reported beside it for reference). When every
//! difference is the same, the test statistic is undefined: identical differences of 0
//! give p = 1 (no difference), identical non-zero differences give p = 0 (the arms
//! differ in every replication by the same amount). The winner on the declared
//! objective is the arm with the lower mean when p < 0.05; otherwise there is none.

use std::sync::atomic::AtomicBool;

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::run::{RunSummary, run, ticks_for_hours};
use super::strategy::{Objective, Strategy};
use super::world::{SimError, World, WorldConfig};
use crate::analytics::par::map_items;
use crate::policy::Policy;
use crate::scenario::Scenario;

/// How to run the test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AbSpec {
    /// Replications (at least 2).
    pub runs: u32,
    /// Seed of replication 0 (replication r uses `seed + r`).
    pub seed: u64,
    /// Simulated hours per run.
    pub hours: f64,
    /// The objective that names the winner (`None`: the one strategy A declares).
    pub objective: Option<Objective>,
}

/// One arm's results on one objective.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmStats {
    /// Per replication.
    pub values: Vec<f64>,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std_dev: f64,
    /// 95% confidence interval of the mean.
    pub ci95: (f64, f64),
}

/// Both arms compared on one objective.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectiveComparison {
    /// Which.
    pub objective: Objective,
    /// Strategy A.
    pub a: ArmStats,
    /// Strategy B.
    pub b: ArmStats,
    /// Mean of A − B.
    pub mean_difference: f64,
    /// 95% confidence interval of the mean difference.
    pub difference_ci95: (f64, f64),
    /// Paired t statistic (infinite or NaN when the differences do not vary).
    pub t: f64,
    /// Degrees of freedom of the paired test.
    pub df: f64,
    /// Two-sided p-value of the paired t-test.
    pub p_value: f64,
    /// Two-sided p-value of Welch's t-test, for reference.
    pub welch_p_value: f64,
    /// p < 0.05.
    pub significant: bool,
}

/// The result of an A/B test.
#[derive(Clone, Debug, PartialEq)]
pub struct AbReport {
    /// Name of A.
    pub a: String,
    /// Name of B.
    pub b: String,
    /// Replications.
    pub runs: u32,
    /// Seed of replication 0.
    pub seed: u64,
    /// Hours per run.
    pub hours: f64,
    /// The objective that names the winner.
    pub objective: Objective,
    /// Every objective, in [`Objective::ALL`] order.
    pub comparisons: Vec<ObjectiveComparison>,
    /// The winner on `objective` (`None`: no significant difference).
    pub winner: Option<String>,
    /// Per replication, the summaries of A and B.
    pub replications: Vec<(RunSummary, RunSummary)>,
}

impl AbReport {
    /// The comparison on the declared objective.
    pub fn declared(&self) -> Option<&ObjectiveComparison> {
        self.comparisons.iter().find(|c| c.objective == self.objective)
    }
}

fn yardstick(scenario: &Scenario, a: &Strategy, b: &Strategy) -> Vec<Policy> {
    let mut all = scenario.policies.clone();
    for p in a.policies.iter().chain(&b.policies) {
        if !all.iter().any(|q| q.name == p.name) {
            all.push(p.clone());
        }
    }
    all
}

/// Runs the test. The runs (2 per replication) are independent worlds, run on all
/// cores and collected in order, so the report does not depend on the number of cores
/// or their timing. `progress(done, total)` counts finished runs; `cancel` stops with
/// [`SimError::Cancelled`].
pub fn ab_test(
    scenario: &Scenario,
    a: &Strategy,
    b: &Strategy,
    spec: &AbSpec,
    progress: &(dyn Fn(u64, u64) + Sync),
    cancel: &AtomicBool,
) -> Result<AbReport, SimError> {
    if spec.runs < 2 {
        return Err(SimError::Invalid(format!("an A/B test needs at least 2 runs, not {}", spec.runs)));
    }
    let watching = yardstick(scenario, a, b);
    let runs: Vec<(u64, &Strategy)> =
        (0..spec.runs).flat_map(|r| [a, b].map(|arm| (spec.seed.wrapping_add(u64::from(r)), arm))).collect();
    let one_run = |&(seed, arm): &(u64, &Strategy)| -> Result<RunSummary, SimError> {
        let config = WorldConfig {
            seed,
            acting: arm.policies.clone(),
            watching: watching.clone(),
            orchestrator: arm.orchestrator,
            warm_up_from_history: false,
        };
        let mut world = World::new(scenario, config)?;
        let ticks = ticks_for_hours(&world, spec.hours)?;
        run(&mut world, ticks, &mut |_, _| {}, &|_, _| {}, cancel)?;
        Ok(world.summary())
    };
    let report = |done: usize, total: usize| progress(done as u64, total as u64);
    let summaries = map_items(&runs, &report, cancel, one_run).ok_or(SimError::Cancelled)?;
    let mut summaries = summaries.into_iter().collect::<Result<Vec<RunSummary>, SimError>>()?.into_iter();
    let mut replications = Vec::new();
    while let (Some(x), Some(y)) = (summaries.next(), summaries.next()) {
        replications.push((x, y));
    }
    let objective = spec.objective.unwrap_or(a.objective);
    let comparisons: Vec<ObjectiveComparison> = Objective::ALL
        .iter()
        .map(|o| {
            let xs: Vec<f64> = replications.iter().map(|(x, _)| o.of(x)).collect();
            let ys: Vec<f64> = replications.iter().map(|(_, y)| o.of(y)).collect();
            compare(*o, &xs, &ys)
        })
        .collect();
    let winner = comparisons.iter().find(|c| c.objective == objective).and_then(|c| {
        if !c.significant {
            None
        } else if c.mean_difference < 0.0 {
            Some(a.name.clone())
        } else {
            Some(b.name.clone())
        }
    });
    Ok(AbReport {
        a: a.name.clone(),
        b: b.name.clone(),
        runs: spec.runs,
        seed: spec.seed,
        hours: spec.hours,
        objective,
        comparisons,
        winner,
        replications,
    })
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 { xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
fn t975(df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

/// Two-sided p-value of a t statistic; the degenerate cases as the module docs say.
fn two_sided_p(t: f64, df: f64, difference: f64) -> f64 {
    if t.is_nan() {
        return if difference == 0.0 { 1.0 } else { 0.0 };
    }
    if t.is_infinite() {
        return 0.0;
    }
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| 2.0 * (1.0 - d.cdf(t.abs())))
}

fn arm(values: &[f64]) -> ArmStats {
    let (mean, sd) = mean_sd(values);
    let half = t975(values.len() as f64 - 1.0) * sd / (values.len() as f64).sqrt();
    ArmStats { values: values.to_vec(), mean, std_dev: sd, ci95: (mean - half, mean + half) }
}

/// Compares two paired samples (same length ≥ 2).
pub fn compare(objective: Objective, a: &[f64], b: &[f64]) -> ObjectiveComparison {
    let n = a.len().min(b.len()) as f64;
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let (d_mean, d_sd) = mean_sd(&diffs);
    let df = n - 1.0;
    let se = d_sd / n.sqrt();
    let t = if se > 0.0 {
        d_mean / se
    } else if d_mean == 0.0 {
        f64::NAN
    } else {
        f64::INFINITY.copysign(d_mean)
    };
    let p_value = two_sided_p(t, df, d_mean);
    let half = t975(df) * se;
    let (sa, sb) = (arm(a), arm(b));
    let welch_se = (sa.std_dev.powi(2) / n + sb.std_dev.powi(2) / n).sqrt();
    let welch_t = if welch_se > 0.0 {
        (sa.mean - sb.mean) / welch_se
    } else if sa.mean == sb.mean {
        f64::NAN
    } else {
        f64::INFINITY
    };
    let welch_df = if welch_se > 0.0 {
        let (va, vb) = (sa.std_dev.powi(2) / n, sb.std_dev.powi(2) / n);
        (va + vb).powi(2) / (va.powi(2) / (n - 1.0) + vb.powi(2) / (n - 1.0))
    } else {
        df
    };
    let welch_p_value = two_sided_p(welch_t, welch_df, sa.mean - sb.mean);
    ObjectiveComparison {
        objective,
        a: sa,
        b: sb,
        mean_difference: d_mean,
        difference_ci95: (d_mean - half, d_mean + half),
        t,
        df,
        p_value,
        welch_p_value,
        significant: p_value < 0.05,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_t_test_matches_a_worked_example() {
        // Differences 1, 2, 3, 4, 5: mean 3, sd √2.5, t = 3 / (√2.5/√5) = 4.2426, df 4,
        // two-sided p = 0.01324 (tables).
        let a = [11.0, 22.0, 33.0, 44.0, 55.0];
        let b = [10.0, 20.0, 30.0, 40.0, 50.0];
        let c = compare(Objective::ViolationMinutes, &a, &b);
        assert!((c.t - 4.242_640_687).abs() < 1e-6, "{}", c.t);
        assert!((c.p_value - 0.013_24).abs() < 1e-4, "{}", c.p_value);
        assert!(c.significant);
        assert!(c.welch_p_value > 0.3, "unpaired, the spread hides it: {}", c.welch_p_value);
    }

    #[test]
    fn identical_arms_are_not_significant_and_constant_differences_are() {
        let a = [5.0, 7.0, 9.0];
        let same = compare(Objective::Cost, &a, &a);
        assert_eq!(same.p_value, 1.0);
        assert!(!same.significant);
        let shifted: Vec<f64> = a.iter().map(|x| x + 2.0).collect();
        let c = compare(Objective::Cost, &a, &shifted);
        assert_eq!(c.p_value, 0.0);
        assert!(c.significant);
        assert_eq!(c.mean_difference, -2.0);
    }
}
