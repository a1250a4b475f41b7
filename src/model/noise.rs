//! The noise distributions of workload models as tables of quantiles: N(0, 1) and
//! Student's t with 3, 5 and 10 degrees of freedom (unit variance), each at 2¹⁶
//! equally likely levels. The engine and history generation draw innovations by
//! inverse transform through them (a 16-bit level per draw), and learning picks a
//! model's tails by comparing residuals with them, so all three agree. Computed once
//! with `libm` (portable): the same tables on every machine.

use std::sync::OnceLock;

use super::NoiseTails;

/// The standard normal for a 16-bit level: the quantile of N(0, 1) at
/// `(level + 0.5) / 65536`.
#[inline]
pub fn normal(level: u32) -> f64 {
    f64::from(normal_table()[(level & 0xffff) as usize])
}

/// Levels of one distribution in [`noise_tables`].
pub const LEVELS: usize = 65536;

/// Where a noise distribution's quantiles start in [`noise_tables`]: 0 for N(0, 1),
/// then Student's t with 3, 5 and 10 degrees of freedom (scaled to unit variance).
/// OR-ed with a 16-bit level it indexes the table.
pub fn tails_offset(tails: NoiseTails) -> u32 {
    match tails {
        NoiseTails::Normal => 0,
        NoiseTails::StudentT(d) => {
            let k = NoiseTails::DEGREES.iter().position(|x| *x == d).map_or(0, |k| k + 1);
            (k * LEVELS) as u32
        }
    }
}

/// A unit-variance innovation of `tails` for a 16-bit level (as `normal`, for any
/// distribution of [`noise_tables`]).
#[inline]
pub fn innovation(tails: NoiseTails, level: u32) -> f64 {
    f64::from(noise_tables()[(tails_offset(tails) | (level & 0xffff)) as usize])
}

/// The quantiles of every noise distribution, one after the other (`tails_offset`):
/// N(0, 1) (a copy of [`normal_table`]), then Student's t with 3, 5 and 10 degrees of
/// freedom divided by their standard deviation √(ν/(ν − 2)), each at the 2¹⁶ levels
/// `(level + 0.5) / 65536`, rounded to `f32`. The t quantiles solve the closed form of
/// the t CDF for whole ν (Abramowitz & Stegun 26.7.3–4) by Newton's method from the
/// previous level's quantile: the upper tail is convex on t ≥ 0, so the iterates rise
/// monotonically to the root (a few steps each; all through `libm`, so the same on
/// every machine).
pub fn noise_tables() -> &'static [f32; 4 * LEVELS] {
    static TABLE: OnceLock<Box<[f32; 4 * LEVELS]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Box::new([0.0f32; 4 * LEVELS]);
        table[..LEVELS].copy_from_slice(normal_table());
        for (k, nu) in NoiseTails::DEGREES.into_iter().enumerate() {
            let nu = f64::from(nu);
            let sd = (nu / (nu - 2.0)).sqrt();
            let c = libm::tgamma((nu + 1.0) / 2.0) / (libm::sqrt(nu * std::f64::consts::PI) * libm::tgamma(nu / 2.0));
            let density = |t: f64| c * libm::pow(1.0 + t * t / nu, -(nu + 1.0) / 2.0);
            let part = &mut table[(k + 1) * LEVELS..(k + 2) * LEVELS];
            let mut x = 0.0f64;
            for i in LEVELS / 2..LEVELS {
                let q = ((LEVELS - i) as f64 - 0.5) / LEVELS as f64;
                for _ in 0..100 {
                    let step = (t_upper_tail(x, nu) - q) / density(x);
                    if step.is_nan() || step <= 1e-14 * x.max(1.0) {
                        break;
                    }
                    x += step;
                }
                let v = (x / sd) as f32;
                part[i] = v;
                part[LEVELS - 1 - i] = -v;
            }
        }
        table
    })
}

