//! `poll_oneoff`: wait for clocks and descriptors.
//!
//! Regular files, in-memory stdin and every output stream are always ready; the host's
//! stdin and sockets are polled with `poll(2)`; clock subscriptions bound the wait.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags};
use rustix::time::Timespec;

use crate::ctx::WasiCtx;
use crate::fd::Kind;
use crate::memory::GuestMemory;
use crate::types::{rights, Errno, WasiResult};

/// Size of a `subscription` and of an `event`.
const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;

const EVENT_CLOCK: u8 = 0;
const EVENT_FD_READ: u8 = 1;
const EVENT_FD_WRITE: u8 = 2;
const SUBCLOCK_ABSTIME: u16 = 1;
const EVENT_HANGUP: u16 = 1;

/// An event to report.
struct Event {
    userdata: u64,
    error: Option<Errno>,
    kind: u8,
    nbytes: u64,
    hangup: bool,
}

impl Event {
    fn new(userdata: u64, kind: u8) -> Self {
        Event {
            userdata,
            error: None,
            kind,
            nbytes: 0,
            hangup: false,
        }
    }

    fn error(userdata: u64, kind: u8, error: Errno) -> Self {
        Event {
            error: Some(error),
            ..Event::new(userdata, kind)
        }
    }
}

/// A descriptor to ask the host about.
struct Waiting<'a> {
    userdata: u64,
    kind: u8,
    fd: BorrowedFd<'a>,
}

