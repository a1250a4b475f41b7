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
    let total = items.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..total).map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(total.max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !cancel.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else {
                        return;
                    };
                    let result = f(item);
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
}
