//! The guest's standard streams: the host's own, in-memory input, or captured output.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

/// Output a host captures from a guest (its stdout or stderr): cheap to clone, every clone
/// is the same buffer, so the host keeps one and reads it after the run.
#[derive(Clone, Default, Debug)]
pub struct OutputPipe {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl OutputPipe {
    /// An empty pipe.
    pub fn new() -> Self {
        OutputPipe::default()
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A panic while holding the lock left whole bytes behind: the buffer stays usable.
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where a guest's stdin comes from.
pub(crate) enum Input {
    /// The host process's stdin.
    Inherit,
    /// These bytes, then end of file.
    Bytes(io::Cursor<Vec<u8>>),
}

/// Where a guest's stdout or stderr goes.
pub(crate) enum Output {
    /// The host process's stdout (`false`) or stderr (`true`).
    Inherit { stderr: bool },
    /// A buffer the host reads.
    Pipe(OutputPipe),
    /// Nowhere.
    Discard,
}

impl Input {
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Inherit => io::stdin().lock().read(buf),
            Input::Bytes(cursor) => cursor.read(buf),
        }
    }

    /// Whether a read would not block; `None` if that takes polling the host's stdin.
    pub(crate) fn ready(&self) -> Option<u64> {
        match self {
            Input::Inherit => None,
            Input::Bytes(cursor) => {
                Some((cursor.get_ref().len() as u64).saturating_sub(cursor.position()))
            }
        }
    }

    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self, Input::Inherit) && io::IsTerminal::is_terminal(&io::stdin())
    }
}

impl Output {
    /// Writes all of `buf` (a short write to a terminal or pipe would only make the guest
    /// retry).
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Inherit { stderr: false } => {
                let mut out = io::stdout().lock();
                out.write_all(buf)?;
                out.flush()
            }
            Output::Inherit { stderr: true } => io::stderr().lock().write_all(buf),
            Output::Pipe(pipe) => {
                pipe.lock().extend_from_slice(buf);
                Ok(())
            }
            Output::Discard => Ok(()),
        }
    }

    pub(crate) fn is_terminal(&self) -> bool {
        match self {
            Output::Inherit { stderr: false } => io::IsTerminal::is_terminal(&io::stdout()),
            Output::Inherit { stderr: true } => io::IsTerminal::is_terminal(&io::stderr()),
            Output::Pipe(_) | Output::Discard => false,
        }
    }
}
