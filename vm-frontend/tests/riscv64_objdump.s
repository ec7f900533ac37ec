# Every instruction class of the RISC-V frontend, for riscv64_objdump.rs.
# Assembled with -march=rv64gc_zicsr_zifencei_zba_zbb_zbs_zihintpause.
	.text
	.option norvc
start:
	lui a0, 0x12345
	lui t6, 0xfffff
	lui zero, 1
	auipc a1, 0
	auipc s11, 0x80000
	jal zero, start
	jal ra, start
	jal a0, forward
	jalr zero, 0(ra)
	jalr zero, 0(a0)
	jalr ra, 0(a0)
	jalr ra, -8(a0)
	jalr a1, 0(a0)
	jalr a1, 2047(a0)
	jalr zero, -2048(t0)
	beq a0, a1, start
	beq a0, zero, start
	beq zero, zero, forward
	bne a0, a1, forward
	bne a0, zero, forward
	blt a0, a1, start
	blt a0, zero, start
	blt zero, a1, start
	bge a0, a1, start
	bge a0, zero, start
	bge zero, a1, start
	bltu a0, a1, start
	bltu zero, a1, start
	bgeu a0, a1, forward
	bgeu a0, zero, forward
	lb a0, 0(a1)
	lh a0, -1(a1)
	lw a0, 2047(sp)
	ld a0, -2048(sp)
	lbu t0, 4(t1)
	lhu t0, 4(t1)
	lwu t0, 4(t1)
	sb a0, 0(a1)
	sh a0, -2(a1)
	sw a0, 2047(sp)
	sd ra, -2048(sp)
	addi a0, a1, 1
	addi a0, a1, -2048
	addi a0, zero, 2047
	addi a0, a1, 0
	addi zero, zero, 0
	addi zero, zero, 1
	slti a0, a1, -5
	sltiu a0, a1, 1
	sltiu a0, a1, 7
	xori a0, a1, -1
	xori a0, a1, 0x7ff
	ori a0, a1, 0x555
	andi a0, a1, 255
	andi a0, a1, -16
	slli a0, a1, 0
	slli a0, a1, 63
	srli a0, a1, 32
	srai a0, a1, 1
	addiw a0, a1, 0
	addiw a0, a1, -1
	slliw a0, a1, 31
	srliw a0, a1, 0
	sraiw a0, a1, 17
	add a0, a1, a2
	add a0, zero, a2
	sub a0, a1, a2
	sub a0, zero, a2
	sll a0, a1, a2
	slt a0, a1, a2
	slt a0, a1, zero
	slt a0, zero, a2
	sltu a0, a1, a2
	sltu a0, zero, a2
	xor a0, a1, a2
	srl a0, a1, a2
	sra a0, a1, a2
	or a0, a1, a2
	and a0, a1, a2
	addw a0, a1, a2
	subw a0, a1, a2
	subw a0, zero, a2
	sllw a0, a1, a2
	srlw a0, a1, a2
	sraw a0, a1, a2
	fence
	fence iorw, iorw
	fence rw, rw
	fence r, w
	fence i, o
	fence io, rw
	fence.tso
	pause
	fence.i
	ecall
	ebreak
	unimp
	mret
	sret
	wfi
	sfence.vma
	sfence.vma a0
	sfence.vma a0, a1
	sfence.vma zero, a1
	csrrw a0, mstatus, a1
	csrrw zero, mstatus, a1
	csrrs a0, mstatus, a1
	csrrs a0, mstatus, zero
	csrrs zero, mstatus, a1
	csrrc a0, mie, a1
	csrrc zero, mie, a1
	csrrwi a0, mstatus, 5
	csrrwi zero, mstatus, 5
	csrrsi a0, sstatus, 31
	csrrsi zero, sstatus, 1
	csrrci a0, sie, 0
	csrrci zero, sie, 2
	csrrs a0, cycle, zero
	csrrs a0, time, zero
	csrrs a0, instret, zero
	csrrs a0, fcsr, zero
	csrrw zero, fcsr, a0
	csrrw a1, fcsr, a0
	csrrs a0, frm, zero
	csrrw zero, frm, a0
	csrrw a1, frm, a0
	csrrwi zero, frm, 1
	csrrwi a1, frm, 4
	csrrs a0, fflags, zero
	csrrw zero, fflags, a0
	csrrw a1, fflags, a0
	csrrwi zero, fflags, 1
	csrrwi a1, fflags, 31
	csrrs a0, satp, zero
	csrrw zero, satp, a0
	csrrs a0, mhartid, zero
	csrrs a0, pmpaddr12, zero
	csrrs a0, mhpmcounter3h, zero
	csrrw a0, 0x7c0, a1
	csrrs a0, 0xfff, zero
	mul a0, a1, a2
	mulh a0, a1, a2
	mulhsu a0, a1, a2
	mulhu a0, a1, a2
	div a0, a1, a2
	divu a0, a1, a2
	rem a0, a1, a2
	remu a0, a1, a2
	mulw a0, a1, a2
	divw a0, a1, a2
	divuw a0, a1, a2
	remw a0, a1, a2
	remuw a0, a1, a2
	add.uw a0, a1, a2
	add.uw a0, a1, zero
	sh1add a0, a1, a2
	sh2add a0, a1, a2
	sh3add a0, a1, a2
	sh1add.uw a0, a1, a2
	sh2add.uw a0, a1, a2
	sh3add.uw a0, a1, a2
	slli.uw a0, a1, 0
	slli.uw a0, a1, 63
	andn a0, a1, a2
	orn a0, a1, a2
	xnor a0, a1, a2
	clz a0, a1
	clzw a0, a1
	ctz a0, a1
	ctzw a0, a1
	cpop a0, a1
	cpopw a0, a1
	max a0, a1, a2
	maxu a0, a1, a2
	min a0, a1, a2
	minu a0, a1, a2
	sext.b a0, a1
	sext.h a0, a1
	zext.h a0, a1
	rol a0, a1, a2
	rolw a0, a1, a2
	ror a0, a1, a2
	rori a0, a1, 63
	roriw a0, a1, 31
	rorw a0, a1, a2
	orc.b a0, a1
	rev8 a0, a1
	bclr a0, a1, a2
	bclri a0, a1, 63
	bext a0, a1, a2
	bexti a0, a1, 0
	binv a0, a1, a2
	binvi a0, a1, 7
	bset a0, a1, a2
	bseti a0, a1, 32
	flw fa0, 8(a1)
	flw ft0, -2048(sp)
	fld fs11, 2047(t6)
	fsw fa0, -4(sp)
	fsd fs0, 0(a0)
	lr.w a0, (a1)
	sc.w a0, a2, (a1)
	amoswap.w a0, a2, (a1)
	amoadd.w a0, a2, (a1)
	amoxor.w a0, a2, (a1)
	amoand.w a0, a2, (a1)
	amoor.w a0, a2, (a1)
	amomin.w a0, a2, (a1)
	amomax.w a0, a2, (a1)
	amominu.w a0, a2, (a1)
	amomaxu.w a0, a2, (a1)
	lr.w.aq a0, (a1)
	sc.w.aq a0, a2, (a1)
	amoswap.w.aq a0, a2, (a1)
	amoadd.w.aq a0, a2, (a1)
	amoxor.w.aq a0, a2, (a1)
	amoand.w.aq a0, a2, (a1)
	amoor.w.aq a0, a2, (a1)
	amomin.w.aq a0, a2, (a1)
	amomax.w.aq a0, a2, (a1)
	amominu.w.aq a0, a2, (a1)
	amomaxu.w.aq a0, a2, (a1)
	lr.w.rl a0, (a1)
	sc.w.rl a0, a2, (a1)
	amoswap.w.rl a0, a2, (a1)
	amoadd.w.rl a0, a2, (a1)
	amoxor.w.rl a0, a2, (a1)
	amoand.w.rl a0, a2, (a1)
	amoor.w.rl a0, a2, (a1)
	amomin.w.rl a0, a2, (a1)
	amomax.w.rl a0, a2, (a1)
	amominu.w.rl a0, a2, (a1)
	amomaxu.w.rl a0, a2, (a1)
	lr.w.aqrl a0, (a1)
	sc.w.aqrl a0, a2, (a1)
	amoswap.w.aqrl a0, a2, (a1)
	amoadd.w.aqrl a0, a2, (a1)
	amoxor.w.aqrl a0, a2, (a1)
	amoand.w.aqrl a0, a2, (a1)
	amoor.w.aqrl a0, a2, (a1)
	amomin.w.aqrl a0, a2, (a1)
	amomax.w.aqrl a0, a2, (a1)
	amominu.w.aqrl a0, a2, (a1)
	amomaxu.w.aqrl a0, a2, (a1)
	lr.d a0, (a1)
	sc.d a0, a2, (a1)
	amoswap.d a0, a2, (a1)
	amoadd.d a0, a2, (a1)
	amoxor.d a0, a2, (a1)
	amoand.d a0, a2, (a1)
	amoor.d a0, a2, (a1)
	amomin.d a0, a2, (a1)
	amomax.d a0, a2, (a1)
	amominu.d a0, a2, (a1)
	amomaxu.d a0, a2, (a1)
	lr.d.aq a0, (a1)
	sc.d.aq a0, a2, (a1)
	amoswap.d.aq a0, a2, (a1)
	amoadd.d.aq a0, a2, (a1)
	amoxor.d.aq a0, a2, (a1)
	amoand.d.aq a0, a2, (a1)
	amoor.d.aq a0, a2, (a1)
	amomin.d.aq a0, a2, (a1)
	amomax.d.aq a0, a2, (a1)
	amominu.d.aq a0, a2, (a1)
	amomaxu.d.aq a0, a2, (a1)
	lr.d.rl a0, (a1)
	sc.d.rl a0, a2, (a1)
	amoswap.d.rl a0, a2, (a1)
	amoadd.d.rl a0, a2, (a1)
	amoxor.d.rl a0, a2, (a1)
	amoand.d.rl a0, a2, (a1)
	amoor.d.rl a0, a2, (a1)
	amomin.d.rl a0, a2, (a1)
	amomax.d.rl a0, a2, (a1)
	amominu.d.rl a0, a2, (a1)
	amomaxu.d.rl a0, a2, (a1)
	lr.d.aqrl a0, (a1)
	sc.d.aqrl a0, a2, (a1)
	amoswap.d.aqrl a0, a2, (a1)
	amoadd.d.aqrl a0, a2, (a1)
	amoxor.d.aqrl a0, a2, (a1)
	amoand.d.aqrl a0, a2, (a1)
	amoor.d.aqrl a0, a2, (a1)
	amomin.d.aqrl a0, a2, (a1)
	amomax.d.aqrl a0, a2, (a1)
	amominu.d.aqrl a0, a2, (a1)
	amomaxu.d.aqrl a0, a2, (a1)
	fadd.s fa0, fa1, fa2
	fadd.s fa0, fa1, fa2, rne
	fadd.s fa0, fa1, fa2, rtz
	fadd.s fa0, fa1, fa2, rdn
	fadd.s fa0, fa1, fa2, rup
	fadd.s fa0, fa1, fa2, rmm
	fadd.s fa0, fa1, fa2, dyn
	fsub.s fa0, fa1, fa2
	fsub.s fa0, fa1, fa2, rne
	fsub.s fa0, fa1, fa2, rtz
	fsub.s fa0, fa1, fa2, rdn
	fsub.s fa0, fa1, fa2, rup
	fsub.s fa0, fa1, fa2, rmm
	fsub.s fa0, fa1, fa2, dyn
	fmul.s fa0, fa1, fa2
	fmul.s fa0, fa1, fa2, rne
	fmul.s fa0, fa1, fa2, rtz
	fmul.s fa0, fa1, fa2, rdn
	fmul.s fa0, fa1, fa2, rup
	fmul.s fa0, fa1, fa2, rmm
	fmul.s fa0, fa1, fa2, dyn
	fdiv.s fa0, fa1, fa2
	fdiv.s fa0, fa1, fa2, rne
	fdiv.s fa0, fa1, fa2, rtz
	fdiv.s fa0, fa1, fa2, rdn
	fdiv.s fa0, fa1, fa2, rup
	fdiv.s fa0, fa1, fa2, rmm
	fdiv.s fa0, fa1, fa2, dyn
	fsqrt.s ft0, ft11
	fsqrt.s ft0, ft11, rne
	fsqrt.s ft0, ft11, rtz
	fsqrt.s ft0, ft11, rdn
	fsqrt.s ft0, ft11, rup
	fsqrt.s ft0, ft11, rmm
	fsqrt.s ft0, ft11, dyn
	fmadd.s fa0, fa1, fa2, fa3
	fmadd.s fa0, fa1, fa2, fa3, rtz
	fmadd.s fa0, fa1, fa2, fa3, rmm
	fmsub.s fa0, fa1, fa2, fa3
	fmsub.s fa0, fa1, fa2, fa3, rtz
	fmsub.s fa0, fa1, fa2, fa3, rmm
	fnmsub.s fa0, fa1, fa2, fa3
	fnmsub.s fa0, fa1, fa2, fa3, rtz
	fnmsub.s fa0, fa1, fa2, fa3, rmm
	fnmadd.s fa0, fa1, fa2, fa3
	fnmadd.s fa0, fa1, fa2, fa3, rtz
	fnmadd.s fa0, fa1, fa2, fa3, rmm
	fsgnj.s fa0, fa1, fa2
	fsgnj.s fa0, fa1, fa1
	fsgnjn.s fa0, fa1, fa2
	fsgnjn.s fa0, fa1, fa1
	fsgnjx.s fa0, fa1, fa2
	fsgnjx.s fa0, fa1, fa1
	fmin.s fa0, fa1, fa2
	fmax.s fa0, fa1, fa2
	feq.s a0, fa1, fa2
	flt.s a0, fa1, fa2
	fle.s a0, fa1, fa2
	fclass.s a0, fa1
	fcvt.w.s a0, fa1
	fcvt.s.w fa0, a1
	fcvt.w.s a0, fa1, rtz
	fcvt.s.w fa0, a1, rtz
	fcvt.w.s a0, fa1, rne
	fcvt.s.w fa0, a1, rne
	fcvt.wu.s a0, fa1
	fcvt.s.wu fa0, a1
	fcvt.wu.s a0, fa1, rtz
	fcvt.s.wu fa0, a1, rtz
	fcvt.wu.s a0, fa1, rne
	fcvt.s.wu fa0, a1, rne
	fcvt.l.s a0, fa1
	fcvt.s.l fa0, a1
	fcvt.l.s a0, fa1, rtz
	fcvt.s.l fa0, a1, rtz
	fcvt.l.s a0, fa1, rne
	fcvt.s.l fa0, a1, rne
	fcvt.lu.s a0, fa1
	fcvt.s.lu fa0, a1
	fcvt.lu.s a0, fa1, rtz
	fcvt.s.lu fa0, a1, rtz
	fcvt.lu.s a0, fa1, rne
	fcvt.s.lu fa0, a1, rne
	fmv.x.w a0, fa1
	fmv.w.x fa0, a1
	fadd.d fa0, fa1, fa2
	fadd.d fa0, fa1, fa2, rne
	fadd.d fa0, fa1, fa2, rtz
	fadd.d fa0, fa1, fa2, rdn
	fadd.d fa0, fa1, fa2, rup
	fadd.d fa0, fa1, fa2, rmm
	fadd.d fa0, fa1, fa2, dyn
	fsub.d fa0, fa1, fa2
	fsub.d fa0, fa1, fa2, rne
	fsub.d fa0, fa1, fa2, rtz
	fsub.d fa0, fa1, fa2, rdn
	fsub.d fa0, fa1, fa2, rup
	fsub.d fa0, fa1, fa2, rmm
	fsub.d fa0, fa1, fa2, dyn
	fmul.d fa0, fa1, fa2
	fmul.d fa0, fa1, fa2, rne
	fmul.d fa0, fa1, fa2, rtz
	fmul.d fa0, fa1, fa2, rdn
	fmul.d fa0, fa1, fa2, rup
	fmul.d fa0, fa1, fa2, rmm
	fmul.d fa0, fa1, fa2, dyn
	fdiv.d fa0, fa1, fa2
	fdiv.d fa0, fa1, fa2, rne
	fdiv.d fa0, fa1, fa2, rtz
	fdiv.d fa0, fa1, fa2, rdn
	fdiv.d fa0, fa1, fa2, rup
	fdiv.d fa0, fa1, fa2, rmm
	fdiv.d fa0, fa1, fa2, dyn
	fsqrt.d ft0, ft11
	fsqrt.d ft0, ft11, rne
	fsqrt.d ft0, ft11, rtz
	fsqrt.d ft0, ft11, rdn
	fsqrt.d ft0, ft11, rup
	fsqrt.d ft0, ft11, rmm
	fsqrt.d ft0, ft11, dyn
	fmadd.d fa0, fa1, fa2, fa3
	fmadd.d fa0, fa1, fa2, fa3, rtz
	fmadd.d fa0, fa1, fa2, fa3, rmm
	fmsub.d fa0, fa1, fa2, fa3
	fmsub.d fa0, fa1, fa2, fa3, rtz
	fmsub.d fa0, fa1, fa2, fa3, rmm
	fnmsub.d fa0, fa1, fa2, fa3
	fnmsub.d fa0, fa1, fa2, fa3, rtz
	fnmsub.d fa0, fa1, fa2, fa3, rmm
	fnmadd.d fa0, fa1, fa2, fa3
	fnmadd.d fa0, fa1, fa2, fa3, rtz
	fnmadd.d fa0, fa1, fa2, fa3, rmm
	fsgnj.d fa0, fa1, fa2
	fsgnj.d fa0, fa1, fa1
	fsgnjn.d fa0, fa1, fa2
	fsgnjn.d fa0, fa1, fa1
	fsgnjx.d fa0, fa1, fa2
	fsgnjx.d fa0, fa1, fa1
	fmin.d fa0, fa1, fa2
	fmax.d fa0, fa1, fa2
	feq.d a0, fa1, fa2
	flt.d a0, fa1, fa2
	fle.d a0, fa1, fa2
	fclass.d a0, fa1
	fcvt.w.d a0, fa1
	fcvt.d.w fa0, a1
	fcvt.w.d a0, fa1, rtz
	fcvt.w.d a0, fa1, rne
	fcvt.wu.d a0, fa1
	fcvt.d.wu fa0, a1
	fcvt.wu.d a0, fa1, rtz
	fcvt.wu.d a0, fa1, rne
	fcvt.l.d a0, fa1
	fcvt.d.l fa0, a1
	fcvt.l.d a0, fa1, rtz
	fcvt.d.l fa0, a1, rtz
	fcvt.l.d a0, fa1, rne
	fcvt.d.l fa0, a1, rne
	fcvt.lu.d a0, fa1
	fcvt.d.lu fa0, a1
	fcvt.lu.d a0, fa1, rtz
	fcvt.d.lu fa0, a1, rtz
	fcvt.lu.d a0, fa1, rne
	fcvt.d.lu fa0, a1, rne
	fmv.x.d a0, fa1
	fmv.d.x fa0, a1
	fcvt.s.d fa0, fa1
	fcvt.s.d fa0, fa1, rtz
	fcvt.d.s fa0, fa1
