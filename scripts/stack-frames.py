#!/usr/bin/env python3
"""Per-function stack frames of a firmware image, read from its disassembly.

usage: llvm-objdump -d --no-show-raw-insn -C ELF | stack-frames.py [TOP]

Walks each function's instructions in address order, keeping the running stack-pointer
offset (push/pop, sub/add sp, pre-indexed stores, RISC-V addi sp) and prints the deepest
offset reached: the frame the function itself takes, not counting its callees. This is
what `-Z emit-stack-sizes` would report, measured on the image that ships (no extra build).
"""
import re
import sys

top = int(sys.argv[1]) if len(sys.argv) > 1 else 20
roots = sys.argv[2:]
func = re.compile(r"^[0-9a-f]+ <(.*)>:$")
ins = re.compile(r"^\s*[0-9a-f]+:\s+(\S+)\s*(.*)$")


def imm(s):
    m = re.search(r"#?(-?(?:0x[0-9a-f]+|\d+))\b", s)
    return int(m.group(1), 0) if m else 0


def regs(s):
    m = re.search(r"\{(.*)\}", s)
    return len([r for r in m.group(1).split(",") if r.strip()]) if m else 0


frames = {}
calls = {}
# Direct calls and tail jumps (Arm bl/b.w, RISC-V jal/jalr/j): the target named without an
# offset is another function.
CALLS = {"bl", "blx", "b.w", "b", "jal", "jalr", "j", "tail", "call", "c.j", "c.jal", "c.jalr"}
callre = re.compile(r"<([^>+]+)>\s*$")
name, depth, deepest = None, 0, 0
consts = {}


def close():
    if name is not None:
        frames[name] = max(frames.get(name, 0), deepest)


for line in sys.stdin:
    m = func.match(line)
    if m:
        close()
        name, depth, deepest, consts = m.group(1), 0, 0, {}
        continue
    m = ins.match(line)
    if not m or name is None:
        continue
    op, args = m.group(1), m.group(2).split("//")[0].split("@")[0].strip()
    c = callre.search(m.group(2).split("@")[0].strip()) if op in CALLS else None
    if c and c.group(1) != name:
        calls.setdefault(name, set()).add(c.group(1))
    delta = 0
    # Arm (Thumb-2)
    if op in ("push", "push.w", "stmdb", "stmdb.w") and (op.startswith("push") or args.startswith("sp!")):
        delta = 4 * regs(args)
    elif op in ("pop", "pop.w", "ldmia", "ldmia.w") and (op.startswith("pop") or args.startswith("sp!")):
        delta = -4 * regs(args)
    elif op == "vpush":
        delta = 8 * regs(args) if "d" in args else 4 * regs(args)
    elif op == "vpop":
        delta = -(8 * regs(args) if "d" in args else 4 * regs(args))
    elif op.startswith(("movw", "mov.w", "mov")) and re.match(r"^(r\d+|ip|lr), #", args):
        consts[args.split(",")[0]] = imm(args.split(",", 1)[1])
    elif op.startswith("movt") and re.match(r"^(r\d+|ip|lr), #", args):
        r = args.split(",")[0]
        consts[r] = consts.get(r, 0) | (imm(args.split(",", 1)[1]) << 16)
    elif op.startswith("sub") and re.match(r"^sp, (sp, )?#", args):
        delta = imm(args.split("#", 1)[1].join(["#", ""]))
    elif op.startswith("sub") and re.match(r"^sp, (sp, )?(r\d+|ip|lr)$", args):
        delta = consts.get(args.split(",")[-1].strip(), 0)
    elif op.startswith("add") and re.match(r"^sp, (sp, )?#", args):
        delta = -imm(args.split("#", 1)[1].join(["#", ""]))
    elif op.startswith("str") and re.search(r"\[sp, #-\d+\]!", args):
        delta = -imm(re.search(r"#(-\d+)", args).group(0))
    elif op.startswith("ldr") and re.search(r"\[sp\], #\d+", args):
        delta = -imm(re.search(r"\], #(\d+)", args).group(1))
    # RISC-V
    elif op in ("addi", "c.addi", "c.addi16sp") and re.match(r"^sp, sp, -?(0x[0-9a-f]+|\d+)$", args):
        delta = -int(args.split(",")[-1].strip(), 0)
    elif op in ("lui", "c.lui") and re.match(r"^\w+, ", args):
        consts[args.split(",")[0]] = int(args.split(",")[1].strip(), 0) << 12
    elif op in ("addi", "c.addi") and re.match(r"^(\w+), \1, -?(0x[0-9a-f]+|\d+)$", args) and args.split(",")[0] in consts:
        r = args.split(",")[0]
        consts[r] += int(args.split(",")[-1].strip(), 0)
    elif op in ("sub", "c.sub") and re.match(r"^sp, sp, \w+$", args):
        delta = consts.get(args.split(",")[-1].strip(), 0)
    elif op in ("add", "c.add") and re.match(r"^sp, (sp, )?\w+$", args) and args.split(",")[-1].strip() in consts:
        delta = -consts[args.split(",")[-1].strip()]
    elif op in ("mv", "c.mv", "mov") and args.startswith("sp,"):
        depth = 0  # restored from the frame pointer: an epilogue
    depth += delta
    deepest = max(deepest, depth)
close()

def clean(n):
    """Rust's legacy mangling escapes, as llvm-objdump -C leaves them; no hash suffix."""
    for a, b in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$C$", ","), ("$RF$", "&"),
                 ("$BP$", "*"), ("$u7b$", "{"), ("$u7d$", "}"), ("$u5b$", "["), ("$u5d$", "]"),
                 ("$u27$", "'"), ("$SP$", "@"), ("..", "::")):
        n = n.replace(a, b)
    return re.sub(r"::h[0-9a-f]{16}$", "", n).lstrip("_").replace("::_<", "::<")


width = max((len(str(v)) for v in frames.values()), default=1)
for n, size in sorted(frames.items(), key=lambda kv: -kv[1])[:top]:
    print(f"stack_frame bytes={size:>{width}} fn={clean(n)}")


# The deepest chain of direct calls below each root (a function whose name contains the root
# text): frames summed along the call graph read from the same disassembly. Indirect calls
# (function pointers, `dyn`) are not followed and recursion is cut at the first repeat, so this
# is a lower bound where those matter; the painted high-water mark is the measurement.
sys.setrecursionlimit(100000)
memo = {}


def deepest_below(f, onpath):
    if f in memo:
        return memo[f]
    best, chain = 0, []
    onpath.add(f)
    for g in calls.get(f, ()):
        if g in onpath:
            continue
        d, c = deepest_below(g, onpath)
        if d > best:
            best, chain = d, c
    onpath.discard(f)
    memo[f] = (frames.get(f, 0) + best, [f] + chain)
    return memo[f]


for root in roots:
    found = [f for f in frames if root in clean(f)]
    if not found:
        print(f"stack_path root={root} not found")
        continue
    total, chain = max((deepest_below(f, set()) for f in found), key=lambda t: t[0])
    print(f"stack_path root={root} bytes={total}")
    for f in chain:
        if frames.get(f, 0) >= 64:
            print(f"stack_path   {frames.get(f, 0):>{width}} {clean(f)}")
