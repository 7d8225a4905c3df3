//! `memory.atomic.wait` and `notify`: threads parked by address, per shared memory.
//!
//! A waiter compares the memory's value with the expected one while holding the queue's
//! lock and enqueues itself under the same lock; a notifier takes the lock after its store.
//! So a notify either sees the waiter queued or the waiter sees the new value: no wakeup is
//! lost. Parked threads sleep on a condition variable, never spin.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What `wait` returns, with the spec's codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// Woken by a notify (0).
    Woken = 0,
    /// The value was not the expected one (1).
    NotEqual = 1,
    /// The timeout passed (2).
    TimedOut = 2,
}

#[derive(Default)]
struct Waiter {
    woken: Mutex<bool>,
    condvar: Condvar,
}

/// The threads waiting on one memory, by address.
#[derive(Default)]
pub struct WaitQueue {
    waiters: Mutex<HashMap<u64, VecDeque<Arc<Waiter>>>>,
}

impl std::fmt::Debug for WaitQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitQueue").finish_non_exhaustive()
    }
}

impl WaitQueue {
    /// Parks the calling thread on `address` if `still_expected()` holds, until notified or
    /// until `timeout` passes (`None`: forever).
    pub fn wait(
        &self,
        address: u64,
        still_expected: impl FnOnce() -> bool,
        timeout: Option<Duration>,
    ) -> WaitResult {
        let waiter = Arc::new(Waiter::default());
        {
            let mut queues = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if !still_expected() {
                return WaitResult::NotEqual;
            }
            queues.entry(address).or_default().push_back(waiter.clone());
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut woken = waiter.woken.lock().unwrap_or_else(|e| e.into_inner());
        while !*woken {
            match deadline {
                None => {
                    woken = waiter
                        .condvar
                        .wait(woken)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    woken = waiter
                        .condvar
                        .wait_timeout(woken, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        if *woken {
            return WaitResult::Woken;
        }
        drop(woken);
        // Timed out: leave the queue, unless a notify picked this waiter meanwhile.
        let mut queues = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = queues.get_mut(&address) {
            if let Some(i) = queue.iter().position(|w| Arc::ptr_eq(w, &waiter)) {
                queue.remove(i);
                if queue.is_empty() {
                    queues.remove(&address);
                }
                return WaitResult::TimedOut;
            }
        }
        WaitResult::Woken
    }

    /// Wakes up to `count` threads waiting on `address`, oldest first; returns how many.
    pub fn notify(&self, address: u64, count: u32) -> u32 {
        let mut queues = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        let Some(queue) = queues.get_mut(&address) else {
            return 0;
        };
        let mut woken = 0;
        while woken < count {
            let Some(waiter) = queue.pop_front() else {
                break;
            };
            *waiter.woken.lock().unwrap_or_else(|e| e.into_inner()) = true;
            waiter.condvar.notify_one();
            woken += 1;
        }
        if queue.is_empty() {
            queues.remove(&address);
        }
        woken
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::thread;

    use super::*;

    #[test]
    fn wait_returns_not_equal_timed_out_and_woken() {
        let queue = Arc::new(WaitQueue::default());
        assert_eq!(queue.wait(0, || false, None), WaitResult::NotEqual);
        let short = Some(Duration::from_millis(10));
        assert_eq!(queue.wait(0, || true, short), WaitResult::TimedOut);
        assert_eq!(queue.notify(0, 1), 0);

        let value = Arc::new(AtomicU32::new(0));
        let (q, v) = (queue.clone(), value.clone());
        let waiter = thread::spawn(move || {
            q.wait(
                8,
                || v.load(Ordering::SeqCst) == 0,
                Some(Duration::from_secs(30)),
            )
        });
        let mut woken = 0;
        while woken == 0 {
            value.store(1, Ordering::SeqCst);
            woken = queue.notify(8, u32::MAX);
            if woken == 0 && waiter.is_finished() {
                break;
            }
            thread::yield_now();
        }
        let result = waiter.join().unwrap();
        assert!(result == WaitResult::Woken || result == WaitResult::NotEqual);
    }
}
