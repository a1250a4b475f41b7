//! Work over many series on all cores, with progress and cancellation. Results come
//! back in input order, so the outcome does not depend on thread scheduling.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Applies `f` to every item on up to 8 threads. `progress(done, total)` is called after
/// each item; `None` when `cancel` was set before every item was done.
pub fn map_items<T: Sync, R: Send>(
    items: &[T],
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
    f: impl Fn(&T) -> R + Sync,
) -> Option<Vec<R>> {
    map_items_prioritised(items, &|_| None, progress, cancel, f, |_, _| {})
}

/// [`map_items`] in an order the caller steers while it runs: before each item a
/// thread asks `urgent` (given which items are taken) for an item wanted now, and takes
/// the next item in input order when there is none. `done(i, &result)` is called as
/// each result arrives (to stream results out). Results come back in input order
/// whatever the order of work.
pub fn map_items_prioritised<T: Sync, R: Send>(
    items: &[T],
    urgent: &(dyn Fn(&[AtomicBool]) -> Option<usize> + Sync),
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
    f: impl Fn(&T) -> R + Sync,
    done_one: impl Fn(usize, &R) + Sync,
) -> Option<Vec<R>> {
    let total = items.len();
    let taken: Vec<AtomicBool> = (0..total).map(|_| AtomicBool::new(false)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..total).map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(total.max(1));
    // The item to do next: an urgent one not yet taken, else the next one in order.
    let claim = || -> Option<usize> {
        while let Some(i) = urgent(&taken) {
            if i < total && !taken[i].swap(true, Ordering::Relaxed) {
                return Some(i);
            }
        }
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= total {
                return None;
            }
            if !taken[i].swap(true, Ordering::Relaxed) {
                return Some(i);
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !cancel.load(Ordering::Relaxed) {
                    let Some(i) = claim() else {
                        return;
                    };
                    let result = f(&items[i]);
                    done_one(i, &result);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(result);
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                }
            });
        }
    });
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_input_order_and_cancel_gives_none() {
        let items: Vec<u64> = (0..100).collect();
        let calls = AtomicUsize::new(0);
        let out = map_items(&items, &|_, _| {}, &AtomicBool::new(false), |x| {
            calls.fetch_add(1, Ordering::Relaxed);
            x * x
        });
        assert_eq!(out, Some(items.iter().map(|x| x * x).collect()));
        assert_eq!(calls.load(Ordering::Relaxed), 100);
        assert_eq!(map_items(&items, &|_, _| {}, &AtomicBool::new(true), |x| *x), None);
        assert_eq!(map_items(&[] as &[u8], &|_, _| {}, &AtomicBool::new(false), |x| *x), Some(vec![]));
    }

    #[test]
    fn urgent_items_go_first_and_results_keep_input_order() {
        let items: Vec<u64> = (0..50).collect();
        let streamed = Mutex::new(Vec::new());
        // Items 40..50 are wanted now (as a view wants what is on screen), last first.
        let urgent_done = AtomicBool::new(false);
        let urgent = |taken: &[AtomicBool]| {
            let wanted = (40..50).rev().find(|&i| !taken[i].load(Ordering::Relaxed));
            if wanted.is_none() {
                urgent_done.store(true, Ordering::Relaxed);
            }
            wanted
        };
        let out = map_items_prioritised(
            &items,
            &urgent,
            &|_, _| {},
            &AtomicBool::new(false),
            |x| {
                // No item in input order starts while an urgent one is left.
                assert!(*x >= 40 || urgent_done.load(Ordering::Relaxed), "item {x} before the urgent ones");
                x + 1
            },
            |i, r| streamed.lock().unwrap().push((i, *r)),
        );
        assert_eq!(out, Some(items.iter().map(|x| x + 1).collect()));
        let streamed = streamed.into_inner().unwrap();
        assert_eq!(streamed.len(), 50);
        assert!(streamed.iter().all(|(i, r)| *r == *i as u64 + 1));
    }
}
