//! The functions of `wasi_snapshot_preview1`, one Rust function each, on a [`WasiState`] and
//! the caller's memory. Guest addresses are `u32`, 64-bit values `u64`, as the witx
//! signatures give them; every function returns success or an [`Errno`].
//!
//! Paths are resolved by cap-std inside the directory descriptor they are relative to: a
//! path that leaves it (by `..`, as an absolute path or through a symbolic link) fails,
//! whatever the host's current folder.

use std::borrow::Cow;
use std::io::{Read, Seek, SeekFrom, Write};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OpenOptionsSyncExt,
    SystemTimeSpec,
};
use cap_std::fs::{Dir, FileExt, FileType, Metadata, MetadataExt, OpenOptions};
use cap_std::time::SystemTime;
use rustix::fs::{Advice, FallocateFlags, OFlags, Timestamps};
use rustix::time::{ClockId, Timespec};

use crate::ctx::WasiState;
use crate::fd::{Descriptor, Kind};
use crate::memory::{GuestBuf, GuestMemory};
use crate::types::{
    clockid, fdflags, filetype, fstflags, oflags, rights, Errno, WasiResult, LOOKUP_SYMLINK_FOLLOW,
};

type Mem<'a, 'b> = &'a mut GuestMemory<'b>;

/// `a + b` for guest addresses, `EFAULT` past 4 GiB.
fn add(a: u32, b: usize) -> WasiResult<u32> {
    u32::try_from(b)
        .ok()
        .and_then(|b| a.checked_add(b))
        .ok_or(Errno::Fault)
}

// ---- arguments and environment -----------------------------------------------------------

fn write_strings(mem: Mem, strings: &[String], ptrs: u32, buf: u32) -> WasiResult {
    let mut cursor = buf;
    for (i, s) in strings.iter().enumerate() {
        mem.write_u32(add(ptrs, i * 4)?, cursor)?;
        mem.write(cursor, s.as_bytes())?;
        mem.write_u8(add(cursor, s.len())?, 0)?;
        cursor = add(cursor, s.len() + 1)?;
    }
    Ok(())
}

fn write_sizes(mem: Mem, strings: &[String], count: u32, size: u32) -> WasiResult {
    let total: usize = strings.iter().map(|s| s.len() + 1).sum();
    mem.write_u32(count, strings.len() as u32)?;
    mem.write_u32(size, u32::try_from(total).map_err(|_| Errno::Overflow)?)
}

pub(crate) fn args_get(ctx: &mut WasiState, mem: Mem, argv: u32, buf: u32) -> WasiResult {
    write_strings(mem, &ctx.args, argv, buf)
}

pub(crate) fn args_sizes_get(ctx: &mut WasiState, mem: Mem, count: u32, size: u32) -> WasiResult {
    write_sizes(mem, &ctx.args, count, size)
}

pub(crate) fn environ_get(ctx: &mut WasiState, mem: Mem, environ: u32, buf: u32) -> WasiResult {
    write_strings(mem, &ctx.env, environ, buf)
}

pub(crate) fn environ_sizes_get(
    ctx: &mut WasiState,
    mem: Mem,
    count: u32,
    size: u32,
) -> WasiResult {
    write_sizes(mem, &ctx.env, count, size)
}

// ---- clocks, randomness, scheduling --------------------------------------------------------

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn timespec_nanos(t: Timespec) -> u64 {
    (t.tv_sec.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec.max(0) as u64)
}

/// The time of clock `id` in nanoseconds.
pub(crate) fn clock_now_ns(ctx: &WasiState, id: u32) -> WasiResult<u64> {
    Ok(match id {
        clockid::REALTIME => nanos(ctx.wall_clock.now()),
        clockid::MONOTONIC => ctx.monotonic_clock.now(),
        clockid::PROCESS_CPUTIME => {
            timespec_nanos(rustix::time::clock_gettime(ClockId::ProcessCPUTime))
        }
        clockid::THREAD_CPUTIME => {
            timespec_nanos(rustix::time::clock_gettime(ClockId::ThreadCPUTime))
        }
        _ => return Err(Errno::Inval),
    })
}

pub(crate) fn clock_res_get(ctx: &mut WasiState, mem: Mem, id: u32, res: u32) -> WasiResult {
    let resolution = match id {
        clockid::REALTIME => nanos(ctx.wall_clock.resolution()),
        clockid::MONOTONIC => nanos(ctx.monotonic_clock.resolution()),
        clockid::PROCESS_CPUTIME => {
            timespec_nanos(rustix::time::clock_getres(ClockId::ProcessCPUTime))
        }
        clockid::THREAD_CPUTIME => {
            timespec_nanos(rustix::time::clock_getres(ClockId::ThreadCPUTime))
        }
        _ => return Err(Errno::Inval),
    };
    mem.write_u64(res, resolution)
}

