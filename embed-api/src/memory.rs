//! Linear memories, as the web's `WebAssembly.Memory` offers them to JavaScript.

use std::cell::UnsafeCell;
use std::fmt;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmjit_runtime::memory::LinearMemory;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::store::{
    opaque, opaque_mut, AsContext, AsContextMut, StoreContextMut, StoreId, StoreOpaque,
};
use crate::types::MemoryType;

/// A linear memory of a store, in pages of 64 KiB.
///
/// Its bytes start at an address that never changes, inside a 4 GiB reservation, so
/// `data_ptr` stays valid across grows for the store's life; `data_size` tells how many bytes
/// are accessible now. Views (`data`, `data_mut`) borrow the store, so no call into wasm and
/// no grow can happen while one is alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// What [`SharedMemory::atomic_wait32`] and [`SharedMemory::atomic_wait64`] return: why
/// the waiting thread resumed. The discriminants are the codes `memory.atomic.wait` gives
/// wasm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitResult {
    /// Woken by a notify (0).
    Woken = 0,
    /// The value was not the expected one, so the thread did not wait (1).
    NotEqual = 1,
    /// The timeout passed (2).
    TimedOut = 2,
}

impl WaitResult {
    fn from_runtime(result: wasmjit_runtime::parking::WaitResult) -> Self {
        use wasmjit_runtime::parking::WaitResult as Rt;
        match result {
            Rt::Woken => WaitResult::Woken,
            Rt::NotEqual => WaitResult::NotEqual,
            Rt::TimedOut => WaitResult::TimedOut,
        }
    }
}

/// An access outside a memory's current size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAccessError {
    /// First byte of the access.
    pub offset: usize,
    /// Bytes accessed.
    pub len: usize,
    /// The memory's size when the access was tried.
    pub size: usize,
}

impl fmt::Display for MemoryAccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "out of bounds memory access: {} bytes at offset {} of a memory of {} bytes",
            self.len, self.offset, self.size
        )
    }
}

impl std::error::Error for MemoryAccessError {}

/// Why an atomic access from the host was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicAccessError {
    /// Outside the memory's current size.
    OutOfBounds(MemoryAccessError),
    /// The offset is not a multiple of the access size.
    Unaligned {
        /// The offset.
        offset: usize,
        /// The access size in bytes.
        len: usize,
    },
}

impl fmt::Display for AtomicAccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtomicAccessError::OutOfBounds(e) => e.fmt(f),
            AtomicAccessError::Unaligned { offset, len } => {
                write!(f, "unaligned atomic: {len}-byte access at offset {offset}")
            }
        }
    }
}

impl std::error::Error for AtomicAccessError {}

impl Memory {
    /// A new memory of `initial` pages, growable to `maximum` pages, shared between threads
    /// if `shared`, following `WebAssembly.Memory`'s rules: `initial <= maximum <= 65536`, and
    /// a shared memory needs a maximum. Each broken rule is its own `Error::Memory` variant.
    ///
    /// The store comes first because the memory belongs to it (that is what makes its views
    /// sound). A shared memory can also be used from other stores: see [`Memory::shared`].
    pub fn new(
        mut store: impl AsContextMut,
        initial: u64,
        maximum: Option<u64>,
        shared: bool,
    ) -> Result<Memory> {
        let ty = wasmjit_codegen::MemoryType {
            minimum: initial,
            maximum,
            shared,
            memory64: false,
            page_size_log2: wasmjit_codegen::WASM_PAGE_SIZE_LOG2,
        };
        Memory::create(&mut store, ty)
    }

    /// A new memory of type `ty`, which may be one that [`Memory::new`] cannot make: a
    /// 64-bit memory (memory64), built with [`MemoryType::builder`]. A 64-bit memory can
    /// grow past 4 GiB, up to its maximum or the runtime's 64 GiB reservation, whichever is
    /// smaller.
    pub fn with_type(mut store: impl AsContextMut, ty: &MemoryType) -> Result<Memory> {
        Memory::create(&mut store, ty.to_codegen())
    }

    fn create(mut store: impl AsContextMut, ty: wasmjit_codegen::MemoryType) -> Result<Memory> {
        let store = opaque_mut(&mut store);
        store.limit_new_memory(&ty)?;
        let memory = store
            .engine
            .instance_allocator()
            .allocate_memory(&ty, None)
            .map_err(Error::memory)?;
        let index = store.push_memory(Arc::new(memory));
        Ok(Memory {
            store: store.id,
            index,
        })
    }

