//! Which twins the engine's passes visit at a tick.
//!
//! Most twins of an estate are *calm* at most ticks: nothing bends them (no fault, no
//! capacity or configuration change, no incident in their models, all reachable, the
//! usual traffic, on their own host). A calm twin's values at every tick of a block are
//! known when the block is drawn (`draw`, `SeriesTable::undisturbed`), and so are the
//! ticks at which its rules fire and its load would do something (run out of memory,
//! fill its disk, hand cores back to its host). The passes visit only:
//!
//! - the *loud* twins (not calm), recomputed when something they depend on changes;
//! - the calm twins whose drawn load does something at this tick (`trig`);
//! - those the visited ones reach: a host given cores, the workloads of a slowed or
//!   shedding host, the callers of a twin with extra latency or failure;
//!
//! in the order of the full pass (placement for load, callees before callers for
//! failure), so each twin is computed exactly as the full pass computes it. A calm twin
//! not visited has its drawn values and the per-tick state of an undisturbed twin (no
//! slowdown, nothing shed, no extra latency or failure). The rules pass evaluates the
//! rules of the visited twins, those firing on the drawn values (`fire`), those that
//! fired at the last tick, and those it cannot know ahead (`always`).
//!
//! With the shortcuts off (`World::set_shortcuts(false)`) every twin is loud, and every
//! pass visits all of them.

use super::world::{BLOCK_TICKS, NONE, RuleTest, SeriesTable, Topology, Twins};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The engine's schedule of visits (see the module docs).
#[derive(Clone, Debug, Default)]
pub(crate) struct Calm {
    /// Position of each twin in the load pass's order (`Topology::placement`).
    pub placement_rank: Vec<u32>,
    /// Position of each twin in `Topology::order` (callers before callees).
    pub order_rank: Vec<u32>,
    /// Whether a twin has a series with incidents (its values are known only at the tick).
    pub has_incidents: Vec<bool>,
    /// Whether a twin is loud (not calm).
    pub loud: Vec<bool>,
    /// Twins whose values someone reads at every tick (`World::watch`): their drive is
    /// kept like a loud twin's, so a read needs no drawing again.
    pub watched: Vec<bool>,
    /// The loud twins, in load order (ascending placement rank) and in failure order
    /// (descending order rank).
    pub loud_load: Vec<u32>,
    pub loud_failure: Vec<u32>,
    /// Twins running on each twin now: rows of `hosted`.
    pub hosted_start: Vec<u32>,
    pub hosted: Vec<u32>,
    /// Rule tests by twin: rows of `twin_tests`.
    pub twin_tests_start: Vec<u32>,
    pub twin_tests: Vec<u32>,
    /// Tests evaluated at every tick: those with a state (windows, `for`), and `up`
    /// tests that fire on a serving twin.
    pub always: Vec<u32>,
    /// Per tick of the block, the calm twins whose drawn load does something: rows of `trig`.
    pub trig_start: Vec<u32>,
    pub trig: Vec<u32>,
    /// Per tick of the block, the tests firing on the drawn values: rows of `fire`.
    pub fire_start: Vec<u32>,
    pub fire: Vec<u32>,
    /// While a block is drawn: the tests firing on the drawn values, and the twins whose
    /// drawn load does something, with the ticks as bits.
    pub fire_at: Vec<(u32, u32)>,
    pub trig_at: Vec<(u32, u32)>,
    /// Rule tests by series: rows of `series_tests` (plain thresholds only), each with
    /// a copy of the test (read in series order while drawing).
    pub series_tests_start: Vec<u32>,
    pub series_tests: Vec<(u32, RuleTest)>,
    /// Tests firing at the last tick.
    pub firing: Vec<u32>,
    /// Scratch of the rules pass: the tests it evaluates.
    pub candidates: Vec<u32>,
    /// The tick at which a twin was last visited by the load, failure and values
    /// passes, and a test evaluated (stamps, so nothing needs clearing).
    pub load_seen: Vec<u64>,
    pub failure_seen: Vec<u64>,
    pub values_seen: Vec<u64>,
    pub test_seen: Vec<u64>,
    /// This tick: the twins the load pass visited, and those whose values were computed.
    pub load_visited: Vec<u32>,
    /// The twins whose load state (slowdown, shedding, cores) and failure state (extra
    /// latency and failure, a dependency's news) the last tick changed.
    pub load_touched: Vec<u32>,
    pub failure_touched: Vec<u32>,
    pub values_visited: Vec<u32>,
    /// Twins reached on the way, by their key in the pass's order.
    pub heap: BinaryHeap<Reverse<(u32, u32)>>,
}