/// P(T > t) for Student's t with whole `nu` ≥ 1 degrees of freedom, t ≥ 0.
fn t_upper_tail(t: f64, nu: f64) -> f64 {
    let theta = libm::atan(t / libm::sqrt(nu));
    let (s, c) = (libm::sin(theta), libm::cos(theta));
    let n = nu as u32;
    // A(t|ν) = P(|T| < t).
    let a = if n % 2 == 1 {
        let mut sum = 0.0;
        if n > 1 {
            let mut term = c;
            sum = term;
            let mut k = 2;
            while k < n - 1 {
                term *= c * c * f64::from(k) / f64::from(k + 1);
                sum += term;
                k += 2;
            }
        }
        2.0 / std::f64::consts::PI * (theta + s * sum)
    } else {
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut k = 1;
        while k < n - 1 {
            term *= c * c * f64::from(k) / f64::from(k + 1);
            sum += term;
            k += 2;
        }
        s * sum
    };
    0.5 * (1.0 - a)
}

/// The 2¹⁶ quantiles, computed once by bisection on `libm::erfc` (portable, so the
/// table is the same on every machine) and rounded to `f32`; symmetric by construction.
pub fn normal_table() -> &'static [f32; 65536] {
    static TABLE: OnceLock<Box<[f32; 65536]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Box::new([0.0f32; 65536]);
        for i in 32768..65536usize {
            // Upper tail q = P(Z > x) = erfc(x / √2) / 2, decreasing in x.
            let q = (65536 - i) as f64 - 0.5;
            let q = q / 65536.0;
            let (mut lo, mut hi) = (0.0f64, 8.0f64);
            loop {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if 0.5 * libm::erfc(mid / std::f64::consts::SQRT_2) > q {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let x = (0.5 * (lo + hi)) as f32;
            table[i] = x;
            table[65535 - i] = -x;
        }
        table
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_table_is_standard_normal() {
        let t = normal_table();
        assert!(t.windows(2).all(|w| w[0] < w[1]), "quantiles increase");
        assert!((0..65536).all(|i| t[i] == -t[65535 - i]));
        // Quantiles at known probabilities: level 32768 is p = 0.5 + 0.5/65536.
        assert!((t[32768] - 1.9124e-5).abs() < 1e-8, "{}", t[32768]);
        // p = 0.975 → 1.95996: the nearest level is 63897 (p ≈ 0.975014).
        assert!((f64::from(t[63897]) - 1.959_96).abs() < 2e-4, "{}", t[63897]);
        assert!((f64::from(t[65535]) - 4.3249).abs() < 1e-3, "{}", t[65535]);
        let (mut m2, mut m4) = (0.0, 0.0);
        for &x in t.iter() {
            let x = f64::from(x);
            m2 += x * x;
            m4 += x * x * x * x;
        }
        let (m2, m4) = (m2 / 65536.0, m4 / 65536.0);
        assert!((m2 - 1.0).abs() < 1e-3 && (m4 - 3.0).abs() < 0.02, "variance {m2}, fourth moment {m4}");
    }

    #[test]
    fn the_t_tables_have_unit_variance_and_heavy_tails() {
        let t = noise_tables();
        assert_eq!(&t[..LEVELS], &normal_table()[..]);
        for (k, nu) in NoiseTails::DEGREES.into_iter().enumerate() {
            let part = &t[(k + 1) * LEVELS..(k + 2) * LEVELS];
            assert!(part.windows(2).all(|w| w[0] <= w[1]), "sorted");
            assert_eq!(part[0], -part[LEVELS - 1]);
            let var: f64 = part.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / LEVELS as f64;
            // The discrete table truncates the far tail: ν = 3 loses the most variance.
            assert!((0.8..1.01).contains(&var), "ν {nu}: variance {var}");
            // Heavier tails than the normal's ±4.32 σ.
            assert!(part[LEVELS - 1] > 4.5, "ν {nu}: {}", part[LEVELS - 1]);
            assert_eq!(tails_offset(NoiseTails::StudentT(nu)), ((k + 1) * LEVELS) as u32);
        }
        // Known quantiles: t₅ at 0.975 is 2.5706 (÷ √(5/3) for unit variance).
        let i = (0.975 * LEVELS as f64) as usize;
        let x = f64::from(t[2 * LEVELS + i]) * (5.0f64 / 3.0).sqrt();
        assert!((x - 2.5706).abs() < 0.002, "{x}");
        assert!((t_upper_tail(0.0, 3.0) - 0.5).abs() < 1e-12);
        assert!((t_upper_tail(12.706, 1.0) - 0.025).abs() < 1e-4);
        assert!((t_upper_tail(2.2281, 10.0) - 0.025).abs() < 1e-4);
    }
}
