//! NAB's windowed-Gaussian baseline (numenta/NAB `windowedGaussian_detector.py`),
//! kept to reproduce the comparison with the benchmark's reference detector: the score
//! of a value is 1 − the two-sided Gaussian tail probability under the mean and
//! (population) standard deviation of a window of earlier values — the first 6,400
//! values, then slid forward in steps of 100.

use super::{Cause, Detector, Score, tail_prob_from_score};
use crate::model::UnixSecs;

const WINDOW: usize = 6400;
const STEP: usize = 100;

/// The windowed-Gaussian baseline detector.
#[derive(Clone, Debug)]
pub struct WindowedGaussian {
    window: Vec<f64>,
    step_buffer: Vec<f64>,
    mean: f64,
    std: f64,
}

impl Default for WindowedGaussian {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowedGaussian {
    /// A fresh detector.
    pub fn new() -> Self {
        WindowedGaussian { window: Vec::new(), step_buffer: Vec::new(), mean: 0.0, std: 1.0 }
    }

    fn refit(&mut self) {
        let n = self.window.len() as f64;
        self.mean = self.window.iter().sum::<f64>() / n;
        let var = self.window.iter().map(|v| (v - self.mean) * (v - self.mean)).sum::<f64>() / n;
        self.std = var.sqrt();
        if self.std == 0.0 {
            self.std = 1e-6;
        }
    }
}

impl Detector for WindowedGaussian {
    fn update(&mut self, _ts: UnixSecs, value: f64) -> Score {
        if !value.is_finite() {
            return Score::quiet();
        }
        let mut score = Score::quiet();
        if !self.window.is_empty() {
            let z = (value - self.mean) / self.std;
            // P(X > |x - mean|) of one tail, as NAB's `normalProbability` computes it.
            let tail = 0.5 * libm::erfc(z.abs() / std::f64::consts::SQRT_2);
            let s = 1.0 - tail;
            score = Score {
                score: s,
                tail_prob: tail_prob_from_score(s),
                cause: Some(Cause::Gaussian { sigmas: z }),
                ongoing: false,
            };
        }
        if self.window.len() < WINDOW {
            self.window.push(value);
            self.refit();
        } else {
            self.step_buffer.push(value);
            if self.step_buffer.len() == STEP {
                self.window.drain(..STEP);
                self.window.append(&mut self.step_buffer);
                self.refit();
            }
        }
        score
    }
}
