//! Epoch interruption: through the stack limit, as V8's stack guard does, and through a
//! page that loop headers read, as HotSpot's safepoint polls do.
//!
//! Every compiled function that makes calls or has a frame compares the stack pointer with
//! its store's [`VMStoreContext::stack_limit`] in its prologue, and that check exists
//! whatever the configuration. To interrupt a store's wasm, its limit is set to
//! [`INTERRUPTED_STACK_LIMIT`], above any stack: the next such prologue traps, and
//! `traps::catch_traps` reports the trap as an interrupt rather than a stack overflow.
//! Function entries thus pay nothing for epochs. Loop headers (which a loop may spin on
//! without entering a function) read a byte of the store's [`EpochPoll`] page, which an
//! interrupt makes inaccessible: the read faults, and the fault is the trap. A loop's
//! check is one load, with no compare and no branch.
//!
//! Whoever changes the epoch or a deadline makes sure the limit and the page follow:
//! - [`EpochStores::increment`] bumps the engine's epoch, then interrupts each registered
//!   store whose deadline the epoch reached;
//! - the outermost call into wasm of a store sets the real limit and opens the page, then
//!   checks the epoch itself ([`VMStoreContext::interrupt_if_due`]);
//! - a deadline moved while wasm runs puts the real limit back and opens the page, then
//!   checks again.
//!
//! All these accesses are sequentially consistent, so of a bump and a limit write racing,
//! either the bumper sees the new deadline or the store's own check sees the new epoch: a
//! store past its deadline ends up interrupted.

use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::mmap::{page_size, Mmap};
use crate::vmcontext::VMStoreContext;

/// The stack limit of an interrupted store: above every stack (user-space addresses stay
/// below 2^57 on x86-64 and aarch64), so that prologues trap, and far enough below
/// `usize::MAX` that a prologue adding its frame size (under 2^32) to it does not wrap. Its
/// top bit is set, so that no real limit is taken for it.
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

/// The page that loop headers of code compiled with epoch interruption read (see the module
/// docs): readable while the store may run, inaccessible while it is interrupted.
///
/// Its protection and [`EpochPoll::blocked`] change together, under a lock, so that racing
/// interrupts and resumptions leave them in agreement: a resumption never misses a page
/// that an interrupt closed.
#[repr(C)]
#[derive(Debug)]
pub struct EpochPoll {
    /// The page's first byte, which compiled code reads (null without a page); first, at
    /// `VMOffsets::STORE_CONTEXT_EPOCH_POLL` in the store context.
    page: *const u8,
    /// The mapping of the page, if the store has one.
    mapping: Option<Mmap>,
    /// Whether the page is inaccessible.
    blocked: AtomicBool,
    /// Held while the page's protection and `blocked` change.
    lock: Mutex<()>,
}

impl Default for EpochPoll {
    fn default() -> Self {
        EpochPoll {
            page: std::ptr::null(),
            mapping: None,
            blocked: AtomicBool::new(false),
            lock: Mutex::new(()),
        }
    }
}

impl EpochPoll {
    /// A readable page of its own, for a store whose engine compiles with epoch
    /// interruption.
    pub fn new() -> io::Result<Self> {
        let mapping = Mmap::reserve(page_size())?;
        mapping.make_readable(0, mapping.len())?;
        Ok(EpochPoll {
            page: mapping.as_ptr(),
            mapping: Some(mapping),
            ..EpochPoll::default()
        })
    }

    /// The addresses of the page (empty without one): a fault there at a loop header is an
    /// interrupt.
    pub fn addresses(&self) -> Range<usize> {
        let start = self.page as usize;
        start..start + self.mapping.as_ref().map_or(0, Mmap::len)
    }

    /// Makes the page inaccessible: loop headers reading it trap.
    pub fn block(&self) {
        self.set_blocked(true);
    }

    /// Makes the page readable again, if an interrupt blocked it.
    pub fn unblock(&self) {
        if self.blocked.load(Ordering::SeqCst) {
            self.set_blocked(false);
        }
    }

    fn set_blocked(&self, blocked: bool) {
        let Some(mapping) = &self.mapping else {
            return;
        };
        // A panic while holding the lock leaves the state consistent: it is set last.
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.blocked.load(Ordering::SeqCst) == blocked {
            return;
        }
        let changed = if blocked {
            mapping.make_inaccessible(0, mapping.len())
        } else {
            mapping.make_readable(0, mapping.len())
        };
        // mprotect of a whole mapping of its own splits no mapping, which leaves it no
        // reason to fail but a kernel bug; a page left as it was would ignore interrupts
        // or trap every loop.
        changed.expect("mprotect of the epoch poll page");
        self.blocked.store(blocked, Ordering::SeqCst);
    }
}

// Compiled code reads the page's address at the poll's own offset in the store context
// (checked in `vmcontext`), so the address must come first.
const _: () = assert!(std::mem::offset_of!(EpochPoll, page) == 0);

// SAFETY: `page` points into `mapping`, owned by this value; the protection changes are
// serialised by `lock`, and the kernel serialises them with the reads of other threads.
unsafe impl Send for EpochPoll {}
// SAFETY: as above: `&EpochPoll` only reads the address and changes the protection.
unsafe impl Sync for EpochPoll {}
