//! [`JitCompiler`]: one IR block to one Cranelift function.

use std::collections::{BTreeSet, HashMap};
use std::mem::offset_of;

use cranelift_codegen::ir::{
    self, AbiParam, InstBuilder, MemFlagsData, Signature, UserFuncName, condcodes::IntCC,
    types::I32, types::I64,
};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Module, default_libcall_names};
use vm_core::ir::{Block, MemOp, Op, Place, Reg, Terminator, Value};

use super::context::{ExitCode, JitContext, encode_trap_cause};
use super::error::{JitError, JitResult};
use super::lower;

/// What the code cache needs to know about a compiled function besides its address.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CompiledInfo {
    /// The function in its module.
    pub func: FuncId,
    /// Register slots the code reads or writes: the slot array must be at least this long.
    pub min_slots: usize,
}

/// Translates IR blocks into host code with Cranelift.
///
/// Holds the host ISA and Cranelift's reusable contexts; the functions go into a [`JITModule`] the caller
/// owns (see [`JitCompiler::new_module`]), so code lives exactly as long as its module.
pub struct JitCompiler {
    isa: OwnedTargetIsa,
    ctx: cranelift_codegen::Context,
    fctx: FunctionBuilderContext,
}

impl core::fmt::Debug for JitCompiler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JitCompiler")
            .field("isa", &self.isa.name())
            .finish_non_exhaustive()
    }
}

impl JitCompiler {
    /// A compiler for the host machine, or [`JitError::HostUnsupported`].
    pub fn new() -> JitResult<Self> {
        let mut flags = settings::builder();
        for (name, value) in [
            ("opt_level", "speed"),
            // Required by cranelift-jit: code and callees may be far apart.
            ("use_colocated_libcalls", "false"),
            ("is_pic", "false"),
        ] {
            flags
                .set(name, value)
                .map_err(|e| JitError::Codegen(e.to_string()))?;
        }
        let isa = cranelift_native::builder()
            .map_err(|m| JitError::HostUnsupported(m.to_string()))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| JitError::Codegen(e.to_string()))?;
        Ok(Self {
            isa,
            ctx: cranelift_codegen::Context::new(),
            fctx: FunctionBuilderContext::new(),
        })
    }

    /// A fresh, empty module for this host to compile blocks into.
    pub fn new_module(&self) -> JITModule {
        JITModule::new(JITBuilder::with_isa(
            self.isa.clone(),
            default_libcall_names(),
        ))
    }

    /// Whether the JIT translates every op of `block`; `Err(Unsupported)` names the first one it does
    /// not. Supported: markers, integer ops, `Load`/`Store`, `TrapIf`, every terminator.
    pub fn check_supported(block: &Block) -> JitResult<()> {
        for (index, op) in block.ops.iter().enumerate() {
            let what = match op {
                Op::Insn { .. }
                | Op::Mov { .. }
                | Op::Bin { .. }
                | Op::Un { .. }
                | Op::Cmp { .. }
                | Op::Select { .. }
                | Op::Ext { .. }
                | Op::Load { .. }
                | Op::Store { .. }
                | Op::TrapIf { .. } => continue,
                Op::LoadReserved { .. }
                | Op::StoreConditional { .. }
                | Op::AtomicRmw { .. }
                | Op::CmpXchg { .. } => "atomic",
                Op::Fence(_) => "fence",
                Op::Helper { .. } => "helper call",
                _ => "floating point",
            };
            return Err(JitError::Unsupported {
                pc: block.pc,
                index,
                what,
            });
        }
        Ok(())
    }

    /// Compile `block` into `module` and finalise it. The function has the signature
    /// `extern "C" fn(slots: *mut u64, ctx: *mut JitContext) -> u64` (see [`ExitCode`]).
    pub fn compile(&mut self, module: &mut JITModule, block: &Block) -> JitResult<CompiledInfo> {
        block.validate().map_err(|source| JitError::InvalidBlock {
            pc: block.pc,
            source,
        })?;
        Self::check_supported(block)?;
        let ptr = module.target_config().pointer_type();
        let call_conv = module.target_config().default_call_conv;
        let mut sig = Signature::new(call_conv);
        sig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr)]);
        sig.returns.push(AbiParam::new(I64));
        let codegen = |e: &dyn core::fmt::Display| JitError::Codegen(e.to_string());
        let func = module
            .declare_anonymous_function(&sig)
            .map_err(|e| codegen(&e))?;

        self.ctx.clear();
        self.ctx.func.signature = sig;
        self.ctx.func.name = UserFuncName::user(0, func.as_u32());
        let frontend = module.target_config();
        let min_slots = {
            let mut b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            let mut t = Translator::new(&mut b, block, ptr, call_conv);
            t.run(block)?;
            let min_slots = t.min_slots;
            b.finalize(frontend);
            min_slots
        };
        let defined = module.define_function(func, &mut self.ctx);
        self.ctx.clear();
        defined.map_err(|e| codegen(&format_args!("{e:?}")))?;
        module.finalize_definitions().map_err(|e| codegen(&e))?;
        Ok(CompiledInfo { func, min_slots })
    }
}

