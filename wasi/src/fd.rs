//! The guest's file descriptor table: numbers to open files, directories, streams and
//! sockets, each with the rights it was given.

use std::net::{TcpListener, TcpStream};

use cap_std::fs::{Dir, File};

use crate::stdio::{Input, Output};
use crate::types::{Errno, WasiResult};

/// What a descriptor refers to.
pub(crate) enum Kind {
    Input(Input),
    Output(Output),
    File(File),
    /// A directory; `preopen` is the guest's name for it if the host preopened it.
    Dir {
        dir: Dir,
        preopen: Option<String>,
    },
    Listener(TcpListener),
    Stream(TcpStream),
}

/// An open descriptor.
pub(crate) struct Descriptor {
    pub kind: Kind,
    /// The rights of operations on this descriptor.
    pub base: u64,
    /// The most rights descriptors opened through this one may have.
    pub inheriting: u64,
    /// `fdflags` the table keeps itself (for streams, where the host has no file to ask).
    pub flags: u16,
}

impl Descriptor {
    pub(crate) fn new(kind: Kind, base: u64, inheriting: u64) -> Self {
        Descriptor {
            kind,
            base,
            inheriting,
            flags: 0,
        }
    }

    /// `ENOTCAPABLE` unless the descriptor has all of `rights`.
    pub(crate) fn check(&self, rights: u64) -> WasiResult {
        if self.base & rights == rights {
            Ok(())
        } else {
            Err(Errno::Notcapable)
        }
    }
}

/// The table: the lowest free number is given to each new descriptor, as POSIX does.
#[derive(Default)]
pub(crate) struct FdTable {
    slots: Vec<Option<Descriptor>>,
}

impl FdTable {
    /// Adds `descriptor` under the lowest free number.
    pub(crate) fn push(&mut self, descriptor: Descriptor) -> WasiResult<u32> {
        let index = match self.slots.iter().position(Option::is_none) {
            Some(free) => {
                self.slots[free] = Some(descriptor);
                free
            }
            None => {
                self.slots.push(Some(descriptor));
                self.slots.len() - 1
            }
        };
        u32::try_from(index).map_err(|_| Errno::Mfile)
    }

    /// The descriptor `fd`, `EBADF` if none is open there.
    pub(crate) fn get_ref(&self, fd: u32) -> WasiResult<&Descriptor> {
        self.slots
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::Badf)
    }

    /// The descriptor `fd`, mutably.
    pub(crate) fn get(&mut self, fd: u32) -> WasiResult<&mut Descriptor> {
        self.slots
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::Badf)
    }

    /// The descriptor `fd` after checking it has `rights`.
    pub(crate) fn get_with(&mut self, fd: u32, rights: u64) -> WasiResult<&mut Descriptor> {
        let descriptor = self.get(fd)?;
        descriptor.check(rights)?;
        Ok(descriptor)
    }

    /// The open file `fd` with `rights`: `EBADF` if it is not open, `EISDIR` if it is a
    /// directory (as Linux says of a read from one), `ESPIPE`-class errors are the caller's.
    pub(crate) fn file(&mut self, fd: u32, rights: u64) -> WasiResult<&mut File> {
        match &mut self.get_with(fd, rights)?.kind {
            Kind::File(file) => Ok(file),
            Kind::Dir { .. } => Err(Errno::Isdir),
            _ => Err(Errno::Spipe),
        }
    }

    /// The directory `fd` with `rights`: `ENOTDIR` if it is something else.
    pub(crate) fn dir(&self, fd: u32, rights: u64) -> WasiResult<&Dir> {
        let descriptor = self.get_ref(fd)?;
        let Kind::Dir { dir, .. } = &descriptor.kind else {
            return Err(Errno::Notdir);
        };
        if descriptor.base & rights != rights {
            return Err(Errno::Notcapable);
        }
        Ok(dir)
    }

    /// Closes `fd`.
    pub(crate) fn remove(&mut self, fd: u32) -> WasiResult<Descriptor> {
        self.slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(Errno::Badf)
    }

    /// Moves `from` to `to`, closing what `to` held; both must be open.
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> WasiResult {
        self.get(to)?;
        let descriptor = self.remove(from)?;
        self.slots[to as usize] = Some(descriptor);
        Ok(())
    }
}