pub(crate) fn clock_time_get(
    ctx: &mut WasiState,
    mem: Mem,
    id: u32,
    _precision: u64,
    time: u32,
) -> WasiResult {
    let now = clock_now_ns(ctx, id)?;
    mem.write_u64(time, now)
}

pub(crate) fn random_get(ctx: &mut WasiState, mem: Mem, buf: u32, len: u32) -> WasiResult {
    mem.fill(buf, len, |bytes| {
        ctx.random.fill_bytes(bytes);
        Ok(bytes.len())
    })?;
    Ok(())
}

pub(crate) fn sched_yield(_: &mut WasiState, _: Mem) -> WasiResult {
    std::thread::yield_now();
    Ok(())
}

/// `proc_raise`: signals were removed from WASI; the guest is told it is not supported.
pub(crate) fn proc_raise(_: &mut WasiState, _: Mem, _signal: u32) -> WasiResult {
    Err(Errno::Notsup)
}

// ---- descriptors -----------------------------------------------------------------------------

pub(crate) fn fd_advise(
    ctx: &mut WasiState,
    _: Mem,
    fd: u32,
    offset: u64,
    len: u64,
    advice: u32,
) -> WasiResult {
    let advice = match advice {
        0 => Advice::Normal,
        1 => Advice::Sequential,
        2 => Advice::Random,
        3 => Advice::WillNeed,
        4 => Advice::DontNeed,
        5 => Advice::NoReuse,
        _ => return Err(Errno::Inval),
    };
    let file = ctx.fds.file(fd, rights::FD_ADVISE)?;
    rustix::fs::fadvise(&*file, offset, NonZeroU64::new(len), advice)?;
    Ok(())
}

pub(crate) fn fd_allocate(
    ctx: &mut WasiState,
    _: Mem,
    fd: u32,
    offset: u64,
    len: u64,
) -> WasiResult {
    let file = ctx.fds.file(fd, rights::FD_ALLOCATE)?;
    rustix::fs::fallocate(&*file, FallocateFlags::empty(), offset, len)?;
    Ok(())
}

pub(crate) fn fd_close(ctx: &mut WasiState, _: Mem, fd: u32) -> WasiResult {
    ctx.fds.remove(fd).map(drop)
}

/// Flushes `fd` to storage: its data only, or its data and metadata.
fn sync(ctx: &mut WasiState, fd: u32, data_only: bool) -> WasiResult {
    let right = if data_only {
        rights::FD_DATASYNC
    } else {
        rights::FD_SYNC
    };
    let descriptor = ctx.fds.get_with(fd, right)?;
    match (&descriptor.kind, data_only) {
        (Kind::File(file), true) => rustix::fs::fdatasync(file)?,
        (Kind::File(file), false) => rustix::fs::fsync(file)?,
        (Kind::Dir { dir, .. }, true) => rustix::fs::fdatasync(dir)?,
        (Kind::Dir { dir, .. }, false) => rustix::fs::fsync(dir)?,
        _ => return Err(Errno::Inval),
    }
    Ok(())
}

pub(crate) fn fd_datasync(ctx: &mut WasiState, _: Mem, fd: u32) -> WasiResult {
    sync(ctx, fd, true)
}

pub(crate) fn fd_sync(ctx: &mut WasiState, _: Mem, fd: u32) -> WasiResult {
    sync(ctx, fd, false)
}

/// The `filetype` and `fdflags` of a descriptor.
fn type_and_flags(descriptor: &Descriptor) -> WasiResult<(u8, u16)> {
    Ok(match &descriptor.kind {
        Kind::File(file) => {
            let host = rustix::fs::fcntl_getfl(file)?;
            let mut flags = 0;
            for (o, w) in [
                (OFlags::APPEND, fdflags::APPEND),
                (OFlags::NONBLOCK, fdflags::NONBLOCK),
                (OFlags::DSYNC, fdflags::DSYNC),
                (OFlags::RSYNC, fdflags::RSYNC),
                (OFlags::SYNC, fdflags::SYNC),
            ] {
                if host.contains(o) {
                    flags |= w;
                }
            }
            // O_SYNC includes O_DSYNC's bit on Linux (and O_RSYNC is O_SYNC): report what
            // was asked for, not the aliases.
            if flags & fdflags::SYNC != 0 {
                flags &= !(fdflags::DSYNC | fdflags::RSYNC);
            }
            (filetype_of(&file.metadata()?.file_type()), flags)
        }
        Kind::Dir { .. } => (filetype::DIRECTORY, 0),
        Kind::Input(input) => (stream_type(input.is_terminal()), descriptor.flags),
        Kind::Output(output) => (stream_type(output.is_terminal()), descriptor.flags),
        Kind::Listener(_) | Kind::Stream(_) => (filetype::SOCKET_STREAM, descriptor.flags),
    })
}