/// Translation state of one block.
struct Translator<'a, 'f> {
    b: &'a mut FunctionBuilder<'f>,
    slots: ir::Value,
    ctx: ir::Value,
    /// Guest registers loaded or written so far, each a Cranelift variable.
    regs: HashMap<u16, Variable>,
    /// Registers written so far: what every exit stores back.
    dirty: BTreeSet<u16>,
    temps: Vec<Variable>,
    /// Markers seen so far (the current instruction included).
    markers: u64,
    /// PC of the current instruction.
    insn_pc: u64,
    load_sig: ir::SigRef,
    store_sig: ir::SigRef,
    ptr: ir::Type,
    min_slots: usize,
}

const CTX_FLAGS: MemFlagsData = MemFlagsData::trusted();

fn ctx_off(off: usize) -> i32 {
    // The context is a handful of words: offsets are tiny.
    off as i32
}

impl<'a, 'f> Translator<'a, 'f> {
    fn new(
        b: &'a mut FunctionBuilder<'f>,
        block: &Block,
        ptr: ir::Type,
        call_conv: cranelift_codegen::isa::CallConv,
    ) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry);
        let (slots, ctx) = (params[0], params[1]);
        let mut load = Signature::new(call_conv);
        load.params.extend([
            AbiParam::new(ptr),
            AbiParam::new(I64),
            AbiParam::new(I32),
            AbiParam::new(I32),
        ]);
        load.returns.push(AbiParam::new(I64));
        let mut store = Signature::new(call_conv);
        store.params.extend([
            AbiParam::new(ptr),
            AbiParam::new(I64),
            AbiParam::new(I64),
            AbiParam::new(I32),
            AbiParam::new(I32),
        ]);
        let load_sig = b.import_signature(load);
        let store_sig = b.import_signature(store);
        let temps = (0..block.num_temps).map(|_| b.declare_var(I64)).collect();
        Self {
            b,
            slots,
            ctx,
            regs: HashMap::new(),
            dirty: BTreeSet::new(),
            temps,
            markers: 0,
            insn_pc: block.pc,
            load_sig,
            store_sig,
            ptr,
            min_slots: 0,
        }
    }

    fn reg_var(&mut self, r: Reg, load: bool) -> Variable {
        if let Some(v) = self.regs.get(&r.0) {
            return *v;
        }
        self.min_slots = self.min_slots.max(usize::from(r.0) + 1);
        let var = self.b.declare_var(I64);
        if load {
            // First use in straight-line code: this load dominates every later use of the variable.
            let v = self
                .b
                .ins()
                .load(I64, CTX_FLAGS, self.slots, i32::from(r.0) * 8);
            self.b.def_var(var, v);
        }
        self.regs.insert(r.0, var);
        var
    }

    fn value(&mut self, v: Value) -> ir::Value {
        match v {
            Value::Imm(i) => self.b.ins().iconst(I64, i as i64),
            Value::Reg(r) => {
                let var = self.reg_var(r, true);
                self.b.use_var(var)
            }
            // `validate` guarantees the temporary is in range and written before.
            Value::Temp(t) => self.b.use_var(self.temps[usize::from(t.0)]),
        }
    }

    fn set(&mut self, p: Place, v: ir::Value) {
        match p {
            Place::Reg(r) => {
                let var = self.reg_var(r, false);
                self.b.def_var(var, v);
                self.dirty.insert(r.0);
            }
            Place::Temp(t) => self.b.def_var(self.temps[usize::from(t.0)], v),
        }
    }

    /// Store back the dirty registers, record the next PC and the completed instructions, return `code`.
    fn exit(&mut self, code: ExitCode, next_pc: ir::Value, insns: u64) {
        let dirty: Vec<u16> = self.dirty.iter().copied().collect();
        for r in dirty {
            let var = self.regs[&r];
            let v = self.b.use_var(var);
            self.b
                .ins()
                .store(CTX_FLAGS, v, self.slots, i32::from(r) * 8);
        }
        let ctx = self.ctx;
        self.b.ins().store(
            CTX_FLAGS,
            next_pc,
            ctx,
            ctx_off(offset_of!(JitContext, next_pc)),
        );
        if insns != 0 {
            let off = ctx_off(offset_of!(JitContext, insn_count));
            let n = self.b.ins().load(I64, CTX_FLAGS, ctx, off);
            let n = self.b.ins().iadd_imm_s(n, insns as i64);
            self.b.ins().store(CTX_FLAGS, n, ctx, off);
        }
        let c = self.b.ins().iconst(I64, code as i64);
        self.b.ins().return_(&[c]);
    }

    /// Leave through a side exit (a trap or a fault) when `cond` is non-zero; `before` emits what the
    /// exit block needs first.
    fn side_exit(&mut self, cond: ir::Value, code: ExitCode, before: impl FnOnce(&mut Self)) {
        let out = self.b.create_block();
        let cont = self.b.create_block();
        self.b.ins().brif(cond, out, &[], cont, &[]);
        self.b.seal_block(out);
        self.b.seal_block(cont);
        self.b.switch_to_block(out);
        before(self);
        let pc = self.b.ins().iconst(I64, self.insn_pc as i64);
        // The current instruction did not complete.
        self.exit(code, pc, self.markers.saturating_sub(1));
        self.b.switch_to_block(cont);
    }

    fn check_fault(&mut self) {
        let off = ctx_off(offset_of!(JitContext, fault));
        let f = self.b.ins().load(I64, CTX_FLAGS, self.ctx, off);
        self.side_exit(f, ExitCode::MemFault, |_| {});
    }

    fn address(&mut self, addr: Value, offset: i32) -> ir::Value {
        let a = self.value(addr);
        self.b.ins().iadd_imm_s(a, i64::from(offset))
    }

    fn mem_args(&mut self, mem: MemOp) -> (ir::Value, ir::Value) {
        let size = self.b.ins().iconst(I32, mem.size.bytes() as i64);
        let aligned = self.b.ins().iconst(I32, i64::from(mem.aligned));
        (size, aligned)
    }

    fn callback(&mut self, off: usize, sig: ir::SigRef, args: &[ir::Value]) -> Option<ir::Value> {
        let f = self
            .b
            .ins()
            .load(self.ptr, CTX_FLAGS, self.ctx, ctx_off(off));
        let call = self.b.ins().call_indirect(sig, f, args);
        self.b.inst_results(call).first().copied()
    }

    fn op(&mut self, op: &Op) {
        match *op {
            Op::Insn { pc, .. } => {
                self.markers += 1;
                self.insn_pc = pc;
            }
            Op::Mov { dst, src } => {
                let v = self.value(src);
                self.set(dst, v);
            }
            Op::Bin { op, ty, dst, a, b } => {
                let (a, b) = (self.value(a), self.value(b));
                let r = lower::bin(self.b, op, ty, a, b);
                self.set(dst, r);
            }
            Op::Un { op, ty, dst, a } => {
                let a = self.value(a);
                let r = lower::un(self.b, op, ty, a);
                self.set(dst, r);
            }
            Op::Cmp {
                cond,
                ty,
                dst,
                a,
                b,
            } => {
                let (a, b) = (self.value(a), self.value(b));
                let r = lower::cmp(self.b, cond, ty, a, b);
                self.set(dst, r);
            }
            Op::Select { dst, cond, a, b } => {
                let (c, a, b) = (self.value(cond), self.value(a), self.value(b));
                let r = self.b.ins().select(c, a, b);
                self.set(dst, r);
            }
            Op::Ext {
                dst,
                src,
                from,
                signed,
            } => {
                let v = self.value(src);
                let r = lower::ext(self.b, v, from, signed);
                self.set(dst, r);
            }
            // Hook: an inline soft-TLB probe (host pointer + offset for RAM hits) goes before the call
            // in `Load` and `Store`; today every access takes the slow path through the context.
            Op::Load {
                dst,
                addr,
                offset,
                mem,
            } => {
                let va = self.address(addr, offset);
                let (size, aligned) = self.mem_args(mem);
                let ctx = self.ctx;
                let sig = self.load_sig;
                let raw = self
                    .callback(offset_of!(JitContext, load), sig, &[ctx, va, size, aligned])
                    .unwrap_or_else(|| self.b.ins().iconst(I64, 0));
                self.check_fault();
                let ty = vm_core::ir::Ty::of_size(mem.size);
                let v = lower::ext(self.b, raw, ty, mem.signed);
                self.set(dst, v);
            }
            Op::Store {
                src,
                addr,
                offset,
                mem,
            } => {
                let va = self.address(addr, offset);
                let v = self.value(src);
                let (size, aligned) = self.mem_args(mem);
                let ctx = self.ctx;
                let sig = self.store_sig;
                self.callback(
                    offset_of!(JitContext, store),
                    sig,
                    &[ctx, va, v, size, aligned],
                );
                self.check_fault();
            }
            Op::TrapIf { cond, cause, tval } => {
                let c = self.value(cond);
                let c = self.b.ins().icmp_imm_s(IntCC::NotEqual, c, 0);
                self.side_exit(c, ExitCode::Trap, |t| t.trap_info(cause, tval));
            }
            // `check_supported` rejected everything else before translation started.
            _ => {}
        }
    }

    fn trap_info(&mut self, cause: vm_core::ir::TrapCause, tval: u64) {
        let ctx = self.ctx;
        let c = self.b.ins().iconst(I64, encode_trap_cause(cause) as i64);
        let t = self.b.ins().iconst(I64, tval as i64);
        self.b.ins().store(
            CTX_FLAGS,
            c,
            ctx,
            ctx_off(offset_of!(JitContext, trap_cause)),
        );
        self.b.ins().store(
            CTX_FLAGS,
            t,
            ctx,
            ctx_off(offset_of!(JitContext, trap_tval)),
        );
    }

    fn run(&mut self, block: &Block) -> JitResult<()> {
        for op in &block.ops {
            self.op(op);
        }
        let all = self.markers;
        match block.term {
            Terminator::Jump { target } => {
                let pc = self.b.ins().iconst(I64, target as i64);
                self.exit(ExitCode::Next, pc, all);
            }
            Terminator::Branch {
                cond,
                taken,
                not_taken,
            } => {
                let c = self.value(cond);
                let t = self.b.ins().iconst(I64, taken as i64);
                let n = self.b.ins().iconst(I64, not_taken as i64);
                let pc = self.b.ins().select(c, t, n);
                self.exit(ExitCode::Next, pc, all);
            }
            Terminator::JumpIndirect { target } => {
                let pc = self.value(target);
                self.exit(ExitCode::Next, pc, all);
            }
            Terminator::Sync { next } => {
                let pc = self.b.ins().iconst(I64, next as i64);
                self.exit(ExitCode::Sync, pc, all);
            }
            Terminator::Wait { next } => {
                let pc = self.b.ins().iconst(I64, next as i64);
                self.exit(ExitCode::Wait, pc, all);
            }
            Terminator::Trap { cause, tval } => {
                self.trap_info(cause, tval);
                let pc = self.b.ins().iconst(I64, self.insn_pc as i64);
                // The trapping (last) instruction does not complete.
                self.exit(ExitCode::Trap, pc, all.saturating_sub(1));
            }
        }
        Ok(())
    }
}
