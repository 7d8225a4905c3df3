//! Inlining of small module-internal callees into their callers, with Cranelift's inliner
//! ([`cranelift_codegen::inline`]).
//!
//! A direct call to a function the module defines (not an import) is replaced by the
//! callee's body where inlining pays at run time: the call is made inside a wasm `loop`, or
//! the function calls itself (recursion is unrolled once, as `fib` needs). Calls elsewhere
//! stay calls: inlining them made no kernel faster and cost compile time (Lua's compile
//! executed 9% more instructions with every small callee inlined). The callee must be small
//! ([`MAX_CALLEE_SIZE`] IR values) and the caller's budget (a quarter of its own size,
//! within [`MIN_CALLER_BUDGET`] and [`MAX_CALLER_BUDGET`] values) must allow it. Inlining
//! goes one level deep: calls inside an inlined body stay calls, so recursion is bounded and
//! so is code growth. Callees are translated on demand by the thread compiling the caller
//! and cached for its later callers.
//!
//! The callee's code is the translation of its own body with the caller's vmctx, which is
//! the callee's too (same instance): semantics, traps, fuel and epoch checks are unchanged.
//! Only the callee's own prologue goes (its stack-limit check: the caller's covers its frame,
//! which now holds the callee's).

use std::borrow::Cow;
use std::collections::HashMap;

use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, ExternalName};

use crate::compile::translate_defined;
use crate::translate::{FuncEnv, TranslateContext, Translation};

/// The largest callee inlined, in IR values (arguments, results and constants included).
pub const MAX_CALLEE_SIZE: usize = 40;

/// How many IR values of callees a function may take in at least...
pub const MIN_CALLER_BUDGET: usize = 80;

/// ... and at most: a quarter of its own size in between. Compile time grows faster than a
/// function's size.
pub const MAX_CALLER_BUDGET: usize = 200;

/// Decides, for each direct call of the function being compiled, whether to inline it, and
/// provides the callee's translated body.
pub(crate) struct Inliner<'a> {
    env: &'a FuncEnv<'a>,
    bytes: &'a [u8],
    /// Translated callees and their sizes (see [`Translation::size`]) by defined-function
    /// index; `None`: too large, or its translation failed (its own compilation reports the
    /// error).
    callees: HashMap<u32, Option<(ir::Function, usize)>>,
    translate_ctx: TranslateContext,
    /// IR values the current caller may still take in.
    budget: usize,
    /// The current caller's defined-function index.
    caller: u32,
    /// The current caller's direct calls made inside a `loop`, in instruction order.
    calls_in_loops: Vec<ir::Inst>,
}

impl<'a> Inliner<'a> {
    /// An inliner for the functions of the module in `bytes`.
    pub fn new(env: &'a FuncEnv<'a>, bytes: &'a [u8]) -> Self {
        Inliner {
            env,
            bytes,
            callees: HashMap::new(),
            translate_ctx: TranslateContext::default(),
            budget: 0,
            caller: u32::MAX,
            calls_in_loops: Vec::new(),
        }
    }

    /// Gives the next caller, `caller`, translated as `translation`, a fresh budget.
    pub fn start_caller(&mut self, caller: &ir::Function, translation: Translation) {
        self.budget = (translation.size / 4).clamp(MIN_CALLER_BUDGET, MAX_CALLER_BUDGET);
        self.caller = match caller.name {
            ir::UserFuncName::User(ref name) => {
                name.index.wrapping_sub(self.env.module.num_imported_funcs)
            }
            ir::UserFuncName::Testcase(_) => u32::MAX,
        };
        self.calls_in_loops = translation.calls_in_loops;
    }

    /// The translated body of defined function `defined` and its size, if it is small enough
    /// to inline.
    fn callee(&mut self, defined: u32) -> Option<&(ir::Function, usize)> {
        let (env, bytes, translate_ctx) = (self.env, self.bytes, &mut self.translate_ctx);
        self.callees
            .entry(defined)
            .or_insert_with(|| {
                let size = env.module.bodies[defined as usize].len();
                // A wasm body yields at least a value per few bytes: skip translating
                // bodies that cannot be small.
                if size > MAX_CALLEE_SIZE * 4 {
                    return None;
                }
                let mut callee = ir::Function::new();
                translate_defined(env, bytes, defined as usize, &mut callee, translate_ctx)
                    .ok()
                    .filter(|translation| translation.size <= MAX_CALLEE_SIZE)
                    .map(|translation| (callee, translation.size))
            })
            .as_ref()
    }
}

impl Inline for Inliner<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        call_inst: ir::Inst,
        _call_opcode: ir::Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        let ExternalName::User(name) = caller.dfg.ext_funcs[callee].name else {
            return InlineCommand::KeepCall;
        };
        let index = caller.params.user_named_funcs()[name].index;
        let Some(defined) = index.checked_sub(self.env.module.num_imported_funcs) else {
            return InlineCommand::KeepCall;
        };
        let pays = defined == self.caller || self.calls_in_loops.binary_search(&call_inst).is_ok();
        if !pays {
            return InlineCommand::KeepCall;
        }
        let Some(&(_, size)) = self.callee(defined) else {
            return InlineCommand::KeepCall;
        };
        if size > self.budget {
            return InlineCommand::KeepCall;
        }
        self.budget -= size;
        match &self.callees[&defined] {
            Some((body, _)) => InlineCommand::Inline {
                callee: Cow::Borrowed(body),
                visit_callee: false,
            },
            None => InlineCommand::KeepCall,
        }
    }
}
