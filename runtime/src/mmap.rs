//! Reserved address space: mapped inaccessible, then opened up page range by page range.

use std::io;
use std::ptr;

/// An anonymous mapping, reserved as no-access address space, unmapped on drop.
#[derive(Debug)]
pub struct Mmap {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; nothing ties it to a thread.
unsafe impl Send for Mmap {}
// SAFETY: `&Mmap` only hands out the address and changes page protections, which the kernel
// serialises.
unsafe impl Sync for Mmap {}

/// The host's page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

impl Mmap {
    /// Reserves `len` bytes (rounded up to pages) of inaccessible address space. The kernel
    /// commits no memory for it until pages are made accessible and touched.
    pub fn reserve(len: usize) -> io::Result<Self> {
        let len = len.max(1).next_multiple_of(page_size());
        // SAFETY: an anonymous private mapping at an address the kernel picks has no
        // preconditions; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            ptr: ptr.cast(),
            len,
        })
    }

    /// Maps the first `len` bytes of `file` shared and read-only: a view of the file's
    /// pages, unmapped on drop. The caller must not let the file change while it reads the
    /// view through a slice.
    pub fn map_file_readonly(file: &std::fs::File, len: usize) -> io::Result<Self> {
        Self::map_file(file, len, libc::MAP_SHARED)
    }

    /// Maps the first `len` bytes of `file` private and read-only: reads see the file's
    /// pages, and pages later made writable and written become private copies, never
    /// written back. Unmapped on drop.
    pub fn map_file_copy_on_write(file: &std::fs::File, len: usize) -> io::Result<Self> {
        Self::map_file(file, len, libc::MAP_PRIVATE)
    }

    /// Maps the first `len` bytes of `file` read-only with `flags` (shared or private).
    fn map_file(file: &std::fs::File, len: usize, flags: libc::c_int) -> io::Result<Self> {
        use std::os::fd::AsRawFd;
        let len = len.max(1).next_multiple_of(page_size());
        // SAFETY: a new read-only mapping of a file at an address the kernel picks touches
        // no existing memory; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ,
                flags,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            ptr: ptr.cast(),
            len,
        })
    }

    /// The first byte of the reservation.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Size of the reservation in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the reservation is empty (never: at least one page is reserved).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes `len` bytes at `offset` readable and writable. Both must be page aligned.
    pub fn make_accessible(&self, offset: usize, len: usize) -> io::Result<()> {
        self.protect(offset, len, libc::PROT_READ | libc::PROT_WRITE)
    }

    /// Makes `len` bytes at `offset` readable only.
    pub fn make_readable(&self, offset: usize, len: usize) -> io::Result<()> {
        self.protect(offset, len, libc::PROT_READ)
    }

    /// Makes `len` bytes at `offset` readable and executable, no longer writable.
    pub fn make_executable(&self, offset: usize, len: usize) -> io::Result<()> {
        self.protect(offset, len, libc::PROT_READ | libc::PROT_EXEC)
    }

    /// Makes `len` bytes at `offset` inaccessible again (their contents stay).
    pub fn make_inaccessible(&self, offset: usize, len: usize) -> io::Result<()> {
        self.protect(offset, len, libc::PROT_NONE)
    }

    /// Asks the kernel to back `len` bytes at `offset` with transparent huge pages where it
    /// can (`MADV_HUGEPAGE`): a linear memory's random accesses then miss the TLB far less.
    /// Only advice: an error (a kernel without transparent huge pages) changes nothing.
    pub fn advise_huge_pages(&self, offset: usize, len: usize) {
        self.check_range(offset, len);
        if len == 0 {
            return;
        }
        // SAFETY: the range lies inside this mapping (checked); MADV_HUGEPAGE changes how
        // the kernel backs its pages, never their contents.
        unsafe { libc::madvise(self.ptr.add(offset).cast(), len, libc::MADV_HUGEPAGE) };
    }

    /// Gives `len` bytes at `offset` back to the kernel: anonymous pages read as zero
    /// afterwards, pages of a private file mapping as the file's bytes. Both page aligned.
    pub fn decommit(&self, offset: usize, len: usize) -> io::Result<()> {
        self.check_range(offset, len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside this mapping (checked); MADV_DONTNEED only drops
        // its private pages, which is what the caller asks for.
        let rc = unsafe { libc::madvise(self.ptr.add(offset).cast(), len, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Gives the `(offset, len)` ranges back to the kernel, as [`Mmap::decommit`] does one,
    /// in one `process_madvise` call where the kernel takes `MADV_DONTNEED` there (Linux
    /// 6.15 and later, which also flush the TLBs once for all the ranges instead of once per
    /// range), one `madvise` per range otherwise.
    pub fn decommit_ranges(&self, ranges: &[(usize, usize)]) -> io::Result<()> {
        /// `PIDFD_SELF`: the calling process, whatever its pid (also after a fork).
        const PIDFD_SELF: libc::c_long = -10000;
        /// The most ranges one call takes (`UIO_MAXIOV`).
        const MAX_RANGES: usize = 1024;
        for chunk in ranges.chunks(MAX_RANGES) {
            let iovecs: Vec<libc::iovec> = chunk
                .iter()
                .filter(|(_, len)| *len > 0)
                .map(|&(offset, len)| {
                    self.check_range(offset, len);
                    libc::iovec {
                        iov_base: self.ptr.wrapping_add(offset).cast(),
                        iov_len: len,
                    }
                })
                .collect();
            let total: usize = iovecs.iter().map(|v| v.iov_len).sum();
            if total == 0 {
                continue;
            }
            // SAFETY: every range lies inside this mapping (checked); MADV_DONTNEED only
            // drops their private pages, which is what the caller asks for. The kernel reads
            // `iovecs.len()` iovecs from the vector, which outlives the call.
            let advised = unsafe {
                libc::syscall(
                    libc::SYS_process_madvise,
                    PIDFD_SELF,
                    iovecs.as_ptr(),
                    iovecs.len(),
                    libc::MADV_DONTNEED,
                    0,
                )
            };
            if usize::try_from(advised) != Ok(total) {
                // An older kernel (no `PIDFD_SELF`, or no `MADV_DONTNEED` through
                // `process_madvise`) or a partial run: dropping pages twice is harmless.
                for &(offset, len) in chunk {
                    self.decommit(offset, len)?;
                }
            }
        }
        Ok(())
    }

    /// Maps `len` bytes of `file` from its start copy-on-write, readable and writable, over
    /// the `len` bytes at `offset`: reads see the file, writes stay private to this mapping.
    pub fn map_file_private(
        &self,
        offset: usize,
        len: usize,
        file: &std::fs::File,
    ) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        self.check_range(offset, len);
        self.map_fixed(
            offset,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            file.as_raw_fd(),
        )
    }

    /// Replaces the `len` bytes at `offset` with fresh inaccessible anonymous pages,
    /// undoing [`Mmap::map_file_private`].
    pub fn unmap_file(&self, offset: usize, len: usize) -> io::Result<()> {
        self.check_range(offset, len);
        self.map_fixed(
            offset,
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_FIXED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
        )
    }

    fn map_fixed(
        &self,
        offset: usize,
        len: usize,
        prot: libc::c_int,
        flags: libc::c_int,
        fd: libc::c_int,
    ) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside this mapping (checked by the callers), so MAP_FIXED
        // replaces pages this value owns and nothing else; the result is checked.
        let ptr = unsafe { libc::mmap(self.ptr.add(offset).cast(), len, prot, flags, fd, 0) };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        debug_assert_eq!(ptr.cast(), self.ptr.wrapping_add(offset));
        Ok(())
    }

    fn check_range(&self, offset: usize, len: usize) {
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.len),
            "page range outside the reservation"
        );
    }

    fn protect(&self, offset: usize, len: usize, prot: libc::c_int) -> io::Result<()> {
        self.check_range(offset, len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside this mapping (asserted), so no other object's
        // memory changes protection.
        let rc = unsafe { libc::mprotect(self.ptr.add(offset).cast(), len, prot) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by `reserve` with this length and is unmapped once.
        let rc = unsafe { libc::munmap(self.ptr.cast(), self.len) };
        debug_assert_eq!(rc, 0, "munmap failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_pages_open_up_and_read_zero() {
        let page = page_size();
        let mmap = Mmap::reserve(4 * page).unwrap();
        assert_eq!(mmap.len(), 4 * page);
        mmap.make_accessible(page, 2 * page).unwrap();
        // SAFETY: pages 1 and 2 were just made accessible.
        unsafe {
            assert_eq!(*mmap.as_ptr().add(page), 0);
            *mmap.as_ptr().add(3 * page - 1) = 5;
            assert_eq!(*mmap.as_ptr().add(3 * page - 1), 5);
        }
    }

    /// The `THPeligible` field of the mapping holding `addr` in /proc/self/smaps, if the
    /// kernel reports one.
    fn huge_page_eligible(addr: usize) -> Option<bool> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let range = line
                .split_whitespace()
                .next()
                .and_then(|r| r.split_once('-'));
            let bounds = range.and_then(|(start, end)| {
                Some((
                    usize::from_str_radix(start, 16).ok()?,
                    usize::from_str_radix(end, 16).ok()?,
                ))
            });
            if let Some((start, end)) = bounds {
                inside = (start..end).contains(&addr);
            } else if let (true, Some(flag)) = (inside, line.strip_prefix("THPeligible:")) {
                return Some(flag.trim() == "1");
            }
        }
        None
    }

    #[test]
    fn advised_memory_may_take_huge_pages() {
        if cfg!(not(target_arch = "x86_64")) {
            // The aarch64 build is tested under QEMU's user mode, which does not pass
            // `madvise` on to the host kernel.
            eprintln!("skipped: checked on x86-64 hosts only (aarch64 runs under QEMU)");
            return;
        }
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled");
        if !mode
            .as_deref()
            .is_ok_and(|m| m.contains("[madvise]") || m.contains("[always]"))
        {
            eprintln!("skipped: transparent huge pages are off on this kernel ({mode:?})");
            return;
        }
        let len = 8 << 20;
        let mmap = Mmap::reserve(len).unwrap();
        mmap.make_accessible(0, len).unwrap();
        mmap.advise_huge_pages(0, len);
        match huge_page_eligible(mmap.as_ptr() as usize) {
            Some(eligible) => assert!(eligible, "the advised mapping is not eligible"),
            None => eprintln!("skipped: /proc/self/smaps reports no THPeligible field"),
        }
    }

    #[test]
    fn huge_reservations_are_refused_with_an_error() {
        assert!(Mmap::reserve(usize::MAX / 2).is_err());
    }
}