    pub(crate) fn runtime<'a>(&self, store: &'a StoreOpaque) -> &'a Arc<LinearMemory> {
        store.check(self.store);
        &store.memories[self.index]
    }

    /// The memory's type, with its current size as the minimum.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        current_type(self.runtime(opaque(&store)))
    }

    /// Current size in pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.runtime(opaque(&store)).size_pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.runtime(opaque(&store)).byte_size()
    }

    /// The address of byte 0. It never changes; `data_size` bytes from it are accessible.
    pub fn data_ptr(&self, store: impl AsContext) -> *mut u8 {
        self.runtime(opaque(&store)).base()
    }

    /// Whether the memory is shared.
    pub fn is_shared(&self, store: impl AsContext) -> bool {
        self.runtime(opaque(&store)).is_shared()
    }

    /// The shared handle of a shared memory, to send to other threads and stores.
    pub fn shared(&self, store: impl AsContext) -> Option<SharedMemory> {
        let memory = self.runtime(opaque(&store));
        memory.is_shared().then(|| SharedMemory {
            memory: memory.clone(),
        })
    }

    /// The memory's bytes, for as long as the store is borrowed.
    ///
    /// The view cannot outlive a grow or a call into wasm, both of which need the store
    /// exclusively; this does not compile:
    ///
    /// ```compile_fail
    /// # use wasmjit::{Engine, Memory, Store};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let memory = Memory::new(&mut store, 1, None, false).unwrap();
    /// let view = memory.data(&store);
    /// memory.grow(&mut store, 1).unwrap();
    /// println!("{}", view[0]);
    /// ```
    ///
    /// # Panics
    /// If the memory is shared: other threads may write it at any time, so it is never
    /// exposed as `&[u8]`; use [`SharedMemory::data`] or [`Memory::read`].
    pub fn data<'a, S: AsContext + ?Sized>(&self, store: &'a S) -> &'a [u8] {
        let memory = self.runtime(opaque(store));
        assert!(!memory.is_shared(), "a shared memory has no &[u8] view");
        // SAFETY: `byte_size` bytes from the base are accessible and, the memory not being
        // shared, only wasm of this store or the host through this store can write them;
        // both need the store exclusively, which the returned borrow prevents.
        unsafe { std::slice::from_raw_parts(memory.base(), memory.byte_size()) }
    }

    /// The memory's bytes, writable, for as long as the store is borrowed.
    ///
    /// # Panics
    /// If the memory is shared (see [`Memory::data`]).
    pub fn data_mut<'a, S: AsContextMut + ?Sized>(&self, store: &'a mut S) -> &'a mut [u8] {
        let memory = self.runtime(opaque_mut(store));
        assert!(!memory.is_shared(), "a shared memory has no &mut [u8] view");
        // SAFETY: as in `data`, and the exclusive borrow of the store makes this the only
        // view.
        unsafe { std::slice::from_raw_parts_mut(memory.base(), memory.byte_size()) }
    }

    /// The memory's bytes and the store's host data at once, as wasmtime's
    /// `Memory::data_and_store_mut`: a host function (WASI's `fd_read`, say) can fill guest
    /// memory while it uses its own state, without copying through a buffer. Both borrow the
    /// store, so neither outlives a grow or a call into wasm.
    ///
    /// ```
    /// # use wasmjit::{AsContextMut, Engine, Memory, Store};
    /// let mut store = Store::new(&Engine::default(), vec![1u8, 2, 3]);
    /// let memory = Memory::new(&mut store, 1, None, false).unwrap();
    /// let (bytes, data) = memory.data_and_store_mut(store.as_context_mut());
    /// bytes[..3].copy_from_slice(data);
    /// data.push(4);
    /// assert_eq!(&memory.data(&store)[..3], &[1, 2, 3]);
    /// assert_eq!(store.data().len(), 4);
    /// ```
    ///
    /// # Panics
    /// If the memory is shared (see [`Memory::data`]).
    pub fn data_and_store_mut<'a, T>(
        &self,
        store: StoreContextMut<'a, T>,
    ) -> (&'a mut [u8], &'a mut T) {
        let inner = store.0;
        let memory = self.runtime(&inner.opaque);
        assert!(!memory.is_shared(), "a shared memory has no &mut [u8] view");
        // SAFETY: as in `data_mut`: the exclusive borrow of the store, held for `'a` by both
        // results, makes this the only view; the host data is a field apart from the memory.
        let bytes = unsafe { std::slice::from_raw_parts_mut(memory.base(), memory.byte_size()) };
        (bytes, &mut inner.data)
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`, or fails if they are not all inside
    /// the memory.
    pub fn read(
        &self,
        store: impl AsContext,
        offset: usize,
        buf: &mut [u8],
    ) -> Result<(), MemoryAccessError> {
        read(self.runtime(opaque(&store)), offset, buf)
    }

    /// Copies `buf` into the memory at `offset`, or fails (writing nothing) if it does not
    /// fit.
    pub fn write(
        &self,
        mut store: impl AsContextMut,
        offset: usize,
        buf: &[u8],
    ) -> Result<(), MemoryAccessError> {
        write(self.runtime(opaque_mut(&mut store)), offset, buf)
    }

    /// Grows the memory by `delta` pages and returns its old size in pages. Past the maximum
    /// it fails and changes nothing. `grow(0)` returns the current size.
    ///
    /// The store's limiter, if any, is asked first; a refusal is an `Error::Limit`.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let store = opaque_mut(&mut store);
        let memory = self.runtime(store).clone();
        if let Some(request) = memory.grow_request(delta) {
            store.limit(request, "growing the memory")?;
        }
        memory.grow(delta).map_err(Error::memory)
    }
}

/// A shared linear memory: usable by many threads and stores at once.
///
/// Cheap to clone; every clone is the same memory. Growth from any holder is seen by all, and
/// the base address never moves. Its bytes are only offered as cells or copies, never as a
/// plain slice, because other threads may write them at any time.
#[derive(Clone)]
pub struct SharedMemory {
    memory: Arc<LinearMemory>,
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory")
            .field("base", &self.memory.base())
            .field("pages", &self.memory.size_pages())
            .finish()
    }
}

impl SharedMemory {
    /// A new shared memory of `initial` pages, growable to `maximum` pages.
    pub fn new(engine: &Engine, initial: u64, maximum: u64) -> Result<Self> {
        let ty = wasmjit_codegen::MemoryType {
            minimum: initial,
            maximum: Some(maximum),
            shared: true,
            memory64: false,
            page_size_log2: wasmjit_codegen::WASM_PAGE_SIZE_LOG2,
        };
        let memory = engine
            .instance_allocator()
            .allocate_memory(&ty, None)
            .map_err(Error::memory)?;
        Ok(SharedMemory {
            memory: Arc::new(memory),
        })
    }

    pub(crate) fn runtime(&self) -> &Arc<LinearMemory> {
        &self.memory
    }

    /// The memory's type, with its current size as the minimum.
    pub fn ty(&self) -> MemoryType {
        current_type(&self.memory)
    }

    /// Current size in pages.
    pub fn size(&self) -> u64 {
        self.memory.size_pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> usize {
        self.memory.byte_size()
    }

    /// The address of byte 0; it never changes.
    pub fn data_ptr(&self) -> *mut u8 {
        self.memory.base()
    }

    /// The bytes accessible now, as cells that other threads may change at any time.
    pub fn data(&self) -> &[UnsafeCell<u8>] {
        // SAFETY: `byte_size` bytes from the base are accessible for the memory's life (a
        // shared memory never shrinks), and `UnsafeCell` makes no claim that they do not
        // change.
        unsafe {
            std::slice::from_raw_parts(
                self.memory.base() as *const UnsafeCell<u8>,
                self.memory.byte_size(),
            )
        }
    }

    /// Grows the memory by `delta` pages and returns its old size in pages.
    pub fn grow(&self, delta: u64) -> Result<u64> {
        self.memory.grow(delta).map_err(Error::memory)
    }

    /// The aligned 4 bytes at `offset` as an atomic, for loads, stores, read-modify-write and
    /// compare-exchange that wasm threads see as their `i32.atomic.*` operations do.
    pub fn atomic_u32(&self, offset: usize) -> Result<&AtomicU32, AtomicAccessError> {
        let ptr = self.atomic_ptr(offset, 4)?;
        // SAFETY: 4 aligned, accessible bytes (checked) that stay mapped as long as `self`
        // borrows the memory; all concurrent accesses to them are atomic or wasm's own.
        Ok(unsafe { &*(ptr as *const AtomicU32) })
    }

    /// The aligned 8 bytes at `offset` as an atomic (see [`SharedMemory::atomic_u32`]).
    pub fn atomic_u64(&self, offset: usize) -> Result<&AtomicU64, AtomicAccessError> {
        let ptr = self.atomic_ptr(offset, 8)?;
        // SAFETY: as in `atomic_u32`, for 8 aligned bytes.
        Ok(unsafe { &*(ptr as *const AtomicU64) })
    }

    /// Parks the calling thread while the u32 at `offset` equals `expected`, until a notify
    /// or the timeout (`None`: forever), like `memory.atomic.wait32`.
    pub fn atomic_wait32(
        &self,
        offset: usize,
        expected: u32,
        timeout: Option<Duration>,
    ) -> Result<WaitResult, AtomicAccessError> {
        let cell = self.atomic_u32(offset)?;
        let still = || cell.load(Ordering::SeqCst) == expected;
        let result = self.memory.waiters().wait(offset as u64, still, timeout);
        Ok(WaitResult::from_runtime(result))
    }

    /// Parks the calling thread while the u64 at `offset` equals `expected`, like
    /// `memory.atomic.wait64`.
    pub fn atomic_wait64(
        &self,
        offset: usize,
        expected: u64,
        timeout: Option<Duration>,
    ) -> Result<WaitResult, AtomicAccessError> {
        let cell = self.atomic_u64(offset)?;
        let still = || cell.load(Ordering::SeqCst) == expected;
        let result = self.memory.waiters().wait(offset as u64, still, timeout);
        Ok(WaitResult::from_runtime(result))
    }

    /// Wakes up to `count` threads waiting at `offset` (host or wasm), like
    /// `memory.atomic.notify`; returns how many were woken.
    pub fn atomic_notify(&self, offset: usize, count: u32) -> Result<u32, AtomicAccessError> {
        self.atomic_ptr(offset, 4)?;
        Ok(self.memory.waiters().notify(offset as u64, count))
    }

    fn atomic_ptr(&self, offset: usize, len: usize) -> Result<*mut u8, AtomicAccessError> {
        check(&self.memory, offset, len).map_err(AtomicAccessError::OutOfBounds)?;
        if !offset.is_multiple_of(len) {
            return Err(AtomicAccessError::Unaligned { offset, len });
        }
        // SAFETY: in bounds (checked).
        Ok(unsafe { self.memory.base().add(offset) })
    }

    /// Copies bytes at `offset` into `buf`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), MemoryAccessError> {
        read(&self.memory, offset, buf)
    }

    /// Copies `buf` into the memory at `offset`.
    pub fn write(&self, offset: usize, buf: &[u8]) -> Result<(), MemoryAccessError> {
        write(&self.memory, offset, buf)
    }
}

/// A memory's type with its current size as the minimum.
fn current_type(memory: &LinearMemory) -> MemoryType {
    let mut ty = memory.ty();
    ty.minimum = memory.size_pages();
    MemoryType::from_codegen(&ty)
}

fn check(memory: &LinearMemory, offset: usize, len: usize) -> Result<(), MemoryAccessError> {
    let size = memory.byte_size();
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(MemoryAccessError { offset, len, size }),
    }
}

fn read(memory: &LinearMemory, offset: usize, buf: &mut [u8]) -> Result<(), MemoryAccessError> {
    check(memory, offset, buf.len())?;
    if memory.is_shared() {
        for (i, byte) in buf.iter_mut().enumerate() {
            // SAFETY: in bounds (checked); other threads may write concurrently, so each
            // byte is read atomically.
            *byte = unsafe { &*(memory.base().add(offset + i) as *const AtomicU8) }
                .load(Ordering::Relaxed);
        }
    } else {
        // SAFETY: in bounds (checked); the caller's store borrow excludes other writers.
        unsafe { ptr::copy_nonoverlapping(memory.base().add(offset), buf.as_mut_ptr(), buf.len()) }
    }
    Ok(())
}

fn write(memory: &LinearMemory, offset: usize, buf: &[u8]) -> Result<(), MemoryAccessError> {
    check(memory, offset, buf.len())?;
    if memory.is_shared() {
        for (i, byte) in buf.iter().enumerate() {
            // SAFETY: in bounds (checked); each byte is written atomically because other
            // threads may access it concurrently.
            unsafe { &*(memory.base().add(offset + i) as *const AtomicU8) }
                .store(*byte, Ordering::Relaxed);
        }
    } else {
        // SAFETY: in bounds (checked); the caller's exclusive store borrow excludes other
        // accesses.
        unsafe { ptr::copy_nonoverlapping(buf.as_ptr(), memory.base().add(offset), buf.len()) }
    }
    Ok(())
}
