"""Backward register data flow inside one function: which constants can a register hold here?

Used for syscall numbers (rax at a ``syscall`` instruction), for the number a caller
passes to a wrapper such as ``syscall(long nr, ...)`` (rdi at the call), and for a few
arguments of interest (socket family, clone flags). The function is disassembled with
capstone in detail mode and split into basic blocks; from the query point the walk goes
backwards through predecessors until every path has written the register.

Understood writes: ``mov r, imm``, ``xor r, r`` / ``sub r, r``, ``mov r, r2`` and
``movsxd``/``movzx`` copies (the walk then follows r2), ``push imm; pop r``, and
``cmov`` (both the old and the new value). Anything else that writes the register, a
call clobbering a caller-saved register, a path from an indirect jump, or a block with
no predecessor makes the result "unknown". Reaching the function entry with an argument
register gives "param <reg>": the function is a wrapper and its callers decide.

Stack arguments: a forward pass gives each instruction's stack depth (bytes pushed since
the entry: push/pop, ``sub``/``add rsp, imm``, ``lea rsp, [rsp +- imm]``; anything else
that writes rsp makes the depth unknown). With it a load ``mov r, [rsp + d]`` becomes a
stack slot, followed backwards to the ``push`` or ``mov [rsp + e], x`` that wrote it, and
a slot above the return address at the entry is a stack parameter ``stackK`` (K = 1 for
the 7th integer argument). A caller's value for ``stackK`` is the slot at ``[rsp + 8(K-1)]``
at its ``call`` (``[rsp + 8K]`` at a tail ``jmp``). glibc 2.41 passes the syscall number
of every cancellable call this way (``__syscall_cancel(a1, ..., a6, nr)``), and Go's
ABI0 ``syscall.Syscall`` reads its number from the stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import capstone

_FAMILIES = {
    "rax": ("rax", "eax", "ax", "al", "ah"),
    "rbx": ("rbx", "ebx", "bx", "bl", "bh"),
    "rcx": ("rcx", "ecx", "cx", "cl", "ch"),
    "rdx": ("rdx", "edx", "dx", "dl", "dh"),
    "rsi": ("rsi", "esi", "si", "sil"),
    "rdi": ("rdi", "edi", "di", "dil"),
    "rbp": ("rbp", "ebp", "bp", "bpl"),
    "rsp": ("rsp", "esp", "sp", "spl"),
}
for _n in range(8, 16):
    _FAMILIES[f"r{_n}"] = (f"r{_n}", f"r{_n}d", f"r{_n}w", f"r{_n}b")
CANONICAL = {alias: full for full, aliases in _FAMILIES.items() for alias in aliases}
WIDE = {a for full, aliases in _FAMILIES.items() for a in aliases[:2]}  # 64/32-bit names
CALLER_SAVED = {"rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"}
SYSV_ARGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
STACK_PARAM = "stack"  # "stack1" is the first argument passed on the stack
MAX_STACK_PARAM = 8
MAX_FUNCTION_BYTES = 256 * 1024
MAX_VALUES = 64
_TERMINATORS = {"ret", "retf", "hlt", "ud2", "jmp", "ljmp", "iretq", "sysret"}
_COPIES = {"mov", "movsxd", "movsx", "movzx"}
_PADDING = {"nop", "int3"}


class Insn(NamedTuple):
    """One decoded instruction (capstone's lite form, prefixes dropped from the mnemonic)."""

    address: int
    size: int
    mnemonic: str
    op_str: str


@dataclass
class Values:
    """What a register may hold: constants, incoming parameters, and whether anything else."""

    consts: set[int] = field(default_factory=set)
    params: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)  # reasons, first few only

    def add_unknown(self, why: str) -> None:
        if len(self.unknown) < 4 and why not in self.unknown:
            self.unknown.append(why)


