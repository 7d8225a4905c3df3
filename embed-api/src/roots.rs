//! The host's roots: which GC objects the host's [`AnyRef`](crate::AnyRef) handles keep
//! alive, and when they let go.
//!
//! As in wasmtime, the roots form a last-in, first-out set. A handle is made with a root (the
//! object's word pushed on the set) and records the root's position and the set's
//! generation then. A scope remembers the set's length when it starts and truncates the set
//! to it when it ends, moving to a new generation: the objects of the handles made inside
//! become collectable, and those handles no longer match their position (gone, or reused in
//! the new generation), so using one is an error instead of a read of a freed object.
//! Handles made outside every scope live as long as the store.
//!
//! Scopes are [`RootScope`], which the host opens, and every call of a host function: the
//! handles a host function gets or makes are released when it returns.

use crate::error::{Error, Result};
use crate::store::{opaque_mut, AsContext, AsContextMut, StoreContext, StoreContextMut};

/// A rooted object, as a handle records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Root {
    /// Its position in the set.
    index: usize,
    /// The set's generation when it was pushed.
    generation: u64,
}

/// The set of roots of a store's host handles.
#[derive(Debug, Default)]
pub(crate) struct HostRoots {
    /// Each root's object word and the generation it was pushed in.
    roots: Vec<(u64, u64)>,
    /// Moves on whenever a scope that rooted something ends.
    generation: u64,
}

impl HostRoots {
    /// Roots the object `word` until the innermost scope ends.
    pub(crate) fn push(&mut self, word: u64) -> Root {
        self.roots.push((word, self.generation));
        Root {
            index: self.roots.len() - 1,
            generation: self.generation,
        }
    }

    /// Whether `root` still holds its object.
    pub(crate) fn check(&self, root: Root) -> Result<()> {
        match self.roots.get(root.index) {
            Some(&(_, generation)) if generation == root.generation => Ok(()),
            _ => Err(Error::Type(
                "the reference is no longer rooted: the scope it was made in ended \
                 (a RootScope, or the host function that got it)"
                    .into(),
            )),
        }
    }

    /// Where a scope starting now ends.
    pub(crate) fn enter(&self) -> usize {
        self.roots.len()
    }

    /// Ends the scope that started at `mark`, releasing the roots pushed since.
    pub(crate) fn exit(&mut self, mark: usize) {
        if self.roots.len() > mark {
            self.roots.truncate(mark);
            self.generation += 1;
        }
    }

    /// The rooted objects' words.
    pub(crate) fn words(&self) -> impl Iterator<Item = u64> + '_ {
        self.roots.iter().map(|&(word, _)| word)
    }
}

/// A scope for the host's GC handles: the handles made through it are released when it is
/// dropped, so that a host loop handling many references does not keep them all alive.
///
/// It gives access to the store as the context it wraps (`&mut Store`, a `Caller`, ...).
/// Using a released handle afterwards is an error, never a read of a collected object.
pub struct RootScope<C: AsContextMut> {
    store: C,
    mark: usize,
}

impl<C: AsContextMut> RootScope<C> {
    /// Opens a scope on `store`.
    pub fn new(mut store: C) -> Self {
        let mark = opaque_mut(&mut store).host_roots.enter();
        RootScope { store, mark }
    }
}

impl<C: AsContextMut> Drop for RootScope<C> {
    fn drop(&mut self) {
        opaque_mut(&mut self.store).host_roots.exit(self.mark);
    }
}

impl<C: AsContextMut> AsContext for RootScope<C> {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        self.store.as_context()
    }
}

impl<C: AsContextMut> AsContextMut for RootScope<C> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        self.store.as_context_mut()
    }
}