impl Calm {
    /// The schedule of a new world (`refresh` computes the loud twins).
    pub(crate) fn new(twins: &Twins, series: &SeriesTable, topo: &Topology, tests: &[RuleTest]) -> Self {
        let n = twins.ids.len();
        let mut has_incidents = vec![false; n];
        for &j in &series.with_incidents {
            has_incidents[series.twin[j as usize] as usize] = true;
        }
        let (twin_tests_start, twin_tests) = rows(n, tests.iter().enumerate().map(|(k, t)| (t.twin, k as u32)));
        let plain = tests.iter().enumerate().filter(|(_, t)| t.series != NONE && t.sign != 0.0);
        let (series_tests_start, series_tests) = rows(series.key.len(), plain.map(|(k, t)| (t.series, k as u32)));
        let series_tests = series_tests.into_iter().map(|k| (k, tests[k as usize])).collect();
        let always = (0..tests.len() as u32)
            .filter(|&k| {
                let t = &tests[k as usize];
                t.sign == 0.0 || (t.series == NONE && t.fires(1.0))
            })
            .collect();
        let mut calm = Calm {
            has_incidents,
            twin_tests_start,
            twin_tests,
            series_tests_start,
            series_tests,
            always,
            watched: vec![false; n],
            load_seen: vec![0; n],
            failure_seen: vec![0; n],
            values_seen: vec![0; n],
            test_seen: vec![0; tests.len()],
            trig_start: vec![0; BLOCK_TICKS + 1],
            fire_start: vec![0; BLOCK_TICKS + 1],
            ..Calm::default()
        };
        calm.order_rank = rank(&topo.order);
        calm.placement_rank = rank(&topo.placement);
        calm
    }

    /// Recomputes the loud twins, the placement ranks and who runs where.
    pub(crate) fn refresh(&mut self, twins: &Twins, topo: &Topology, shortcuts: bool) {
        self.placement_rank = rank(&topo.placement);
        let n = twins.ids.len();
        let (hosted_start, hosted) =
            rows(n, (0..n as u32).filter(|&i| twins.host[i as usize] != NONE).map(|i| (twins.host[i as usize], i)));
        (self.hosted_start, self.hosted) = (hosted_start, hosted);
        let calm = |i: usize| {
            let fx = &twins.fx[i];
            shortcuts
                && twins.plain[i]
                && !twins.down[i]
                && twins.reachable[i]
                && twins.traffic[i] == 1.0
                && twins.consumers_up[i] >= 1.0
                && twins.host[i] == twins.base_host[i]
                && fx.latency_ms == 0.0
                && !fx.cut
                && !fx.partitioned
                && !fx.crashed
                && !topo.back_edge[i]
                && !self.has_incidents[i]
                && !twins.stale[i]
        };
        self.loud = (0..n).map(|i| !calm(i)).collect();
        self.loud_load = topo.placement.iter().copied().filter(|&i| self.loud[i as usize]).collect();
        self.loud_failure = topo.order.iter().rev().copied().filter(|&i| self.loud[i as usize]).collect();
    }

    /// After a block is drawn: the rows per tick of the tests firing on the drawn
    /// values and of the twins whose drawn load does something (`fire_at`, `trig_at`:
    /// (index, ticks of the block as bits), gathered while drawing).
    pub(crate) fn index_block(&mut self) {
        (self.fire_start, self.fire) = tick_rows(&self.fire_at);
        (self.trig_start, self.trig) = tick_rows(&self.trig_at);
    }
}

/// The ticks of a block at which `holds` holds for `values`, as bits.
#[inline(always)]
pub(crate) fn ticks_where(values: &[f64; BLOCK_TICKS], holds: impl Fn(f64) -> bool) -> u32 {
    let mut mask = 0u32;
    for (k, &v) in values.iter().enumerate() {
        mask |= u32::from(holds(v)) << k;
    }
    mask
}

impl RuleTest {
    /// Whether a plain threshold fires on `value`.
    #[inline(always)]
    pub(crate) fn fires(&self, value: f64) -> bool {
        let x = value * self.sign;
        if self.strict { x > self.bound } else { x >= self.bound }
    }
}

/// Each item's position in `order`.
fn rank(order: &[u32]) -> Vec<u32> {
    let mut rank = vec![0; order.len()];
    for (k, &i) in order.iter().enumerate() {
        rank[i as usize] = k as u32;
    }
    rank
}

/// Compressed rows of `(row, item)` pairs for rows `0..n`, items in the given order.
fn rows(n: usize, pairs: impl Iterator<Item = (u32, u32)> + Clone) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0u32; n + 1];
    for (r, _) in pairs.clone() {
        start[r as usize + 1] += 1;
    }
    for r in 0..n {
        start[r + 1] += start[r];
    }
    let mut at = start.clone();
    let mut items = vec![0; start[n] as usize];
    for (r, item) in pairs {
        items[at[r as usize] as usize] = item;
        at[r as usize] += 1;
    }
    (start, items)
}

/// Rows per tick of the block: the indices whose ticks (bits) have the tick.
fn tick_rows(at: &[(u32, u32)]) -> (Vec<u32>, Vec<u32>) {
    let bits =
        at.iter().flat_map(|&(x, m)| (0..BLOCK_TICKS as u32).filter(move |k| m >> k & 1 == 1).map(move |k| (k, x)));
    rows(BLOCK_TICKS, bits)
}
