//! wasm's operand stack as Cranelift values, remembering how far down each operator reached
//! so that the values it pushed can be told from those it left (see [`super::stack_maps`]).

use std::ops::Deref;

use cranelift_codegen::ir::Value;

/// The operand stack: [`Deref`]s to its values, bottom first.
#[derive(Default)]
pub(crate) struct OperandStack {
    values: Vec<Value>,
    /// The lowest height since [`OperandStack::take_new`] last ran: values above it are new.
    low: usize,
}

impl OperandStack {
    /// Pushes `value`.
    pub fn push(&mut self, value: Value) {
        self.values.push(value);
    }

    /// Pops the top value, if any.
    pub fn pop(&mut self) -> Option<Value> {
        let value = self.values.pop();
        self.low = self.low.min(self.values.len());
        value
    }

    /// Removes the values above `height`.
    pub fn truncate(&mut self, height: usize) {
        self.values.truncate(height);
        self.low = self.low.min(self.values.len());
    }

    /// Removes and returns the values from `height` up.
    pub fn split_off(&mut self, height: usize) -> Vec<Value> {
        let top = self.values.split_off(height);
        self.low = self.low.min(self.values.len());
        top
    }

    /// Pushes `values` in order.
    pub fn extend(&mut self, values: impl IntoIterator<Item = Value>) {
        self.values.extend(values);
    }

    /// Pushes `values` in order.
    pub fn extend_from_slice(&mut self, values: &[Value]) {
        self.values.extend_from_slice(values);
    }

    /// The positions of the values pushed since the last call, which starts the count anew.
    pub fn take_new(&mut self) -> std::ops::Range<usize> {
        let new = self.low..self.values.len();
        self.low = self.values.len();
        new
    }
}

impl Deref for OperandStack {
    type Target = [Value];

    fn deref(&self) -> &[Value] {
        &self.values
    }
}
