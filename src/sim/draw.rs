//! Drawing the workload models ahead, a block of `BLOCK_TICKS` ticks at a time: every
//! series' expected value (with a learned model's daily and weekly profiles) plus AR(1)
//! noise from its twin's stream (normal, or Student's t for heavy tails), clamped (see
//! the engine's module docs).
//!
//! While a block is drawn, the engine learns what a calm twin does over it (see
//! `calm`): the ticks at which its plain rules fire on its values and at which its load
//! does something. Its drive is kept in `SeriesTable::block` only if it is loud; a calm
//! twin's is drawn again from the block's start (the stream and the noise as they were)
//! when a pass first visits it (`ensure_drawn`), or read on the fly (`SeriesTable::value`).
//! Drawing again runs the same code on the same state, so it gives the same bits.

use super::calm::ticks_where;
use super::rng::NoiseStream;
use super::world::{BLOCK_TICKS, NONE, Role, SeriesTable, World, clamp_unchecked};
use crate::model::workload::{profile_value, weekday_value};
use multiversion::multiversion;

const B: usize = BLOCK_TICKS;

/// The per-tick terms of `expected` over a block: days since the origin, the daily
/// angle's cosine and sine, and whether it is a weekend.
#[derive(Clone, Debug, Default)]
pub(crate) struct Terms {
    t: [i64; B],
    days: [f64; B],
    cos_a: [f64; B],
    sin_a: [f64; B],
    weekend: [bool; B],
}

impl Terms {
    fn new(world: &World, first_tick: u64) -> Self {
        let mut terms = Terms::default();
        for k in 0..B {
            let t = world.start + (first_tick + k as u64) as i64 * world.resolution;
            terms.t[k] = t;
            terms.days[k] = (t - world.origin) as f64 / 86_400.0;
            let hour = t.rem_euclid(86_400) as f64 / 3600.0;
            let angle = std::f64::consts::TAU * hour / 24.0;
            terms.cos_a[k] = libm::cos(angle);
            terms.sin_a[k] = libm::sin(angle);
            terms.weekend[k] = (t.div_euclid(86_400) + 3).rem_euclid(7) >= 5;
        }
        terms
    }
}

