//! The guest's linear memory as the preview1 functions see it: little-endian values and byte
//! ranges at guest addresses, each access checked against the memory's size (an access
//! outside it is `EFAULT` for the guest, never a host fault).

use crate::types::{Errno, WasiResult};

/// A view of the calling instance's memory for the length of one host call.
pub(crate) struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

/// A guest buffer: address and length, as an `iovec` or `ciovec` gives it.
#[derive(Clone, Copy)]
pub(crate) struct GuestBuf {
    pub ptr: u32,
    pub len: u32,
}

impl<'a> GuestMemory<'a> {
    pub(crate) fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    fn range(&self, ptr: u32, len: u32) -> WasiResult<std::ops::Range<usize>> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.bytes.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    /// The `len` bytes at `ptr`.
    pub(crate) fn slice(&self, ptr: u32, len: u32) -> WasiResult<&[u8]> {
        let range = self.range(ptr, len)?;
        Ok(&self.bytes[range])
    }

    /// The `len` bytes at `ptr`, writable.
    pub(crate) fn slice_mut(&mut self, ptr: u32, len: u32) -> WasiResult<&mut [u8]> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.bytes[range])
    }

    /// The UTF-8 string of `len` bytes at `ptr` (a path); `EILSEQ` if it is not UTF-8.
    pub(crate) fn str(&self, ptr: u32, len: u32) -> WasiResult<&str> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Ilseq)
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
        out.copy_from_slice(self.slice(ptr, N as u32)?);
        Ok(out)
    }

    pub(crate) fn write(&mut self, ptr: u32, bytes: &[u8]) -> WasiResult {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::Fault)?;
        self.slice_mut(ptr, len)?.copy_from_slice(bytes);
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