class Function:
    """One function's instructions and basic blocks, built once and queried many times."""

    def __init__(self, code: bytes, start: int, *, param_regs: Iterable[str] = SYSV_ARGS):
        self.code = code[:MAX_FUNCTION_BYTES]
        self.start = start
        self.param_regs = set(param_regs)
        self.truncated = len(code) > MAX_FUNCTION_BYTES
        self._decode(0)

    def _decode(self, skip: int) -> None:
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        self.skip = skip
        self.insns: list[Insn] = [
            Insn(a, n, base_mnemonic(m), o)
            for a, n, m, o in md.disasm_lite(self.code[skip:], self.start + skip)
        ]
        self.index = {insn.address: i for i, insn in enumerate(self.insns)}
        self._blocks()

    def ensure(self, address: int) -> bool:
        """Make ``address`` an instruction boundary, re-decoding from a few bytes further on
        when the function start is not one (glibc's FDE of ``__restore_rt`` starts one byte
        early, on purpose)."""
        if address in self.index:
            return True
        for skip in range(1, 16):
            self._decode(skip)
            if address in self.index:
                return True
        self._decode(0)
        return False

    def _blocks(self) -> None:
        leaders = {0}
        succ_edges: list[tuple[int, int]] = []  # (from insn index, to insn index)
        self.dispatch: list[int] = []  # indirect jumps inside the function (switch tables)
        for i, insn in enumerate(self.insns):
            mnem = insn.mnemonic
            if mnem.startswith(("j", "loop")) or mnem in _TERMINATORS:
                if i + 1 < len(self.insns):
                    leaders.add(i + 1)
                target = _direct_target(insn)
                if target is not None and target in self.index:
                    leaders.add(self.index[target])
                    succ_edges.append((i, self.index[target]))
                elif mnem == "jmp" and target is None and "rip" not in insn.op_str:
                    self.dispatch.append(i)
        starts = sorted(leaders)
        self.block_of: list[int] = [0] * len(self.insns)
        for b, s in enumerate(starts):
            end = starts[b + 1] if b + 1 < len(starts) else len(self.insns)
            for i in range(s, end):
                self.block_of[i] = s
        self.preds: dict[int, list[int]] = {s: [] for s in starts}  # leader -> pred insn idx
        for s in starts:
            if s == 0:
                continue
            if self.insns[s - 1].mnemonic not in _TERMINATORS:
                self.preds[s].append(s - 1)
        for src, dst in succ_edges:
            self.preds[dst].append(src)
        self._depths: list[int | None] | None = None

    @property
    def depths(self) -> list[int | None]:
        """Stack depth before each instruction (bytes below the entry rsp), None if unknown."""
        if self._depths is None:
            self._depths = self._stack_depths()
        return self._depths

    def _stack_depths(self) -> list[int | None]:
        n = len(self.insns)
        before: list[int | None] = [None] * n
        succ: dict[int, list[int]] = {}
        for leader, preds in self.preds.items():
            for p in preds:
                succ.setdefault(p, []).append(leader)
        at_leader: dict[int, int | None] = {0: 0}
        work = [0] if n else []
        while work:
            i = work.pop()
            depth = at_leader[i]
            dead = False
            while True:
                insn = self.insns[i]
                if (
                    insn.mnemonic in _PADDING
                    and i
                    and self.insns[i - 1].mnemonic == "call"
                    and self._padding_ends_at_leader(i)
                ):
                    # Padding right after a call, up to a jump target: the callee does not
                    # return (__libc_fatal), so what follows is not reached from here.
                    # (Go's inline-mark nop after a call is followed by more straight-line
                    # code: that falls through.)
                    dead = True
                    break
                before[i] = depth
                depth = _depth_after(insn, depth)
                if i + 1 >= n or self.block_of[i + 1] == i + 1:
                    break
                i += 1
            if dead:
                continue
            for t in succ.get(i, ()):
                if t not in at_leader:
                    at_leader[t] = depth
                    work.append(t)
                elif at_leader[t] is not None and at_leader[t] != depth:
                    at_leader[t] = None  # paths disagree: unknown from here on
                    work.append(t)
        return before

    def _padding_ends_at_leader(self, i: int) -> bool:
        """Does the run of padding starting at instruction i end at a block start (or the
        end of the function)?"""
        n = len(self.insns)
        while i < n and self.insns[i].mnemonic in _PADDING:
            i += 1
        return i >= n or self.block_of[i] == i

    def _slot_effect(self, i: int, slot: int) -> tuple[str, object] | None:
        """How instruction i changes the stack slot at entry-rsp + ``slot``."""
        insn = self.insns[i]
        mnem = insn.mnemonic
        writes_stack = mnem == "push" or (
            mnem == "mov" and insn.op_str.startswith(("qword ptr [rsp", "dword ptr [rsp"))
        )
        if not writes_stack:
            return None
        depth = self.depths[i]
        if depth is None:
            return ("unknown", "stack depth unknown")
        if mnem == "push":
            if slot != -depth - 8:
                return None
            src = insn.op_str.strip()
            rsp_base = -depth  # operands of a push are read before rsp moves
        else:
            dest, _, src = insn.op_str.partition(",")
            offset = _rsp_offset(dest)
            if offset is None or slot != -depth + offset:
                return None
            src = src.strip()
            rsp_base = -depth
        imm = _parse_imm(src)
        if imm is not None:
            return ("const", imm)
        if src in CANONICAL and src in WIDE:
            return ("copy", CANONICAL[src])
        offset = _rsp_offset(src)
        if offset is not None:
            return ("copy", _slot_name(rsp_base + offset))
        return ("unknown", f"stack slot written by {mnem} {insn.op_str}")

    def _stack_load(self, i: int, reg: str) -> str | None:
        """The slot state when instruction i is ``mov reg, [rsp + d]``, else None."""
        insn = self.insns[i]
        if insn.mnemonic != "mov" or "[rsp" not in insn.op_str:
            return None
        dest, _, src = insn.op_str.partition(",")
        dest = dest.strip()
        if CANONICAL.get(dest) != reg or dest not in WIDE:
            return None
        offset = _rsp_offset(src.strip())
        depth = self.depths[i]
        if offset is None or depth is None:
            return None
        return _slot_name(-depth + offset)

    def values_at(self, address: int, reg: str) -> Values:
        """The values ``reg`` (a 64-bit name) may hold just before the instruction at address."""
        out = Values()
        self.ensure(address)
        q = self.index.get(address)
        if q is None:
            out.add_unknown("not an instruction boundary")
            return out
        if reg.startswith(STACK_PARAM):
            # The callee's stack argument K, seen at our call (or tail jump) to it.
            depth = self.depths[q]
            if depth is None:
                out.add_unknown("stack depth unknown at the call")
                return out
            k = int(reg[len(STACK_PARAM) :])
            above = 8 * (k - 1) if self.insns[q].mnemonic == "call" else 8 * k
            reg = _slot_name(-depth + above)
        seen: set[tuple[int, str]] = set()
        todo: list[tuple[int, str]] = []

        def enter_block(leader: int, r: str) -> None:
            if (leader, r) in seen:
                return
            seen.add((leader, r))
            preds = self.preds.get(leader, [])
            if leader == 0:
                if r in self.param_regs:
                    out.params.add(r)
                elif r.startswith("sp"):
                    slot = int(r[2:])
                    if slot > 0 and slot % 8 == 0 and slot // 8 <= MAX_STACK_PARAM:
                        out.params.add(f"{STACK_PARAM}{slot // 8}")
                    else:
                        out.add_unknown(f"stack slot {slot:+d} undefined at function entry")
                else:
                    out.add_unknown(f"{r} undefined at function entry")
            elif not preds:
                # Only a switch table can lead here (else it is dead code, or a tail shared
                # with another function): continue at the function's indirect jumps.
                preds = self.dispatch
            todo.extend((p, r) for p in preds)

        if self.block_of[q] == q:
            enter_block(q, reg)
        else:
            todo.append((q - 1, reg))
        steps = 0
        while todo:
            i, r = todo.pop()
            leader = self.block_of[i]
            while True:
                steps += 1
                if steps > 50000 or len(out.consts) > MAX_VALUES:
                    out.add_unknown("too many paths")
                    return out
                if r.startswith("sp"):
                    result = self._slot_effect(i, int(r[2:]))
                else:
                    result = _effect(self.insns[i], r)
                    if result is not None and result[0] == "unknown":
                        slot = self._stack_load(i, r)
                        if slot is not None:
                            result = ("copy", slot)
                if result is not None:
                    kind, value = result
                    if kind == "const":
                        out.consts.add(int(value))  # type: ignore[call-overload]
                        break
                    if kind == "pop":
                        imm = _push_imm(self.insns[i - 1]) if i > leader else None
                        if imm is None:
                            out.add_unknown(f"pop {r}")
                        else:
                            out.consts.add(imm)
                        break
                    if kind == "low8":
                        prev = self.insns[i - 1] if i > leader else None
                        if prev is not None and _zeroes(prev, r):
                            out.consts.add(int(value))  # type: ignore[call-overload]
                        else:
                            out.add_unknown(f"partial write to {r}")
                        break
                    if kind == "cmov":
                        if i > leader:
                            todo.append((i - 1, str(value)))
                        else:
                            enter_block(leader, str(value))
                    elif kind == "copy":
                        r = str(value)
                    else:
                        out.add_unknown(str(value))
                        break
                if i == leader:
                    enter_block(leader, r)
                    break
                i -= 1
        return out