/// Draws the next block. Compiled also for AVX2 and AVX-512, taken when the processor
/// has them (`multiversion`): the same IEEE operations in the same order (Rust never
/// fuses or reorders floating point), so the same results bit for bit, only more of
/// them per instruction.
#[inline(never)]
#[multiversion(targets("x86_64+avx2", "x86_64+avx512f+avx512dq"))]
pub(crate) fn fill_block(world: &mut World, first_tick: u64) {
    let terms = Terms::new(world, first_tick);
    let tw = &world.twins;
    let calm = &mut world.calm;
    let s = &mut world.series;
    calm.fire_at.clear();
    calm.trig_at.clear();
    s.block.resize(s.key.len() * B, 0.0);
    s.drawn.clear();
    s.drawn.resize(tw.ids.len(), false);
    s.noise_start.clone_from(&s.noise);
    s.stream_start.clone_from(&s.noise_rng);
    s.terms = terms;
    s.block_first_tick = first_tick;
    s.block_len = B;
    // (Out of the table while it is read.)
    let mut block = std::mem::take(&mut s.block);
    let mut noise = std::mem::take(&mut s.noise);
    let mut streams = std::mem::take(&mut s.noise_rng);
    let mut words = std::mem::take(&mut s.words);
    let mut drawn = std::mem::take(&mut s.drawn);
    let s = &*s;
    // A few twins at a time, so that their series fill the lanes.
    const GROUP: usize = 8;
    let n = tw.ids.len();
    for first in (0..n).step_by(GROUP) {
        let twins = first..(first + GROUP).min(n);
        let (a, b) = (s.twin_start[twins.start] as usize, s.twin_start[twins.end] as usize);
        if a == b {
            continue;
        }
        for i in twins.clone() {
            drawn[i] = calm.loud.get(i).copied().unwrap_or(false) || calm.watched[i];
        }
        // The ticks at which a twin's drawn load does something (see `calm`).
        let mut trig = [0u32; GROUP];
        // A series' drawn values are needed if its twin's are kept, or for its plain
        // rules and its load's triggers.
        let needed = |j: usize| {
            drawn[s.twin[j] as usize]
                || calm.series_tests_start[j] < calm.series_tests_start[j + 1]
                || s.role[j] <= Role::Disk
        };
        let (fire_at, series_tests_start, series_tests) =
            (&mut calm.fire_at, &calm.series_tests_start, &calm.series_tests);
        draw_series(s, twins.clone(), &mut words, &mut streams[twins.clone()], &mut noise[a..b], needed, |j, drive| {
            let i = s.twin[j] as usize;
            if drawn[i] {
                store(&mut block, j, drive);
            }
            let slot = &tw.slot[i];
            let trig = &mut trig[i - first];
            let (min, max) = (s.min[j], s.max[j]);
            // As an undisturbed twin has it (`SeriesTable::undisturbed`): memory capped
            // by the eviction policy.
            let j32 = j as u32;
            let capped: [f64; B];
            let x = if j32 == slot[Role::Memory as usize] {
                let memory_cap = tw.cfg[i].memory_cap;
                capped = drive.map(|x| x.min(memory_cap));
                &capped
            } else {
                drive
            };
            let (first, last) = (series_tests_start[j] as usize, series_tests_start[j + 1] as usize);
            let load_role = s.role[j] <= Role::Disk;
            if first == last && !load_role {
                return;
            }
            // Its load's triggers: cores handed back to its host (CPU below zero or not
            // a number), out of memory, a full disk.
            let (lo, hi, nan) = extremes(x);
            if j32 == slot[Role::Cpu as usize] && (lo < 0.0 || nan) {
                *trig |= ticks_where(x, |d| d < 0.0 || d.is_nan());
            } else if j32 == slot[Role::Memory as usize] && hi > 100.0 {
                *trig |= ticks_where(x, |d| d > 100.0);
            } else if j32 == slot[Role::Disk as usize] && hi >= 100.0 {
                *trig |= ticks_where(x, |d| d >= 100.0);
            }
            // The ticks its plain rules fire at: none unless one fires on the largest
            // (smallest) value, as the rules, clamping and rounding are monotone.
            if first < last {
                let rounding = s.rounding[j];
                let value = |x: f64| rounding.apply(clamp_unchecked(x, min, max));
                let (lowest, highest) = (value(lo), value(hi));
                for &(k, test) in &series_tests[first..last] {
                    if test.fires(if test.sign > 0.0 { highest } else { lowest }) {
                        let mask = ticks_where(x, |x| test.fires(value(x)));
                        if mask != 0 {
                            fire_at.push((k, mask));
                        }
                    }
                }
            }
        });
        for (i, &trig) in twins.zip(&trig) {
            if trig != 0 {
                calm.trig_at.push((i as u32, trig));
            }
        }
    }
    let s = &mut world.series;
    s.block = block;
    s.noise = noise;
    s.noise_rng = streams;
    s.words = words;
    s.drawn = drawn;
}

/// Makes sure twin `i`'s drive for this block is in `block` (drawn again from the
/// block's start if it was not kept).
pub(crate) fn ensure_drawn(s: &mut SeriesTable, i: usize) {
    if s.drawn[i] {
        return;
    }
    let mut block = std::mem::take(&mut s.block);
    let mut words = std::mem::take(&mut s.words);
    draw_again(s, i, &mut words, |j, drive| store(&mut block, j, drive));
    s.block = block;
    s.words = words;
    s.drawn[i] = true;
}

/// Series `j`'s drive at block tick `k` without keeping it (for a twin not drawn).
pub(crate) fn drive_at(s: &SeriesTable, j: usize, k: usize) -> f64 {
    let i = s.twin[j] as usize;
    drive_of(s, i, k)[j - s.twin_start[i] as usize]
}

