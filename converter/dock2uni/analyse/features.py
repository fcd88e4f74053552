"""Process-model and feature checks: fork/exec, threads, signals, sockets, events, users, configs.

The evidence is the reachable syscall set (with the constant arguments recovered for
``clone`` flags and socket families), the imported libc functions reached, the run spec
(script entrypoints, users) and, for applications we know, their configuration files
inside the image (nginx ``master_process``/``daemon``, redis ``daemonize``/``save``).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence

from dock2uni.analyse.ldcache import read_file
from dock2uni.analyse.model import Caller, Finding, ProcessModel
from dock2uni.fs.store import ContentStore
from dock2uni.fs.tree import Tree
from dock2uni.runspec import RunSpec
from dock2uni.syscalls import numbers_by_name

CLONE_VM = 0x100
CLONE_THREAD = 0x10000
AF_NAMES = {
    1: "AF_UNIX",
    2: "AF_INET",
    10: "AF_INET6",
    16: "AF_NETLINK",
    17: "AF_PACKET",
    38: "AF_ALG",
    40: "AF_VSOCK",
    3: "AF_AX25",
    4: "AF_IPX",
    5: "AF_APPLETALK",
    15: "AF_KEY",
    29: "AF_CAN",
    31: "AF_BLUETOOTH",
    44: "AF_XDP",
}
FORK_FUNCS = {"fork", "vfork", "_Fork", "__fork", "daemon", "forkpty"}
SPAWN_FUNCS = {"posix_spawn", "posix_spawnp", "system", "popen"}
EXEC_FUNCS = {
    "execve",
    "execv",
    "execvp",
    "execvpe",
    "execl",
    "execlp",
    "execle",
    "fexecve",
    "execveat",
}
THREAD_FUNCS = {"pthread_create", "thrd_create"}
SIGNAL_FUNCS = {"sigaction", "signal", "sigset", "bsd_signal", "__sysv_signal", "sysv_signal"}
SETUID_FUNCS = {
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "setreuid",
    "setregid",
    "seteuid",
    "setegid",
    "setgroups",
    "initgroups",
}
SHM_FUNCS = {"shm_open", "shmget", "shmat", "memfd_create"}
# Sleeps Linux resumes with restart_syscall (a restart block) when a handler interrupts them.
RESTARTED_BY_KERNEL = ("nanosleep", "clock_nanosleep", "poll", "futex")
MAX_CONFIG = 1 << 20
_EXEC_ARGS = re.compile(r'^exec\s+(?:\S+\s+)*"\$(@|\{@\})"\s*$')


def _nr(name: str) -> int:
    return numbers_by_name().get(name, -1)


def _evidence(callers: Mapping[int, Sequence[Caller]], names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for c in callers.get(_nr(name), ())[:1]:
            outer = c.outer()
            where = f"{c.binary.rsplit('/', 1)[-1]}:{c.function}"
            if outer is not None:
                where += f" <- {outer}"
            out.append(f"{name} <- {where}")
    return out


def process_model(
    *,
    callers: Mapping[int, Sequence[Caller]],
    args: Mapping[int, set[int]],
    imports_used: set[str],
    spec: RunSpec | None,
    tree: Tree,
    store: ContentStore,
    programs: Sequence[str],
) -> ProcessModel:
    """Summarise what the reachable code does with processes, threads, signals, sockets."""
    used = set(callers)

    def has(*names: str) -> bool:
        return any(_nr(n) in used for n in names)

    findings: list[Finding] = []
    clone_flags = args.get(_nr("clone"), set())
    fork_clone = any(not f & CLONE_VM for f in clone_flags)
    thread_clone = any(f & CLONE_VM and f & CLONE_THREAD for f in clone_flags)
    forks = has("fork", "vfork") or fork_clone or bool(imports_used & FORK_FUNCS)
    spawns = bool(imports_used & SPAWN_FUNCS)
    execs = has("execve", "execveat")
    threads = bool(imports_used & THREAD_FUNCS) or has("clone3") or thread_clone
    signals = has("rt_sigaction")
    families: set[str] = set()
    for nr in (_nr("socket"), _nr("socketpair")):
        for fam in args.get(nr, ()):
            families.add(AF_NAMES.get(fam & 0xFF, f"AF_{fam}"))
    if has("socket", "socketpair") and not families:
        families.add("unknown")
    events = [
        api
        for api, names in (
            (
                "epoll",
                ("epoll_create", "epoll_create1", "epoll_wait", "epoll_pwait", "epoll_pwait2"),
            ),
            ("io_uring", ("io_uring_setup", "io_uring_enter")),
            ("poll", ("poll", "ppoll")),
            ("select", ("select", "pselect6")),
        )
        if has(*names)
    ]
    shm = has("shmget", "shmat", "memfd_create") or bool(imports_used & SHM_FUNCS)
    setuid = has("setuid", "setresuid", "setreuid", "setgid", "setresgid", "setgroups")

    if forks or spawns:
        how = sorted(imports_used & (FORK_FUNCS | SPAWN_FUNCS))
        findings.append(
            Finding(
                id="fork",
                severity="warning",
                message="the program can create processes"
                + (f" ({', '.join(how)})" if how else " (clone without CLONE_VM)"),
                evidence=tuple(_evidence(callers, ("fork", "vfork", "clone"))),
                hint="A unikernel runs one process: configure the application not to fork "
                "(single-process mode), or the call fails at run time.",
            )
        )
    if execs:
        findings.append(
            Finding(
                id="exec",
                severity="warning",
                message="the program can execute other programs (execve)",
                evidence=tuple(_evidence(callers, ("execve", "execveat"))),
                hint="Only the image's entrypoint is started; exec of another program "
                "replaces it if the library OS supports execve, else fails.",
            )
        )
    if threads:
        findings.append(
            Finding(
                id="threads",
                severity="note",
                message="the program starts threads",
                evidence=tuple(_evidence(callers, ("clone3", "clone"))),
            )
        )
    sleeps = [n for n in RESTARTED_BY_KERNEL if has(n)]
    if signals and sleeps:
        findings.append(
            Finding(
                id="restart-syscall",
                severity="note",
                message="a signal interrupting "
                + ", ".join(sleeps)
                + " makes Linux itself issue restart_syscall: no code calls it, so it is "
                "never in the static set, and a trace that shows it is no analysis miss",
                hint="The library OS restarts such a sleep through restart_syscall as Linux "
                "does (docs/signals.md).",
            )
        )
    if "io_uring" in events:
        findings.append(
            Finding(
                id="io_uring",
                severity="warning",
                message="io_uring is reachable",
                evidence=tuple(_evidence(callers, ("io_uring_setup",))),
                hint="Most programs fall back to epoll when io_uring_setup fails with ENOSYS.",
            )
        )
    if shm:
        findings.append(
            Finding(
                id="shared-memory",
                severity="note",
                message="the program uses shared memory (SysV shm, shm_open or memfd)",
                evidence=tuple(_evidence(callers, ("shmget", "memfd_create"))),
            )
        )
    exotic = sorted(f for f in families if f not in ("AF_UNIX", "AF_INET", "AF_INET6", "unknown"))
    if exotic:
        findings.append(
            Finding(
                id="socket-families",
                severity="note",
                message=f"socket families beyond UNIX/IPv4/IPv6: {', '.join(exotic)}",
            )
        )
    if spec is not None:
        findings += _spec_findings(spec, tree, store, setuid)
    findings += _app_findings(spec, tree, store, programs)
    return ProcessModel(
        forks=forks,
        execs=execs,
        spawns=spawns,
        threads=threads,
        signals=signals,
        socket_families=tuple(sorted(families)),
        event_apis=tuple(events),
        shared_memory=shm,
        setuid=setuid,
        findings=tuple(findings),
    )


def script_ends_with_exec(text: str) -> bool:
    """True when the last command of a shell script is ``exec ... "$@"``."""
    lines = [ln.strip() for ln in text.splitlines()]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    return bool(body) and bool(_EXEC_ARGS.match(body[-1]))


def _spec_findings(spec: RunSpec, tree: Tree, store: ContentStore, setuid: bool) -> list[Finding]:
    out: list[Finding] = []
    if spec.exec_kind == "script" and spec.exec_path:
        raw = read_file(tree, store, spec.exec_path, MAX_CONFIG) or b""
        text = raw.decode("utf-8", "replace")
        interp = " ".join(spec.interpreter) or "?"
        if script_ends_with_exec(text):
            out.append(
                Finding(
                    id="script-entrypoint",
                    severity="note",
                    message=f"the entrypoint {spec.exec_path} is a script run by {interp}; it "
                    'ends with exec "$@", so the command replaces the shell',
                    path=spec.exec_path,
                    hint="Commands the script runs before the exec need fork and exec.",
                )
            )
        else:
            out.append(
                Finding(
                    id="script-entrypoint",
                    severity="warning",
                    message=f"the entrypoint {spec.exec_path} is a script run by {interp}; "
                    'it does not end with exec "$@", so the shell stays the parent of what '
                    "it runs (fork and exec)",
                    path=spec.exec_path,
                    hint="Point the entrypoint at the program itself (--entrypoint), or make "
                    'the script end with exec "$@".',
                )
            )
    if spec.shell_form:
        out.append(
            Finding(
                id="shell-form",
                severity="note",
                message=f"the command is shell form ({' '.join(spec.argv[:3])[:120]}): a "
                "shell runs it",
                hint="Use exec form (a JSON array) so the program itself is the entrypoint.",
            )
        )
    if spec.user.uid != 0:
        out.append(
            Finding(
                id="user",
                severity="note",
                message=f"the image runs as uid {spec.user.uid}"
                + (f" ({spec.user.name})" if spec.user.name else ""),
                hint="The library OS has no users: getuid returns the configured uid "
                "and permission checks are not enforced.",
            )
        )
    if setuid:
        out.append(
            Finding(
                id="setuid",
                severity="note",
                message="the program can change its user or group (setuid/setgid family)",
                hint="In a unikernel this only changes the ids it reports.",
            )
        )
    return out


def _directives(text: str) -> dict[str, str]:
    """Top-level `name value;` directives of an nginx config (the last one wins)."""
    out: dict[str, str] = {}
    depth = 0
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if depth == 0:
            for raw_stmt in line.split(";"):
                stmt = raw_stmt.strip()
                if stmt and "{" not in stmt and "}" not in stmt:
                    parts = stmt.split(None, 1)
                    out[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
        depth += line.count("{") - line.count("}")
        depth = max(depth, 0)
    return out


def _app_findings(
    spec: RunSpec | None, tree: Tree, store: ContentStore, programs: Sequence[str]
) -> list[Finding]:
    out: list[Finding] = []
    argv = list(spec.argv) if spec else []
    if spec is not None and spec.shell_form and len(argv) >= 3:
        try:
            argv = shlex.split(argv[2])
        except ValueError:
            argv = argv[2].split()
    names = {posixpath.basename(p) for p in programs}
    if "nginx" in names:
        out += _nginx(argv, tree, store)
    if "redis-server" in names:
        out += _redis(argv, tree, store)
    return out


def _nginx(argv: list[str], tree: Tree, store: ContentStore) -> list[Finding]:
    conf_path = "/etc/nginx/nginx.conf"
    globals_text = ""
    for i, arg in enumerate(argv):
        if arg == "-c" and i + 1 < len(argv):
            conf_path = argv[i + 1]
        if arg == "-g" and i + 1 < len(argv):
            globals_text += argv[i + 1] + "\n"
    raw = read_file(tree, store, conf_path, MAX_CONFIG)
    directives = _directives(raw.decode("utf-8", "replace")) if raw else {}
    directives.update(_directives(globals_text))
    out: list[Finding] = []
    if directives.get("master_process", "on") != "off":
        out.append(
            Finding(
                id="nginx-master-process",
                severity="warning",
                message="nginx runs a master process that forks its workers "
                f"(master_process is {directives.get('master_process', 'on (default)')})",
                path=conf_path,
                hint="Set `master_process off;` (and `daemon off;`) in nginx.conf, or pass "
                "-g 'master_process off; daemon off;'.",
            )
        )
    if directives.get("daemon", "on") != "off":
        out.append(
            Finding(
                id="nginx-daemon",
                severity="warning",
                message="nginx daemonizes (forks into the background): daemon is "
                f"{directives.get('daemon', 'on (default)')}",
                path=conf_path,
                hint="Set `daemon off;` or pass -g 'daemon off;'.",
            )
        )
    if raw is None:
        out.append(
            Finding(
                id="nginx-config",
                severity="note",
                message=f"nginx configuration {conf_path} not found in the image",
                path=conf_path,
            )
        )
    return out


def _redis(argv: list[str], tree: Tree, store: ContentStore) -> list[Finding]:
    settings: dict[str, list[str]] = {}
    conf_path = None
    rest = argv[1:]
    if rest and not rest[0].startswith("-"):
        conf_path = rest[0]
        raw = read_file(tree, store, conf_path, MAX_CONFIG)
        if raw is not None:
            for raw_line in raw.decode("utf-8", "replace").splitlines():
                line = raw_line.strip()
                if line and not line.startswith("#"):
                    key, _, value = line.partition(" ")
                    settings.setdefault(key.lower(), []).append(value.strip())
        rest = rest[1:]
    i = 0
    while i < len(rest):
        if rest[i].startswith("--"):
            key = rest[i][2:].lower()
            value = rest[i + 1] if i + 1 < len(rest) and not rest[i + 1].startswith("--") else ""
            settings.setdefault(key, []).append(value)
            i += 2 if value else 1
        else:
            i += 1
    out: list[Finding] = []
    if (settings.get("daemonize") or ["no"])[-1].lower() == "yes":
        out.append(
            Finding(
                id="redis-daemonize",
                severity="warning",
                message="redis is configured with `daemonize yes` (forks into the background)",
                path=conf_path,
                hint="Set `daemonize no` or pass --daemonize no.",
            )
        )
    saves = settings.get("save")
    if saves is None or any(s.strip("\"'") for s in saves[-1:]):
        out.append(
            Finding(
                id="redis-save",
                severity="warning",
                message="redis saves snapshots with BGSAVE, which forks a child "
                + ("(default save policy)" if saves is None else f"(save {saves[-1]})"),
                path=conf_path,
                hint="Pass --save '' (and --appendonly no) or set them in redis.conf; "
                "a failed background save is logged but not fatal.",
            )
        )
    if (settings.get("appendonly") or ["no"])[-1].lower() == "yes":
        out.append(
            Finding(
                id="redis-appendonly",
                severity="warning",
                message="redis appendonly rewriting (BGREWRITEAOF) forks a child",
                path=conf_path,
                hint="Pass --appendonly no.",
            )
        )
    return out