/// A standard stream is a character device when it is a terminal (wasi-libc's `isatty`
/// asks exactly that), of unknown type otherwise.
fn stream_type(terminal: bool) -> u8 {
    if terminal {
        filetype::CHARACTER_DEVICE
    } else {
        filetype::UNKNOWN
    }
}

fn filetype_of(ty: &FileType) -> u8 {
    use cap_fs_ext::FileTypeExt;
    if ty.is_dir() {
        filetype::DIRECTORY
    } else if ty.is_file() {
        filetype::REGULAR_FILE
    } else if ty.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if ty.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if ty.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if ty.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

pub(crate) fn fd_fdstat_get(ctx: &mut WasiState, mem: Mem, fd: u32, stat: u32) -> WasiResult {
    let descriptor = ctx.fds.get(fd)?;
    let (ty, flags) = type_and_flags(descriptor)?;
    let mut bytes = [0u8; 24];
    bytes[0] = ty;
    bytes[2..4].copy_from_slice(&flags.to_le_bytes());
    bytes[8..16].copy_from_slice(&descriptor.base.to_le_bytes());
    bytes[16..24].copy_from_slice(&descriptor.inheriting.to_le_bytes());
    mem.write(stat, &bytes)
}

pub(crate) fn fd_fdstat_set_flags(ctx: &mut WasiState, _: Mem, fd: u32, flags: u32) -> WasiResult {
    let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
    if flags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 {
        // Linux cannot change these on an open file.
        return Err(Errno::Notsup);
    }
    let descriptor = ctx.fds.get_with(fd, rights::FD_FDSTAT_SET_FLAGS)?;
    match &descriptor.kind {
        Kind::File(file) => {
            let mut host = rustix::fs::fcntl_getfl(file)?;
            host.set(OFlags::APPEND, flags & fdflags::APPEND != 0);
            host.set(OFlags::NONBLOCK, flags & fdflags::NONBLOCK != 0);
            rustix::fs::fcntl_setfl(file, host)?;
        }
        Kind::Stream(stream) => {
            stream.set_nonblocking(flags & fdflags::NONBLOCK != 0)?;
            descriptor.flags = flags & fdflags::NONBLOCK;
        }
        Kind::Listener(listener) => {
            listener.set_nonblocking(flags & fdflags::NONBLOCK != 0)?;
            descriptor.flags = flags & fdflags::NONBLOCK;
        }
        Kind::Input(_) | Kind::Output(_) => descriptor.flags = flags,
        Kind::Dir { .. } => {}
    }
    Ok(())
}

pub(crate) fn fd_fdstat_set_rights(
    ctx: &mut WasiState,
    _: Mem,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> WasiResult {
    let descriptor = ctx.fds.get(fd)?;
    // Rights can only be dropped, never gained.
    if base & !descriptor.base != 0 || inheriting & !descriptor.inheriting != 0 {
        return Err(Errno::Notcapable);
    }
    descriptor.base = base;
    descriptor.inheriting = inheriting;
    Ok(())
}

/// Nanoseconds since the epoch from a seconds and nanoseconds pair (0 before 1970).
fn stamp(secs: i64, nsecs: i64) -> u64 {
    timespec_nanos(Timespec {
        tv_sec: secs,
        tv_nsec: nsecs,
    })
}

fn write_filestat(mem: Mem, ptr: u32, meta: &Metadata) -> WasiResult {
    let mut bytes = [0u8; 64];
    bytes[0..8].copy_from_slice(&meta.dev().to_le_bytes());
    bytes[8..16].copy_from_slice(&meta.ino().to_le_bytes());
    bytes[16] = filetype_of(&meta.file_type());
    bytes[24..32].copy_from_slice(&meta.nlink().to_le_bytes());
    bytes[32..40].copy_from_slice(&meta.len().to_le_bytes());
    let times = [
        stamp(meta.atime(), meta.atime_nsec()),
        stamp(meta.mtime(), meta.mtime_nsec()),
        stamp(meta.ctime(), meta.ctime_nsec()),
    ];
    for (i, t) in times.iter().enumerate() {
        bytes[40 + i * 8..48 + i * 8].copy_from_slice(&t.to_le_bytes());
    }
    mem.write(ptr, &bytes)
}

pub(crate) fn fd_filestat_get(ctx: &mut WasiState, mem: Mem, fd: u32, buf: u32) -> WasiResult {
    let descriptor = ctx.fds.get_with(fd, rights::FD_FILESTAT_GET)?;
    let meta = match &descriptor.kind {
        Kind::File(file) => file.metadata()?,
        Kind::Dir { dir, .. } => dir.dir_metadata()?,
        _ => {
            // A stream or socket: only its type is known.
            let (ty, _) = type_and_flags(descriptor)?;
            let mut bytes = [0u8; 64];
            bytes[16] = ty;
            return mem.write(buf, &bytes);
        }
    };
    write_filestat(mem, buf, &meta)
}

pub(crate) fn fd_filestat_set_size(ctx: &mut WasiState, _: Mem, fd: u32, size: u64) -> WasiResult {
    let file = ctx.fds.file(fd, rights::FD_FILESTAT_SET_SIZE)?;
    file.set_len(size)?;
    Ok(())
}

/// The access and modification times `fst_flags` asks for; `EINVAL` if a time is both given
/// and "now".
fn time_specs(atim: u64, mtim: u64, fst: u32) -> WasiResult<[Option<SystemTimeSpec>; 2]> {
    let fst = u16::try_from(fst).map_err(|_| Errno::Inval)?;
    let one = |value: u64, set: u16, now: u16| -> WasiResult<Option<SystemTimeSpec>> {
        match (fst & set != 0, fst & now != 0) {
            (true, true) => Err(Errno::Inval),
            (true, false) => Ok(Some(SystemTimeSpec::Absolute(SystemTime::from_std(
                std::time::UNIX_EPOCH + Duration::from_nanos(value),
            )))),
            (false, true) => Ok(Some(SystemTimeSpec::SymbolicNow)),
            (false, false) => Ok(None),
        }
    };
    Ok([
        one(atim, fstflags::ATIM, fstflags::ATIM_NOW)?,
        one(mtim, fstflags::MTIM, fstflags::MTIM_NOW)?,
    ])
}

fn to_timespec(spec: &Option<SystemTimeSpec>) -> Timespec {
    match spec {
        None => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        Some(SystemTimeSpec::SymbolicNow) => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        },
        Some(SystemTimeSpec::Absolute(t)) => {
            let d = t
                .into_std()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            Timespec {
                tv_sec: d.as_secs() as i64,
                tv_nsec: i64::from(d.subsec_nanos()),
            }
        }
    }
}

pub(crate) fn fd_filestat_set_times(
    ctx: &mut WasiState,
    _: Mem,
    fd: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> WasiResult {
    let [access, modification] = time_specs(atim, mtim, fst)?;
    let times = Timestamps {
        last_access: to_timespec(&access),
        last_modification: to_timespec(&modification),
    };
    let descriptor = ctx.fds.get_with(fd, rights::FD_FILESTAT_SET_TIMES)?;
    match &descriptor.kind {
        Kind::File(file) => rustix::fs::futimens(file, &times)?,
        Kind::Dir { dir, .. } => rustix::fs::futimens(dir, &times)?,
        _ => return Err(Errno::Badf),
    }
    Ok(())
}

/// Reads into the guest buffers in order with `read`, stopping at a short read.
fn read_into(
    mem: Mem,
    bufs: &[GuestBuf],
    mut read: impl FnMut(&mut [u8], u64) -> std::io::Result<usize>,
) -> WasiResult<u32> {
    let mut total: u64 = 0;
    for buf in bufs {
        let n = mem.fill(buf.ptr, buf.len, |slice| Ok(read(slice, total)?))?;
        total += n as u64;
        if n < buf.len as usize {
            break;
        }
    }
    u32::try_from(total).map_err(|_| Errno::Overflow)
}

/// Writes the guest buffers in order with `write`, stopping at a short write.
fn write_from(
    mem: Mem,
    bufs: &[GuestBuf],
    mut write: impl FnMut(&[u8], u64) -> std::io::Result<usize>,
) -> WasiResult<u32> {
    let mut total: u64 = 0;
    for buf in bufs {
        let slice = mem.slice(buf.ptr, buf.len)?;
        let n = write(&slice, total)?;
        total += n as u64;
        if n < buf.len as usize {
            break;
        }
    }
    u32::try_from(total).map_err(|_| Errno::Overflow)
}

pub(crate) fn fd_read(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    iovs: u32,
    len: u32,
    nread: u32,
) -> WasiResult {
    let bufs = mem.iovecs(iovs, len)?;
    let descriptor = ctx.fds.get_with(fd, rights::FD_READ)?;
    let n = match &mut descriptor.kind {
        Kind::File(file) => read_into(mem, &bufs, |b, _| file.read(b))?,
        Kind::Input(input) => read_into(mem, &bufs, |b, _| input.read(b))?,
        Kind::Stream(stream) => read_into(mem, &bufs, |b, _| stream.read(b))?,
        Kind::Dir { .. } => return Err(Errno::Isdir),
        Kind::Output(_) | Kind::Listener(_) => return Err(Errno::Badf),
    };
    mem.write_u32(nread, n)
}

pub(crate) fn fd_pread(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    iovs: u32,
    len: u32,
    offset: u64,
    nread: u32,
) -> WasiResult {
    let bufs = mem.iovecs(iovs, len)?;
    let file = ctx.fds.file(fd, rights::FD_READ | rights::FD_SEEK)?;
    let n = read_into(mem, &bufs, |b, done| file.read_at(b, offset + done))?;
    mem.write_u32(nread, n)
}

pub(crate) fn fd_write(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    iovs: u32,
    len: u32,
    nwritten: u32,
) -> WasiResult {
    let bufs = mem.iovecs(iovs, len)?;
    let descriptor = ctx.fds.get_with(fd, rights::FD_WRITE)?;
    let n = match &mut descriptor.kind {
        Kind::File(file) => write_from(mem, &bufs, |b, _| file.write(b))?,
        Kind::Output(output) => write_from(mem, &bufs, |b, _| output.write(b).map(|()| b.len()))?,
        Kind::Stream(stream) => write_from(mem, &bufs, |b, _| stream.write(b))?,
        Kind::Dir { .. } => return Err(Errno::Isdir),
        Kind::Input(_) | Kind::Listener(_) => return Err(Errno::Badf),
    };
    mem.write_u32(nwritten, n)
}

pub(crate) fn fd_pwrite(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    iovs: u32,
    len: u32,
    offset: u64,
    nwritten: u32,
) -> WasiResult {
    let bufs = mem.iovecs(iovs, len)?;
    let file = ctx.fds.file(fd, rights::FD_WRITE | rights::FD_SEEK)?;
    let n = write_from(mem, &bufs, |b, done| file.write_at(b, offset + done))?;
    mem.write_u32(nwritten, n)
}

pub(crate) fn fd_prestat_get(ctx: &mut WasiState, mem: Mem, fd: u32, buf: u32) -> WasiResult {
    let name_len = match &ctx.fds.get(fd)?.kind {
        Kind::Dir {
            preopen: Some(name),
            ..
        } => name.len(),
        _ => return Err(Errno::Badf),
    };
    mem.write_u32(buf, 0)?;
    mem.write_u32(add(buf, 4)?, name_len as u32)
}

pub(crate) fn fd_prestat_dir_name(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    path: u32,
    len: u32,
) -> WasiResult {
    let Kind::Dir {
        preopen: Some(name),
        ..
    } = &ctx.fds.get(fd)?.kind
    else {
        return Err(Errno::Badf);
    };
    if (len as usize) < name.len() {
        return Err(Errno::Nametoolong);
    }
    mem.write(path, name.as_bytes())
}

pub(crate) fn fd_renumber(ctx: &mut WasiState, _: Mem, from: u32, to: u32) -> WasiResult {
    ctx.fds.renumber(from, to)
}

pub(crate) fn fd_seek(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    offset: u64,
    whence: u32,
    newoffset: u32,
) -> WasiResult {
    let offset = offset as i64;
    let pos = match whence {
        0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        1 => SeekFrom::Current(offset),
        2 => SeekFrom::End(offset),
        _ => return Err(Errno::Inval),
    };
    // Asking for the position only needs the right to tell it.
    let right = if pos == SeekFrom::Current(0) {
        rights::FD_TELL
    } else {
        rights::FD_SEEK
    };
    // A stream cannot seek whatever its rights; a file needs the right.
    let descriptor = ctx.fds.get(fd)?;
    match descriptor.kind {
        Kind::File(_) => descriptor.check(right)?,
        Kind::Dir { .. } => return Err(Errno::Badf),
        _ => return Err(Errno::Spipe),
    }
    let file = ctx.fds.file(fd, right)?;
    let new = file.seek(pos)?;
    mem.write_u64(newoffset, new)
}

pub(crate) fn fd_tell(ctx: &mut WasiState, mem: Mem, fd: u32, offset: u32) -> WasiResult {
    let file = ctx.fds.file(fd, rights::FD_TELL)?;
    let position = file.stream_position()?;
    mem.write_u64(offset, position)
}

/// Size of a `dirent` before its name.
const DIRENT_SIZE: usize = 24;

pub(crate) fn fd_readdir(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> WasiResult {
    let dir = ctx.fds.dir(fd, rights::FD_READDIR)?;
    let this = dir.dir_metadata()?;
    // `.` and `..` first, then the entries; an entry's cookie is the index of the next.
    let mut entries = vec![
        (".".to_string(), this.ino(), filetype::DIRECTORY),
        ("..".to_string(), 0, filetype::DIRECTORY),
    ];
    for entry in dir.entries()? {
        let entry = entry?;
        let name = entry.file_name().into_string().map_err(|_| Errno::Ilseq)?;
        let ty = filetype_of(&entry.file_type()?);
        use cap_fs_ext::DirEntryExt as _;
        let ino = entry.full_metadata().map(|m| m.ino()).unwrap_or(0);
        entries.push((name, ino, ty));
    }
    let mut out = Vec::new();
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (index, (name, ino, ty)) in entries.iter().enumerate().skip(start) {
        if out.len() >= buf_len as usize {
            break;
        }
        let mut header = [0u8; DIRENT_SIZE];
        header[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&ino.to_le_bytes());
        header[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        header[20] = *ty;
        out.extend_from_slice(&header);
        out.extend_from_slice(name.as_bytes());
    }
    // A full buffer (the last entry cut short) tells the guest to call again.
    out.truncate(buf_len as usize);
    mem.write(buf, &out)?;
    mem.write_u32(bufused, out.len() as u32)
}

// ---- paths -----------------------------------------------------------------------------------

/// The directory `fd` with `rights`, and the guest path at `path`/`len`.
fn dir_and_path<'c, 'm>(
    ctx: &'c WasiState,
    mem: &'m GuestMemory<'_>,
    fd: u32,
    right: u64,
    path: u32,
    len: u32,
) -> WasiResult<(&'c Dir, Cow<'m, Path>)> {
    let path = match mem.str(path, len)? {
        Cow::Borrowed(path) => Cow::Borrowed(Path::new(path)),
        Cow::Owned(path) => Cow::Owned(PathBuf::from(path)),
    };
    Ok((ctx.fds.dir(fd, right)?, path))
}

pub(crate) fn path_create_directory(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    path: u32,
    len: u32,
) -> WasiResult {
    let (dir, path) = dir_and_path(ctx, mem, fd, rights::PATH_CREATE_DIRECTORY, path, len)?;
    dir.create_dir(path)?;
    Ok(())
}

pub(crate) fn path_filestat_get(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    flags: u32,
    path: u32,
    len: u32,
    buf: u32,
) -> WasiResult {
    let (dir, path) = dir_and_path(ctx, mem, fd, rights::PATH_FILESTAT_GET, path, len)?;
    let meta = if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
        dir.metadata(path)?
    } else {
        dir.symlink_metadata(path)?
    };
    write_filestat(mem, buf, &meta)
}

#[allow(clippy::too_many_arguments)] // the witx signature
pub(crate) fn path_filestat_set_times(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    flags: u32,
    path: u32,
    len: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> WasiResult {
    let [access, modification] = time_specs(atim, mtim, fst)?;
    let (dir, path) = dir_and_path(ctx, mem, fd, rights::PATH_FILESTAT_SET_TIMES, path, len)?;
    if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
        dir.set_times(path, access, modification)?;
    } else {
        dir.set_symlink_times(path, access, modification)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)] // the witx signature
pub(crate) fn path_link(
    ctx: &mut WasiState,
    mem: Mem,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> WasiResult {
    if old_flags & LOOKUP_SYMLINK_FOLLOW != 0 {
        // Following the source link could link a file outside the sandbox.
        return Err(Errno::Inval);
    }
    let (old_dir, old_path) = dir_and_path(
        ctx,
        mem,
        old_fd,
        rights::PATH_LINK_SOURCE,
        old_path,
        old_len,
    )?;
    let (new_dir, new_path) = dir_and_path(
        ctx,
        mem,
        new_fd,
        rights::PATH_LINK_TARGET,
        new_path,
        new_len,
    )?;
    old_dir.hard_link(old_path, new_dir, new_path)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)] // the witx signature
pub(crate) fn path_open(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    dirflags: u32,
    path: u32,
    len: u32,
    oflags: u32,
    base: u64,
    inheriting: u64,
    fdflags: u32,
    opened: u32,
) -> WasiResult {
    let oflags = u16::try_from(oflags).map_err(|_| Errno::Inval)?;
    let fdflags = u16::try_from(fdflags).map_err(|_| Errno::Inval)?;
    let (creat, excl, trunc) = (
        oflags & oflags::CREAT != 0,
        oflags & oflags::EXCL != 0,
        oflags & oflags::TRUNC != 0,
    );
    let mut needed = rights::PATH_OPEN;
    if creat {
        needed |= rights::PATH_CREATE_FILE;
    }
    if trunc {
        needed |= rights::PATH_FILESTAT_SET_SIZE;
    }
    let parent = ctx.fds.get(fd)?;
    if !matches!(parent.kind, Kind::Dir { .. }) {
        return Err(Errno::Notdir);
    }
    parent.check(needed)?;
    // Writing needs the right to write through this folder; beyond that the new descriptor
    // gets what it asks for within the folder's inheriting rights (Rust's std asks for
    // more than a read needs).
    if base & rights::FD_WRITE != 0 && parent.inheriting & rights::FD_WRITE == 0 {
        return Err(Errno::Notcapable);
    }
    let base = base & parent.inheriting;
    let inheriting = inheriting & parent.inheriting;
    let (dir, path) = dir_and_path(ctx, mem, fd, rights::PATH_OPEN, path, len)?;
    let follow = dirflags & LOOKUP_SYMLINK_FOLLOW != 0;

    let kind = if oflags & oflags::DIRECTORY != 0 {
        if creat || excl || trunc {
            return Err(Errno::Inval);
        }
        let opened = if follow {
            dir.open_dir(path)?
        } else {
            dir.open_dir_nofollow(path)?
        };
        Kind::Dir {
            dir: opened,
            preopen: None,
        }
    } else {
        let mut options = OpenOptions::new();
        let write =
            base & (rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE) != 0;
        let read = base & (rights::FD_READ | rights::FD_READDIR) != 0 || !write;
        options.read(read).write(write);
        if creat && excl {
            options.create_new(true);
        } else if creat {
            options.create(true);
        }
        options.truncate(trunc);
        options.append(fdflags & fdflags::APPEND != 0);
        options.nonblock(fdflags & fdflags::NONBLOCK != 0);
        options.dsync(fdflags & fdflags::DSYNC != 0);
        options.rsync(fdflags & fdflags::RSYNC != 0);
        options.sync(fdflags & fdflags::SYNC != 0);
        options.follow(if follow {
            FollowSymlinks::Yes
        } else {
            FollowSymlinks::No
        });
        options.maybe_dir(true);
        let file = dir.open_with(path, &options)?;
        if file.metadata()?.is_dir() {
            Kind::Dir {
                dir: Dir::from_std_file(file.into_std()),
                preopen: None,
            }
        } else {
            Kind::File(file)
        }
    };
    let new = ctx.fds.push(Descriptor::new(kind, base, inheriting))?;
    mem.write_u32(opened, new)
}

#[allow(clippy::too_many_arguments)] // the witx signature
pub(crate) fn path_readlink(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    path: u32,
    len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> WasiResult {
    let (dir, path) = dir_and_path(ctx, mem, fd, rights::PATH_READLINK, path, len)?;
    let target = dir.read_link(path)?;
    let target = target.to_str().ok_or(Errno::Ilseq)?.as_bytes();
    // As POSIX readlink: cut to the buffer, no terminating NUL.
    let n = target.len().min(buf_len as usize);
    mem.write(buf, &target[..n])?;
    mem.write_u32(bufused, n as u32)
}

pub(crate) fn path_remove_directory(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    path: u32,
    len: u32,
) -> WasiResult {
    let (dir, path) = dir_and_path(ctx, mem, fd, rights::PATH_REMOVE_DIRECTORY, path, len)?;
    dir.remove_dir(path)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)] // the witx signature
pub(crate) fn path_rename(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> WasiResult {
    let (old_dir, old_path) =
        dir_and_path(ctx, mem, fd, rights::PATH_RENAME_SOURCE, old_path, old_len)?;
    let (new_dir, new_path) = dir_and_path(
        ctx,
        mem,
        new_fd,
        rights::PATH_RENAME_TARGET,
        new_path,
        new_len,
    )?;
    old_dir.rename(old_path, new_dir, new_path)?;
    Ok(())
}

pub(crate) fn path_symlink(
    ctx: &mut WasiState,
    mem: Mem,
    old_path: u32,
    old_len: u32,
    fd: u32,
    new_path: u32,
    new_len: u32,
) -> WasiResult {
    let target = mem.str(old_path, old_len)?.to_string();
    let (dir, path) = dir_and_path(ctx, mem, fd, rights::PATH_SYMLINK, new_path, new_len)?;
    dir.symlink(target, path)?;
    Ok(())
}

pub(crate) fn path_unlink_file(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    path: u32,
    len: u32,
) -> WasiResult {
    let (dir, path) = dir_and_path(ctx, mem, fd, rights::PATH_UNLINK_FILE, path, len)?;
    dir.remove_file_or_symlink(path)?;
    Ok(())
}

// ---- sockets ---------------------------------------------------------------------------------

pub(crate) fn sock_accept(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    flags: u32,
    opened: u32,
) -> WasiResult {
    if flags & !u32::from(fdflags::NONBLOCK) != 0 {
        return Err(Errno::Inval);
    }
    let descriptor = ctx.fds.get(fd)?;
    let Kind::Listener(listener) = &descriptor.kind else {
        return Err(Errno::Notsock);
    };
    descriptor.check(rights::SOCK_ACCEPT)?;
    let (stream, _) = listener.accept()?;
    let nonblocking = flags != 0;
    stream.set_nonblocking(nonblocking)?;
    let mut new = Descriptor::new(
        Kind::Stream(stream),
        rights::SOCKET & !rights::SOCK_ACCEPT,
        0,
    );
    new.flags = if nonblocking { fdflags::NONBLOCK } else { 0 };
    let new = ctx.fds.push(new)?;
    mem.write_u32(opened, new)
}

/// The connected socket `fd`.
fn stream(ctx: &mut WasiState, fd: u32, right: u64) -> WasiResult<&mut std::net::TcpStream> {
    let descriptor = ctx.fds.get(fd)?;
    let Kind::Stream(stream) = &mut descriptor.kind else {
        return Err(Errno::Notsock);
    };
    if descriptor.base & right != right {
        return Err(Errno::Notcapable);
    }
    Ok(stream)
}

#[allow(clippy::too_many_arguments)] // the witx signature
pub(crate) fn sock_recv(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    iovs: u32,
    len: u32,
    flags: u32,
    datalen: u32,
    oflags: u32,
) -> WasiResult {
    const PEEK: u32 = 1;
    const WAITALL: u32 = 2;
    if flags & !(PEEK | WAITALL) != 0 {
        return Err(Errno::Inval);
    }
    let bufs = mem.iovecs(iovs, len)?;
    let stream = stream(ctx, fd, rights::FD_READ)?;
    let n = if flags & PEEK != 0 {
        let first = bufs.iter().find(|b| b.len > 0).copied();
        match first {
            Some(b) => mem.fill(b.ptr, b.len, |bytes| Ok(stream.peek(bytes)?))? as u32,
            None => 0,
        }
    } else if flags & WAITALL != 0 {
        read_into(mem, &bufs, |b, _| {
            let mut filled = 0;
            while filled < b.len() {
                match stream.read(&mut b[filled..])? {
                    0 => break,
                    n => filled += n,
                }
            }
            Ok(filled)
        })?
    } else {
        read_into(mem, &bufs, |b, _| stream.read(b))?
    };
    mem.write_u32(datalen, n)?;
    mem.write_u16(oflags, 0)
}

pub(crate) fn sock_send(
    ctx: &mut WasiState,
    mem: Mem,
    fd: u32,
    iovs: u32,
    len: u32,
    flags: u32,
    datalen: u32,
) -> WasiResult {
    if flags != 0 {
        return Err(Errno::Inval);
    }
    let bufs = mem.iovecs(iovs, len)?;
    let stream = stream(ctx, fd, rights::FD_WRITE)?;
    let n = write_from(mem, &bufs, |b, _| stream.write(b))?;
    mem.write_u32(datalen, n)
}

pub(crate) fn sock_shutdown(ctx: &mut WasiState, _: Mem, fd: u32, how: u32) -> WasiResult {
    let how = match how {
        1 => std::net::Shutdown::Read,
        2 => std::net::Shutdown::Write,
        3 => std::net::Shutdown::Both,
        _ => return Err(Errno::Inval),
    };
    stream(ctx, fd, rights::SOCK_SHUTDOWN)?.shutdown(how)?;
    Ok(())
}