def _slot_name(offset: int) -> str:
    """The walk's state for the stack slot at entry-rsp + offset ("sp+8", "sp-24")."""
    return f"sp{offset:+d}"


def _rsp_offset(operand: str) -> int | None:
    """d for a memory operand ``[rsp]`` / ``[rsp + d]`` / ``[rsp - d]`` (any size prefix)."""
    start = operand.find("[rsp")
    if start < 0 or not operand.endswith("]"):
        return None
    inner = operand[start + 4 : -1].strip()
    if not inner:
        return 0
    sign, _, number = inner.partition(" ")
    value = _parse_imm(number.strip())
    if value is None or sign not in ("+", "-"):
        return None
    return value if sign == "+" else -value


def _depth_after(insn: Insn, depth: int | None) -> int | None:
    """The stack depth after ``insn`` given the depth before it (see the module doc)."""
    if depth is None:
        return None
    mnem, ops = insn.mnemonic, insn.op_str
    if mnem in ("push", "pushfq"):
        return depth + 8
    if mnem in ("pop", "popfq"):
        return None if CANONICAL.get(ops.strip()) == "rsp" else depth - 8
    dest, _, src = ops.partition(",")
    if CANONICAL.get(dest.strip()) != "rsp" or _writes_nothing(mnem):
        # cmp/test read rsp (Go's stack-bound check `cmp rsp, [r14 + 0x10]` opens
        # most functions); they do not move it.
        return None if mnem in ("leave", "enter") else depth
    src = src.strip()
    if mnem in ("sub", "add"):
        imm = _parse_imm(src)
        if imm is None:
            return None
        return depth + imm if mnem == "sub" else depth - imm
    if mnem == "lea" and src.startswith("[rsp"):
        offset = _rsp_offset(src)
        return None if offset is None else depth - offset
    return None


