//! A small, deterministic Nelder–Mead minimiser over a box, used to fit smoothing
//! parameters. Points are clamped into the box before the objective sees them, so the
//! objective never has to handle out-of-range parameters.

/// Minimises `f` over the box `[lo, hi]` starting at `x0`. Returns the best point and
/// its value. Stops after `max_evals` evaluations or when the simplex values agree to
/// `tol` (relative).
pub fn nelder_mead(
    f: &mut dyn FnMut(&[f64]) -> f64,
    x0: &[f64],
    lo: &[f64],
    hi: &[f64],
    step: f64,
    max_evals: usize,
    tol: f64,
) -> (Vec<f64>, f64) {
    let n = x0.len();
    let clamp = |x: &mut [f64]| {
        for (i, v) in x.iter_mut().enumerate() {
            *v = v.clamp(lo[i], hi[i]);
        }
    };
    let mut eval = |x: &mut Vec<f64>, evals: &mut usize| -> f64 {
        clamp(x);
        *evals += 1;
        let v = f(x);
        if v.is_finite() { v } else { f64::MAX }
    };
    let mut evals = 0;
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    let mut start = x0.to_vec();
    let v0 = eval(&mut start, &mut evals);
    simplex.push((start.clone(), v0));
    for i in 0..n {
        let mut x = start.clone();
        // Step towards the side of the box with more room.
        let room_up = hi[i] - x[i];
        let room_down = x[i] - lo[i];
        x[i] += if room_up >= room_down { step.min(room_up) } else { -step.min(room_down) };
        let v = eval(&mut x, &mut evals);
        simplex.push((x, v));
    }
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let best = simplex[0].1;
        let worst = simplex[n].1;
        if (worst - best).abs() <= tol * (best.abs() + 1e-12) {
            break;
        }
        let mut centroid = vec![0.0; n];
        for (x, _) in &simplex[..n] {
            for (c, xi) in centroid.iter_mut().zip(x) {
                *c += xi / n as f64;
            }
        }
        let toward = |coef: f64, from: &[f64]| -> Vec<f64> {
            centroid.iter().zip(from).map(|(c, w)| c + coef * (w - c)).collect()
        };
        let worst_x = simplex[n].0.clone();
        let mut reflected = toward(-1.0, &worst_x);
        let vr = eval(&mut reflected, &mut evals);
        if vr < best {
            let mut expanded = toward(-2.0, &worst_x);
            let ve = eval(&mut expanded, &mut evals);
            simplex[n] = if ve < vr { (expanded, ve) } else { (reflected, vr) };
        } else if vr < simplex[n - 1].1 {
            simplex[n] = (reflected, vr);
        } else {
            let mut contracted = if vr < worst { toward(-0.5, &worst_x) } else { toward(0.5, &worst_x) };
            let vc = eval(&mut contracted, &mut evals);
            if vc < worst.min(vr) {
                simplex[n] = (contracted, vc);
            } else {
                let best_x = simplex[0].0.clone();
                for (x, v) in simplex.iter_mut().skip(1) {
                    let mut shrunk: Vec<f64> = best_x.iter().zip(x.iter()).map(|(b, xi)| b + 0.5 * (xi - b)).collect();
                    *v = eval(&mut shrunk, &mut evals);
                    *x = shrunk;
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, v) = simplex.swap_remove(0);
    (x, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_bowl_inside_a_box() {
        let mut f = |x: &[f64]| (x[0] - 0.3).powi(2) + 2.0 * (x[1] - 0.7).powi(2);
        let (x, v) = nelder_mead(&mut f, &[0.5, 0.5], &[0.0, 0.0], &[1.0, 1.0], 0.1, 500, 1e-12);
        assert!((x[0] - 0.3).abs() < 1e-4 && (x[1] - 0.7).abs() < 1e-4 && v < 1e-8, "{x:?} {v}");
        // A minimum outside the box ends on its edge.
        let mut g = |x: &[f64]| (x[0] - 2.0).powi(2);
        let (x, _) = nelder_mead(&mut g, &[0.5], &[0.0], &[1.0], 0.1, 500, 1e-12);
        assert!((x[0] - 1.0).abs() < 1e-6);
    }
}
