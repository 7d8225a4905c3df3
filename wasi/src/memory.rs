//! The guest's linear memory as the preview1 functions see it: little-endian values and byte
//! ranges at guest addresses, each access checked against the memory's size (an access
//! outside it is `EFAULT` for the guest, never a host fault).
//!
//! A shared memory (a program using wasi-threads) can change under the guest's other threads
//! while a host call runs, so its bytes are never lent to the host as Rust references: they
//! are copied in and out ([`SharedMemory::read`] and [`SharedMemory::write`]). An instance's
//! own memory is borrowed for the call and read and written in place.

use std::borrow::Cow;

use wasmjit::SharedMemory;

use crate::types::{Errno, WasiResult};

/// A view of the calling instance's memory for the length of one host call.
pub(crate) enum GuestMemory<'a> {
    /// The instance's own memory, borrowed from its store.
    Exclusive(&'a mut [u8]),
    /// A memory shared with other threads.
    Shared(SharedMemory),
}

/// A guest buffer: address and length, as an `iovec` or `ciovec` gives it.
#[derive(Clone, Copy)]
pub(crate) struct GuestBuf {
    pub ptr: u32,
    pub len: u32,
}

impl GuestMemory<'_> {
    /// The memory's size in bytes (a shared memory's may grow meanwhile: every access is
    /// checked again by [`SharedMemory::read`] and [`SharedMemory::write`]).
    fn len(&self) -> usize {
        match self {
            GuestMemory::Exclusive(bytes) => bytes.len(),
            GuestMemory::Shared(memory) => memory.data_size(),
        }
    }

    fn range(&self, ptr: u32, len: u32) -> WasiResult<std::ops::Range<usize>> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    /// The `len` bytes at `ptr` (a copy, for a shared memory).
    pub(crate) fn slice(&self, ptr: u32, len: u32) -> WasiResult<Cow<'_, [u8]>> {
        let range = self.range(ptr, len)?;
        match self {
            GuestMemory::Exclusive(bytes) => Ok(Cow::Borrowed(&bytes[range])),
            GuestMemory::Shared(memory) => {
                let mut copy = vec![0; range.len()];
                memory
                    .read(range.start, &mut copy)
                    .map_err(|_| Errno::Fault)?;
                Ok(Cow::Owned(copy))
            }
        }
    }

    /// Lets `fill` write into the `len` bytes at `ptr`; `fill` returns how many bytes, from
    /// the start, it wrote (a read's count), which is what a shared memory gets copied back.
    pub(crate) fn fill(
        &mut self,
        ptr: u32,
        len: u32,
        fill: impl FnOnce(&mut [u8]) -> WasiResult<usize>,
    ) -> WasiResult<usize> {
        let range = self.range(ptr, len)?;
        match self {
            GuestMemory::Exclusive(bytes) => fill(&mut bytes[range]),
            GuestMemory::Shared(memory) => {
                let mut buf = vec![0; range.len()];
                let n = fill(&mut buf)?.min(buf.len());
                memory
                    .write(range.start, &buf[..n])
                    .map_err(|_| Errno::Fault)?;
                Ok(n)
            }
        }
    }

    /// The UTF-8 string of `len` bytes at `ptr` (a path); `EILSEQ` if it is not UTF-8.
    pub(crate) fn str(&self, ptr: u32, len: u32) -> WasiResult<Cow<'_, str>> {
        match self.slice(ptr, len)? {
            Cow::Borrowed(bytes) => std::str::from_utf8(bytes)
                .map(Cow::Borrowed)
                .map_err(|_| Errno::Ilseq),
            Cow::Owned(bytes) => String::from_utf8(bytes)
                .map(Cow::Owned)
                .map_err(|_| Errno::Ilseq),
        }
    }

    pub(crate) fn read_u8(&self, ptr: u32) -> WasiResult<u8> {
        Ok(self.slice(ptr, 1)?[0])
    }

    pub(crate) fn read_u16(&self, ptr: u32) -> WasiResult<u16> {
        Ok(u16::from_le_bytes(self.array(ptr)?))
    }

    pub(crate) fn read_u32(&self, ptr: u32) -> WasiResult<u32> {
        Ok(u32::from_le_bytes(self.array(ptr)?))
    }

    pub(crate) fn read_u64(&self, ptr: u32) -> WasiResult<u64> {
        Ok(u64::from_le_bytes(self.array(ptr)?))
    }

    fn array<const N: usize>(&self, ptr: u32) -> WasiResult<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(&self.slice(ptr, N as u32)?);
        Ok(out)
    }

    pub(crate) fn write(&mut self, ptr: u32, bytes: &[u8]) -> WasiResult {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::Fault)?;
        let range = self.range(ptr, len)?;
        match self {
            GuestMemory::Exclusive(memory) => memory[range].copy_from_slice(bytes),
            GuestMemory::Shared(memory) => {
                memory.write(range.start, bytes).map_err(|_| Errno::Fault)?
            }
        }
        Ok(())
    }

    pub(crate) fn write_u8(&mut self, ptr: u32, value: u8) -> WasiResult {
        self.write(ptr, &[value])
    }

    pub(crate) fn write_u16(&mut self, ptr: u32, value: u16) -> WasiResult {
        self.write(ptr, &value.to_le_bytes())
    }

    pub(crate) fn write_u32(&mut self, ptr: u32, value: u32) -> WasiResult {
        self.write(ptr, &value.to_le_bytes())
    }

    pub(crate) fn write_u64(&mut self, ptr: u32, value: u64) -> WasiResult {
        self.write(ptr, &value.to_le_bytes())
    }

    /// The `count` buffers of the (c)iovec array at `ptr`, each checked to lie in memory.
    pub(crate) fn iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<GuestBuf>> {
        let table = self.slice(ptr, count.checked_mul(8).ok_or(Errno::Fault)?)?;
        let bufs: Vec<GuestBuf> = table
            .chunks_exact(8)
            .map(|entry| GuestBuf {
                ptr: u32::from_le_bytes(entry[..4].try_into().unwrap_or_default()),
                len: u32::from_le_bytes(entry[4..].try_into().unwrap_or_default()),
            })
            .collect();
        for buf in &bufs {
            self.range(buf.ptr, buf.len)?;
        }
        Ok(bufs)
    }
}