def base_mnemonic(mnemonic: str) -> str:
    """``bnd jmp`` -> ``jmp``, ``notrack call`` -> ``call``: prefixes do not change the flow."""
    return mnemonic.rsplit(" ", 1)[-1]


def _direct_target(insn: Insn) -> int | None:
    op = insn.op_str
    if op.startswith("0x"):
        try:
            return int(op, 16)
        except ValueError:
            return None
    return None


def _push_imm(insn: Insn) -> int | None:
    if (insn.mnemonic == "push" and insn.op_str.startswith(("0x", "-"))) or (
        insn.mnemonic == "push" and insn.op_str.isdigit()
    ):
        try:
            return int(insn.op_str, 0)
        except ValueError:
            return None
    return None


def _parse_imm(text: str) -> int | None:
    try:
        return int(text, 0)
    except ValueError:
        return None


_LOW_BYTES = {"al", "bl", "cl", "dl", "sil", "dil", "bpl"} | {f"r{n}b" for n in range(8, 16)}


def _zeroes(insn: Insn, reg: str) -> bool:
    """``xor r32, r32`` / ``sub r32, r32`` / ``mov r32, 0`` on the family of ``reg``."""
    ops = [o.strip() for o in insn.op_str.split(",")]
    if len(ops) != 2 or CANONICAL.get(ops[0]) != reg or ops[0] not in WIDE:
        return False
    if insn.mnemonic in ("xor", "sub"):
        return CANONICAL.get(ops[1]) == reg
    return insn.mnemonic == "mov" and _parse_imm(ops[1]) == 0


def _first_operand(ops: str) -> str:
    return ops.split(",", 1)[0].strip()


def _writes_nothing(mnem: str) -> bool:
    """Instructions that only read their operands (comparisons, jumps, hints)."""
    return mnem in _READ_ONLY or mnem.startswith(
        ("j", "cmp", "test", "prefetch", "ucomis", "comis")
    )


