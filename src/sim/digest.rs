//! The state digest: BLAKE3 over a canonical encoding of a world's state, so two runs
//! can be compared by one string. Same scenario, seed and inputs give the same digest
//! on any machine (M19); any difference in a metric value, capacity, status,
//! configuration, pending action, active fault or approval queue changes it.
//!
//! Encoding (version 1), all integers little-endian, strings length-prefixed:
//! `"twinbench-state/1"`, now, tick count, seed; per twin in id order: id, status,
//! reachable, capacity (four f64 bit patterns), current host, restart and reset times,
//! configuration as sorted `key=value` text; per series in (twin, metric) order: key,
//! value bits, reported; per rule instance: firing; pending actions in due order
//! (due, twin, action, id); active faults in start order (kind, twin, start, duration,
//! cleared); the approval queue's ids in order; the actions started so far (time,
//! twin, action, id). Random-stream positions are not encoded: they run ahead by a
//! block and are fully determined by the rest.

use super::world::{NONE, World};

struct Encoder(blake3::Hasher);

impl Encoder {
    fn u64(&mut self, x: u64) {
        self.0.update(&x.to_le_bytes());
    }
    fn i64(&mut self, x: i64) {
        self.0.update(&x.to_le_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    fn flag(&mut self, b: bool) {
        self.0.update(&[u8::from(b)]);
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.update(s.as_bytes());
    }
}

/// The digest of a world's state as 64 hex digits.
pub fn state_digest(world: &World) -> String {
    let mut e = Encoder(blake3::Hasher::new());
    e.str("twinbench-state/1");
    e.i64(world.now);
    e.u64(world.tick);
    e.u64(world.seed);
    let tw = &world.twins;
    for i in 0..tw.ids.len() {
        e.str(tw.ids[i].as_str());
        e.str(tw.status[i].as_str());
        e.flag(tw.reachable[i]);
        let c = tw.caps[i];
        for x in [c.cpu, c.memory, c.disk, c.replicas] {
            e.f64(x);
        }
        e.str(if tw.host[i] == NONE { "" } else { tw.ids[tw.host[i] as usize].as_str() });
        e.i64(tw.restart_until[i]);
        e.i64(tw.reset_at[i]);
        if let Some(twin) = world.graph.twin(&tw.ids[i]) {
            e.u64(twin.config.len() as u64);
            for (k, v) in &twin.config {
                e.str(&format!("{k}={v}"));
            }
        }
    }
    let s = &world.series;
    let values = world.values_now();
    for (j, value) in values.iter().enumerate() {
        e.str(s.key[j].twin.as_str());
        e.str(s.key[j].metric.as_str());
        e.f64(*value);
        e.flag(world.reported(j));
    }
    for firing in &world.rules.firing {
        e.flag(*firing);
    }
    e.u64(world.pending.len() as u64);
    for p in &world.pending {
        e.i64(p.due);
        e.str(tw.ids[p.twin as usize].as_str());
        e.str(&p.kind.to_string());
        e.str(&p.id);
    }
    e.u64(world.faults.len() as u64);
    for f in &world.faults {
        e.str(&f.fault.kind.to_string());
        e.str(f.fault.twin.as_str());
        e.i64(f.fault.start);
        e.i64(f.fault.duration_secs.unwrap_or(-1));
        e.flag(f.cleared);
    }
    let queue = world.orchestrator.queue();
    e.u64(queue.len() as u64);
    for c in queue {
        e.str(&c.id);
    }
    e.u64(world.acct.actions.len() as u64);
    for a in &world.acct.actions {
        e.i64(a.at);
        e.str(a.twin.as_str());
        e.str(&a.kind.to_string());
        e.str(&a.id);
    }
    e.0.finalize().to_hex().to_string()
}