forward:
	.option rvc
	c.addi4spn s0, sp, 4
	c.addi4spn a5, sp, 1020
	c.fld fs0, 0(a0)
	c.fld fa5, 248(s1)
	c.lw a0, 124(a1)
	c.ld s1, 8(a5)
	c.fsd fa0, 16(s0)
	c.sw a0, 0(a1)
	c.sd a5, 248(a0)
	c.nop
	c.addi a0, 1
	c.addi t6, -32
	c.addiw a0, 0
	c.addiw a0, -1
	c.li a0, 0
	c.li ra, -32
	c.addi16sp sp, -512
	c.addi16sp sp, 496
	c.lui a0, 1
	c.lui a0, 0xfffff
	c.lui s11, 0x1f
	c.srli a0, 1
	c.srli a5, 63
	c.srai s0, 32
	c.andi a0, -1
	c.andi a0, 31
	c.sub a0, a1
	c.xor a0, a1
	c.or s0, s1
	c.and a4, a5
	c.subw a0, a1
	c.addw a0, a1
	c.j start
	c.j forward
	c.beqz a0, start
	c.bnez a5, forward
	c.slli a0, 1
	c.slli t6, 63
	c.fldsp fs4, 192(sp)
	c.lwsp a0, 252(sp)
	c.ldsp ra, 504(sp)
	c.jr a0
	c.jr ra
	c.mv a0, a1
	c.ebreak
	c.jalr a0
	c.add a0, a1
	c.fsdsp fa0, 8(sp)
	c.swsp a0, 252(sp)
	c.sdsp ra, 504(sp)