def _effect(insn: Insn, reg: str) -> tuple[str, object] | None:
    """How ``insn`` changes ``reg``: None (not at all), or (kind, value)."""
    mnem = insn.mnemonic
    if mnem == "call":
        return ("unknown", f"{reg} clobbered by a call") if reg in CALLER_SAVED else None
    implicit = _IMPLICIT.get(mnem)
    if implicit is None and mnem in ("imul", "mul") and "," not in insn.op_str:
        implicit = {_A, _D}
    if implicit is None and mnem not in _COPIES and "xmm" not in insn.op_str:
        for prefix, regs in _IMPLICIT_PREFIX:
            if mnem.startswith(prefix):
                implicit = regs
                break
    if implicit is not None and reg in implicit:
        return ("unknown", f"{reg} changed by {mnem}")
    if _writes_nothing(mnem):
        return None
    ops = insn.op_str
    dest = _first_operand(ops)
    if CANONICAL.get(dest) != reg:
        if mnem in _BOTH_OPERANDS_WRITTEN and reg in {
            CANONICAL.get(o.strip()) for o in ops.split(",")
        }:
            return ("unknown", f"{reg} changed by {mnem}")
        return None
    if dest not in WIDE:
        imm = _parse_imm(ops.split(",", 1)[1].strip()) if mnem == "mov" and "," in ops else None
        if imm is not None and dest in _LOW_BYTES:
            return ("low8", imm & 0xFF)  # musl: xor eax,eax; mov al, 56
        return ("unknown", f"partial write {mnem} {ops}")
    src = ops.split(",", 1)[1].strip() if "," in ops else ""
    if mnem == "mov":
        imm = _parse_imm(src)
        if imm is not None:
            return ("const", imm & 0xFFFFFFFF if dest[0] == "e" or dest.endswith("d") else imm)
        if src in CANONICAL and src in WIDE:
            return ("copy", CANONICAL[src])
        return ("unknown", f"loaded from memory ({mnem} {ops})")
    if mnem in _COPIES and src in CANONICAL:
        return ("copy", CANONICAL[src])
    if mnem in ("xor", "sub") and CANONICAL.get(src) == reg:
        return ("const", 0)
    if mnem == "pop":
        return ("pop", None)
    if mnem.startswith("cmov") and src in CANONICAL:
        return ("cmov", CANONICAL[src])
    return ("unknown", f"computed ({mnem} {ops})")


_A, _C, _D = "rax", "rcx", "rdx"
_IMPLICIT: dict[str, set[str]] = {
    "cpuid": {_A, "rbx", _C, _D},
    "rdtsc": {_A, _D},
    "rdtscp": {_A, _C, _D},
    "rdpid": set(),
    "xgetbv": {_A, _D},
    "cdq": {_D},
    "cqo": {_D},
    "cdqe": {_A},
    "cwde": {_A},
    "cwd": {_D},
    "cbw": {_A},
    "lahf": {_A},
    "syscall": {_A, _C, "r11"},
    "sysenter": {_A, _C, _D},
    "int": {_A},
    "leave": {"rbp", "rsp"},
    "enter": {"rbp", "rsp"},
    "loop": {_C},
    "loope": {_C},
    "loopne": {_C},
    "jrcxz": set(),
    "rdrand": set(),
    "rdseed": set(),
    "rdpkru": {_A, _D},
    "rdmsr": {_A, _D},
    "rdpmc": {_A, _D},
}
_IMPLICIT_PREFIX: tuple[tuple[str, set[str]], ...] = (
    ("div", {_A, _D}),
    ("idiv", {_A, _D}),
    ("cmpxchg", {_A, _D}),
    ("lods", {_A, "rsi", _C}),
    ("stos", {"rdi", _C}),
    ("movs", {"rdi", "rsi", _C}),
    ("scas", {"rdi", _C}),
    ("cmps", {"rdi", "rsi", _C}),
    ("ins", {"rdi", _C}),
    ("outs", {"rsi", _C}),
    ("xlat", {_A}),
)
_READ_ONLY = {
    "push",
    "nop",
    "ret",
    "endbr64",
    "endbr32",
    "hlt",
    "ud2",
    "int3",
    "lfence",
    "mfence",
    "sfence",
    "pause",
    "bt",
    "clflush",
    "clflushopt",
    "clwb",
    "bnd",
    "notrack",
    "leave_",
    "ldmxcsr",
    "stmxcsr",
    "fxsave",
    "fxrstor",
    "xsave",
    "xrstor",
    "xsavec",
    "xsaveopt",
    "wrpkru",
    "ptest",
    "vptest",
    "kortestw",
    "kortestq",
    "kortestd",
    "ktestq",
    ".byte",
}
_BOTH_OPERANDS_WRITTEN = {"xchg", "xadd", "cmpxchg"}