/// Twin `i`'s drive at block tick `k`, series by series, without keeping it.
pub(crate) fn drive_of(s: &SeriesTable, i: usize, k: usize) -> Vec<f64> {
    let mut drive = Vec::with_capacity((s.twin_start[i + 1] - s.twin_start[i]) as usize);
    draw_again(s, i, &mut Vec::new(), |_, x| drive.push(x[k]));
    drive
}

/// Draws twin `i`'s series again from the block's start (its stream and noise as they
/// were), handing each to `each`.
fn draw_again(s: &SeriesTable, i: usize, words: &mut Vec<u32>, each: impl FnMut(usize, &[f64; B])) {
    let (a, b) = (s.twin_start[i] as usize, s.twin_start[i + 1] as usize);
    let mut stream = s.stream_start[i].clone();
    let mut noise = s.noise_start[a..b].to_vec();
    draw_series(s, i..i + 1, words, std::slice::from_mut(&mut stream), &mut noise, |_| true, each);
}

/// Draws the series of the consecutive `twins` over the block, handing each series'
/// drive to `each`: each twin's words come from its stream (`streams`, one per twin)
/// in one go, `noise` holds their series' AR states (advanced to the block's end).
/// First the noise of up to 16 series (of one twin or several), tick by tick: their
/// recurrences run side by side in lanes instead of waiting on each other, and a lane
/// computes the same whatever the others hold. Then per series the expected values
/// over the block (no recurrence: it vectorizes), for the series `needed`.
#[inline(always)]
fn draw_series(
    s: &SeriesTable,
    twins: std::ops::Range<usize>,
    words: &mut Vec<u32>,
    streams: &mut [NoiseStream],
    noise: &mut [f64],
    needed: impl Fn(usize) -> bool,
    mut each: impl FnMut(usize, &[f64; B]),
) {
    const LANES: usize = 16;
    let half = B / 2;
    // `rng::normal` (or a heavier-tailed distribution), with the table looked up once.
    let table = super::rng::noise_tables();
    let terms = &s.terms;
    let (a, b) = (s.twin_start[twins.start] as usize, s.twin_start[twins.end] as usize);
    // (Room for a whole chunk of lanes past the last series: the lanes past it read it.)
    words.resize((b - a + LANES) * half, 0);
    for (i, stream) in twins.zip(streams) {
        let (x, y) = (s.twin_start[i] as usize - a, s.twin_start[i + 1] as usize - a);
        stream.fill(&mut words[x * half..y * half]);
    }
    // `drawn[k][c]`: the noise of series `c` of the chunk at tick `k`.
    let mut drawn = [[0.0; LANES]; B];
    for first in (a..b).step_by(LANES) {
        let m = (b - first).min(LANES);
        let (mut memory, mut innovation, mut last) = ([0.0; LANES], [0.0; LANES], [0.0; LANES]);
        let mut tails = [0u32; LANES];
        // (Element by element: a copy of a length known only at run time is a call.)
        for c in 0..m {
            (memory[c], innovation[c], last[c]) = (s.memory[first + c], s.innovation[first + c], noise[first - a + c]);
            tails[c] = s.tails[first + c];
        }
        // A lane's words are `half` apart; 16 bits of a word per tick (lanes past `m`
        // read what follows, with no memory and no innovation: unused).
        // (Always a whole chunk: `words` has room for one past the last series.)
        let Ok(lanes) = <&[u32; LANES * B / 2]>::try_from(&words[(first - a) * half..(first - a + LANES) * half])
        else {
            return;
        };
        for k in 0..B {
            for c in 0..LANES {
                let level = (lanes[c * half + k / 2] >> (16 * (k % 2))) & 0xffff;
                let at = (tails[c] | level) as usize & (table.len() - 1);
                last[c] = memory[c] * last[c] + innovation[c] * f64::from(table[at]);
            }
            drawn[k] = last;
        }
        for c in 0..m {
            noise[first - a + c] = last[c];
        }
        for (c, j) in (first..first + m).enumerate() {
            if !needed(j) {
                continue;
            }
            let (base, trend, amp_cos, amp_sin, weekend_factor) =
                (s.base[j], s.trend[j], s.amp_cos[j], s.amp_sin[j], s.weekend[j]);
            // A series without incidents is driven by its clamped value as drawn; one
            // with incidents is finished at its tick (the engine's `drive`).
            let (lo, hi) = if s.incident_range[j].0 < s.incident_range[j].1 {
                (f64::NEG_INFINITY, f64::INFINITY)
            } else {
                (s.min[j], s.max[j])
            };
            let mut out = [0.0; B];
            if s.profile[j] == NONE {
                for k in 0..B {
                    let level = base + trend * terms.days[k] + amp_cos * terms.cos_a[k] + amp_sin * terms.sin_a[k];
                    let factor = if terms.weekend[k] { weekend_factor } else { 1.0 };
                    out[k] = clamp_unchecked(level * factor + drawn[k][c], lo, hi);
                }
            } else {
                // Learned models: their daily and weekly profiles added to the level.
                let (daily, weekly) = &s.profiles[s.profile[j] as usize];
                for k in 0..B {
                    let t = terms.t[k];
                    let level = base + trend * terms.days[k] + amp_cos * terms.cos_a[k] + amp_sin * terms.sin_a[k];
                    let level = level + (profile_value(daily, t) + weekday_value(weekly, t));
                    let factor = if terms.weekend[k] { weekend_factor } else { 1.0 };
                    out[k] = clamp_unchecked(level * factor + drawn[k][c], lo, hi);
                }
            }
            each(j, &out);
        }
    }
}