/// `poll_oneoff`. Unlike the other functions it takes the context unlocked: it holds the lock
/// while it reads the subscriptions and while it waits on descriptors (which it borrows from
/// the context), but not while it sleeps for clocks only, so that a sleeping thread does not
/// stop the program's other threads from calling WASI.
pub(crate) fn poll_oneoff(
    cx: &WasiCtx,
    mem: &mut GuestMemory<'_>,
    subscriptions: u32,
    events: u32,
    count: u32,
    nevents: u32,
) -> WasiResult {
    if count == 0 {
        return Err(Errno::Inval);
    }
    let state = cx.lock();
    let ctx = &*state;
    let mut ready = Vec::new();
    let mut clocks: Vec<(u64, Duration)> = Vec::new();
    let mut waiting = Vec::new();
    let stdin = std::io::stdin();
    for i in 0..count {
        let sub = subscriptions
            .checked_add(i.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::Fault)?)
            .ok_or(Errno::Fault)?;
        let field = |offset: u32| sub.checked_add(offset).ok_or(Errno::Fault);
        let userdata = mem.read_u64(sub)?;
        let tag = mem.read_u8(field(8)?)?;
        match tag {
            EVENT_CLOCK => {
                let id = mem.read_u32(field(16)?)?;
                let timeout = mem.read_u64(field(24)?)?;
                let flags = mem.read_u16(field(40)?)?;
                let now = match crate::preview1::clock_now_ns(ctx, id) {
                    Ok(now) => now,
                    Err(e) => {
                        ready.push(Event::error(userdata, EVENT_CLOCK, e));
                        continue;
                    }
                };
                let relative = if flags & SUBCLOCK_ABSTIME != 0 {
                    timeout.saturating_sub(now)
                } else {
                    timeout
                };
                clocks.push((userdata, Duration::from_nanos(relative)));
            }
            EVENT_FD_READ | EVENT_FD_WRITE => {
                let fd = mem.read_u32(field(16)?)?;
                let descriptor = match ctx.fds.get_ref(fd) {
                    Ok(d) => d,
                    Err(e) => {
                        ready.push(Event::error(userdata, tag, e));
                        continue;
                    }
                };
                if descriptor.check(rights::POLL_FD_READWRITE).is_err() {
                    ready.push(Event::error(userdata, tag, Errno::Notcapable));
                    continue;
                }
                let read = tag == EVENT_FD_READ;
                match &descriptor.kind {
                    Kind::File(file) => {
                        let mut event = Event::new(userdata, tag);
                        if read {
                            // What is left to read from the current position.
                            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                            let pos = rustix::fs::seek(file, rustix::fs::SeekFrom::Current(0))
                                .unwrap_or(0);
                            event.nbytes = len.saturating_sub(pos);
                        }
                        ready.push(event);
                    }
                    Kind::Input(input) if read => match input.ready() {
                        Some(nbytes) => ready.push(Event {
                            nbytes,
                            ..Event::new(userdata, tag)
                        }),
                        None => waiting.push(Waiting {
                            userdata,
                            kind: tag,
                            fd: stdin.as_fd(),
                        }),
                    },
                    Kind::Output(_) if !read => ready.push(Event::new(userdata, tag)),
                    Kind::Stream(stream) => waiting.push(Waiting {
                        userdata,
                        kind: tag,
                        fd: stream.as_fd(),
                    }),
                    Kind::Listener(listener) if read => waiting.push(Waiting {
                        userdata,
                        kind: tag,
                        fd: listener.as_fd(),
                    }),
                    _ => ready.push(Event::error(userdata, tag, Errno::Badf)),
                }
            }
            _ => return Err(Errno::Inval),
        }
    }

    let earliest = clocks.iter().map(|(_, d)| *d).min();
    if ready.is_empty() || !waiting.is_empty() {
        let timeout = if ready.is_empty() {
            earliest
        } else {
            Some(Duration::ZERO)
        };
        let fired = if waiting.is_empty() {
            // Only clocks: sleep until the first, without the lock.
            if let Some(t) = timeout {
                drop(waiting);
                drop(state);
                std::thread::sleep(t);
            }
            Vec::new()
        } else {
            poll_host(&waiting, timeout)?
        };
        let any_fd = !fired.is_empty();
        ready.extend(fired);
        if !any_fd {
            if let Some(first) = earliest {
                for (userdata, d) in &clocks {
                    if *d <= first {
                        ready.push(Event::new(*userdata, EVENT_CLOCK));
                    }
                }
            }
        }
    } else if let Some(first) = earliest {
        // Clocks that expire right away are ready with the descriptors.
        if first.is_zero() {
            for (userdata, d) in &clocks {
                if d.is_zero() {
                    ready.push(Event::new(*userdata, EVENT_CLOCK));
                }
            }
        }
    }

    for (i, event) in ready.iter().enumerate() {
        let at = events
            .checked_add((i as u32).checked_mul(EVENT_SIZE).ok_or(Errno::Fault)?)
            .ok_or(Errno::Fault)?;
        let mut bytes = [0u8; EVENT_SIZE as usize];
        bytes[0..8].copy_from_slice(&event.userdata.to_le_bytes());
        let error = event.error.map(|e| e as u16).unwrap_or(0);
        bytes[8..10].copy_from_slice(&error.to_le_bytes());
        bytes[10] = event.kind;
        bytes[16..24].copy_from_slice(&event.nbytes.to_le_bytes());
        let flags = if event.hangup { EVENT_HANGUP } else { 0 };
        bytes[24..26].copy_from_slice(&flags.to_le_bytes());
        mem.write(at, &bytes)?;
    }
    mem.write_u32(nevents, ready.len() as u32)
}

/// Polls the host descriptors for up to `timeout` (forever if `None`); the events of those
/// that became ready.
fn poll_host(waiting: &[Waiting<'_>], timeout: Option<Duration>) -> WasiResult<Vec<Event>> {
    let mut fds: Vec<PollFd<'_>> = waiting
        .iter()
        .map(|w| {
            let flags = if w.kind == EVENT_FD_READ {
                PollFlags::IN
            } else {
                PollFlags::OUT
            };
            PollFd::from_borrowed_fd(w.fd, flags)
        })
        .collect();
    let timeout = timeout.map(|d| Timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    });
    loop {
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(waiting
        .iter()
        .zip(&fds)
        .filter(|(_, p)| !p.revents().is_empty())
        .map(|(w, p)| {
            let revents = p.revents();
            let mut event = Event::new(w.userdata, w.kind);
            event.hangup = revents.contains(PollFlags::HUP);
            if revents.intersects(PollFlags::ERR | PollFlags::NVAL) {
                event.error = Some(Errno::Io);
            }
            event.nbytes = u64::from(revents.intersects(PollFlags::IN | PollFlags::OUT));
            event
        })
        .collect())
}
