//! Epoch interruption through the stack limit, as V8's stack guard does.
//!
//! Every compiled function that makes calls or has a frame compares the stack pointer with
//! its store's [`VMStoreContext::stack_limit`] in its prologue, and that check exists
//! whatever the configuration. To interrupt a store's wasm, its limit is set to
//! [`INTERRUPTED_STACK_LIMIT`], above any stack: the next such prologue traps, and
//! `traps::catch_traps` reports the trap as an interrupt rather than a stack overflow.
//! Function entries thus pay nothing for epochs; loop headers (which a loop may spin on
//! without entering a function) test the limit's top bit.
//!
//! Whoever changes the epoch or a deadline makes sure the limit follows:
//! - [`EpochStores::increment`] bumps the engine's epoch, then sets the limit of each
//!   registered store whose deadline the epoch reached;
//! - the outermost call into wasm of a store sets the real limit, then checks the epoch
//!   itself ([`VMStoreContext::interrupt_if_due`]);
//! - a deadline moved while wasm runs puts the real limit back, then checks again.
//!
//! All these accesses are sequentially consistent, so of a bump and a limit write racing,
//! either the bumper sees the new deadline or the store's own check sees the new epoch: a
//! store past its deadline ends up interrupted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::vmcontext::VMStoreContext;

/// The stack limit of an interrupted store: above every stack (user-space addresses stay
/// below 2^57 on x86-64 and aarch64), so that prologues trap, and far enough below
/// `usize::MAX` that a prologue adding its frame size (under 2^32) to it does not wrap. Its
/// top bit is set, which is what loop headers test.
pub const INTERRUPTED_STACK_LIMIT: usize = 1 << 63;

/// The stores of an engine with epoch interruption, which [`EpochStores::increment`]
/// interrupts once the epoch reaches their deadline.
#[derive(Debug, Default)]
pub struct EpochStores {
    /// The registered store contexts, by address.
    stores: Mutex<Vec<usize>>,
}

impl EpochStores {
    /// Adds `store` to the stores that epoch bumps interrupt.
    ///
    /// # Safety
    /// `store` must stay valid until [`EpochStores::unregister`] removes it.
    pub unsafe fn register(&self, store: *const VMStoreContext) {
        self.lock().push(store as usize);
    }

    /// Removes `store`; bumps no longer touch it once this returns.
    pub fn unregister(&self, store: *const VMStoreContext) {
        let mut stores = self.lock();
        if let Some(i) = stores.iter().position(|&s| s == store as usize) {
            stores.swap_remove(i);
        }
    }

    /// Advances `epoch` by one and interrupts the registered stores whose deadline it
    /// reached.
    pub fn increment(&self, epoch: &AtomicU64) {
        let now = epoch.fetch_add(1, Ordering::SeqCst) + 1;
        for &store in self.lock().iter() {
            // SAFETY: registered stores are valid until unregistered, which waits for this
            // lock; `interrupt_if_due` touches only the context's atomic fields, which any
            // thread may access.
            unsafe { (*(store as *const VMStoreContext)).interrupt_if_due(now) };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<usize>> {
        // A panic while holding the lock leaves the list intact: every update is one push
        // or one swap_remove.
        self.stores.lock().unwrap_or_else(|e| e.into_inner())
    }
}