/// Stores series `j`'s block in `block` (a copy of known length: no call).
#[inline(always)]
fn store(block: &mut [f64], j: usize, drive: &[f64; B]) {
    if let Ok(row) = <&mut [f64; B]>::try_from(&mut block[j * B..(j + 1) * B]) {
        *row = *drive;
    }
}

/// The smallest and largest of a block's values that are numbers (of two zeros, either),
/// and whether one is not. In 8 lanes that do not wait on each other, then across them.
#[inline(always)]
fn extremes(values: &[f64; B]) -> (f64, f64, bool) {
    const LANES: usize = 8;
    let (mut lo, mut hi, mut nan) = ([f64::INFINITY; LANES], [f64::NEG_INFINITY; LANES], [false; LANES]);
    for chunk in values.chunks_exact(LANES) {
        for l in 0..LANES {
            let x = chunk[l];
            lo[l] = if x < lo[l] { x } else { lo[l] };
            hi[l] = if x > hi[l] { x } else { hi[l] };
            nan[l] |= x.is_nan();
        }
    }
    let (mut low, mut high) = (lo[0], hi[0]);
    for l in 1..LANES {
        low = if lo[l] < low { lo[l] } else { low };
        high = if hi[l] > high { hi[l] } else { high };
    }
    (low, high, nan.contains(&true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::noise::normal;
    use crate::model::{NoiseTails, SeriesKey, Twin, TwinKind, WorkloadModel};
    use crate::scenario::Scenario;
    use crate::sim::WorldConfig;

    /// A twin with `metrics` noisy series (more than a chunk of 8 when above 8).
    fn world(metrics: usize) -> World {
        let mut s = Scenario { name: "draw".into(), seed: 3, resolution_secs: 60, ..Scenario::default() };
        s.start = 1_800_000_000;
        s.end = s.start + 86_400;
        s.graph.add_twin(Twin::new("svc", TwinKind::Service)).unwrap();
        for m in 0..metrics {
            let model = WorkloadModel {
                base: 10.0 + m as f64,
                daily_amplitude: 3.0,
                peak_hour: m as f64,
                weekend_factor: 0.8,
                trend_per_day: 0.1 * m as f64,
                noise: 1.0 + m as f64 / 4.0,
                noise_memory: 0.1 * (m % 10) as f64,
                // Some with a learned model's profiles, some with heavy tails.
                daily_profile: if m % 3 == 1 { (0..24).map(|h| (h as f64 - 11.5) * 0.3).collect() } else { Vec::new() },
                weekly_profile: if m % 5 == 2 { vec![1.0, 1.0, 1.0, 1.0, 0.5, -2.0, -2.5] } else { Vec::new() },
                tails: match m % 4 {
                    1 => NoiseTails::StudentT(3),
                    2 => NoiseTails::StudentT(10),
                    _ => NoiseTails::Normal,
                },
                ..WorkloadModel::flat(0.0)
            };
            s.workloads.insert(SeriesKey::new("svc", format!("metric_{m:02}").as_str()), model);
        }
        World::new(&s, WorldConfig::for_scenario(&s)).unwrap()
    }

    /// Series `j`'s drive over the block, series by series as the model defines it.
    fn by_the_model(w: &World, j: usize) -> Vec<f64> {
        let s = &w.series;
        let count = s.key.len();
        let mut words = vec![0; count * B / 2];
        s.stream_start[0].clone().fill(&mut words);
        let mut noise = s.noise_start[j];
        (0..B)
            .map(|k| {
                let word = words[j * B / 2 + k / 2] >> (16 * (k % 2));
                let z = f64::from(crate::sim::rng::noise_tables()[(s.tails[j] | (word & 0xffff)) as usize]);
                if s.tails[j] == 0 {
                    assert_eq!(z, normal(word));
                }
                noise = s.memory[j] * noise + s.innovation[j] * z;
                let t = &s.terms;
                let level = s.base[j] + s.trend[j] * t.days[k] + s.amp_cos[j] * t.cos_a[k] + s.amp_sin[j] * t.sin_a[k];
                let level = match s.profile[j] {
                    NONE => level,
                    p => {
                        let (daily, weekly) = &s.profiles[p as usize];
                        level + (profile_value(daily, t.t[k]) + weekday_value(weekly, t.t[k]))
                    }
                };
                let factor = if t.weekend[k] { s.weekend[j] } else { 1.0 };
                clamp_unchecked(level * factor + noise, s.min[j], s.max[j])
            })
            .collect()
    }

    #[test]
    fn every_series_of_a_twin_is_drawn_as_its_model_defines_it() {
        for metrics in [1, 6, 8, 11, 17] {
            let mut w = world(metrics);
            // Kept, to compare with drawing again.
            w.calm.loud = vec![true; w.twins.ids.len()];
            for first_tick in [0, B as u64] {
                fill_block(&mut w, first_tick);
                assert!(w.series.drawn[0], "a loud twin's drive is kept");
                let kept = w.series.block.clone();
                for j in 0..metrics {
                    let expected = by_the_model(&w, j);
                    assert_eq!(&kept[j * B..(j + 1) * B], &expected[..], "{metrics} series: series {j}");
                    for k in [0, 7, B - 1] {
                        w.series.cur = k;
                        assert_eq!(drive_at(&w.series, j, k).to_bits(), expected[k].to_bits());
                    }
                }
                // Drawn again from the block's start: the same.
                w.series.block.fill(f64::NAN);
                w.series.drawn[0] = false;
                ensure_drawn(&mut w.series, 0);
                assert_eq!(w.series.block, kept);
            }
            // A calm twin's is not, unless someone watches it.
            w.calm.loud = vec![false; w.twins.ids.len()];
            fill_block(&mut w, 2 * B as u64);
            assert!(!w.series.drawn[0]);
            w.watch(0);
            assert!(w.series.drawn[0]);
            fill_block(&mut w, 3 * B as u64);
            assert!(w.series.drawn[0], "a watched twin's drive is kept");
        }
    }
}
