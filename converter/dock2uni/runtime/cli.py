"""`dock2uni-runtime`: runc's command line (global flags, then a subcommand), for Docker and
containerd's runc shim. Errors: one `dock2uni-runtime: error:` line (and a hint) on
stderr, the message as an error line in --log (the shim quotes it), exit status 1.
Output of successful commands goes to stdout only: the shim parses it."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from dock2uni import __version__
from dock2uni.context import default_cache_dir
from dock2uni.errors import Dock2UniError
from dock2uni.runtime import lifecycle
from dock2uni.runtime.errors import OciError
from dock2uni.runtime.log import RuntimeLog
from dock2uni.runtime.state import DEFAULT_ROOT, OCI_VERSION

PROG = "dock2uni-runtime"
EXIT_ERROR = 1
EXIT_USAGE = 2
# Subcommands runc has that a unikernel does not offer, with the reason given.
REFUSED = {
    "exec": "a unikernel runs one program: there is no second process to exec into it",
    "pause": "pausing a unikernel is not implemented",
    "resume": "pausing a unikernel is not implemented",
    "update": "resources of a running unikernel cannot be changed",
    "checkpoint": "checkpointing a unikernel is not implemented",
    "restore": "checkpointing a unikernel is not implemented",
    "events": "events are not implemented (the shim reads statistics from cgroups)",
    "run": "use create then start",
    "spec": "write config.json with your engine",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        print(f"{PROG}: hint: see `{PROG} --help` for the commands.", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _opt(parser: argparse.ArgumentParser, name: str, **kw: object) -> None:
    """runc (urfave/cli) takes -flag and --flag alike."""
    parser.add_argument(f"--{name}", f"-{name}", **kw)  # type: ignore[arg-type]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="OCI runtime that boots containers as unikernels.")
    p.add_argument("--version", "-v", action="store_true", help="print the version")
    _opt(p, "root", default=str(DEFAULT_ROOT), help="state directory")
    _opt(p, "log", default=None, help="log file (JSON lines with --log-format json)")
    _opt(p, "log-format", dest="log_format", default="text", choices=("text", "json"))
    _opt(p, "systemd-cgroup", dest="systemd_cgroup", action="store_true", help="accepted")
    _opt(p, "criu", default=None, help="accepted, unused")
    _opt(p, "rootless", default=None, help="accepted, unused")
    _opt(p, "debug", action="store_true", help="log debug lines and tracebacks")
    _opt(p, "cache-dir", dest="cache_dir", default=None, help="conversion cache")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    c = sub.add_parser("create", help="create a container (converts and waits for start)")
    _opt(c, "bundle", default=".", help="bundle directory (config.json, rootfs)")
    c.add_argument("-b", dest="bundle")
    _opt(c, "pid-file", dest="pid_file", default=None)
    _opt(c, "console-socket", dest="console_socket", default=None)
    _opt(c, "no-pivot", dest="no_pivot", action="store_true", help="accepted")
    _opt(c, "no-new-keyring", dest="no_new_keyring", action="store_true", help="accepted")
    _opt(c, "preserve-fds", dest="preserve_fds", type=int, default=0, help="accepted (0)")
    c.add_argument("id")
    for name in ("start", "state"):
        sub.add_parser(name).add_argument("id")
    k = sub.add_parser("kill", help="signal the container (forwarded to the guest)")
    k.add_argument("--all", "-a", action="store_true")
    k.add_argument("id")
    k.add_argument("signal", nargs="?", default="SIGTERM")
    d = sub.add_parser("delete", help="remove a container's state (kills it with --force)")
    d.add_argument("--force", "-f", action="store_true")
    d.add_argument("id")
    ps = sub.add_parser("ps", help="host pids of the container")
    ps.add_argument("--format", "-f", default="table", choices=("table", "json"))
    ps.add_argument("id")
    ps.add_argument("ps_args", nargs="*")
    ls = sub.add_parser("list", help="containers under --root")
    ls.add_argument("--format", "-f", default="table", choices=("table", "json"))
    ls.add_argument("--quiet", "-q", action="store_true")
    sub.add_parser("features", help="what this runtime supports (JSON)")
    for name in REFUSED:
        r = sub.add_parser(name, help="not supported")
        r.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def features() -> str:
    """runtime-spec features.md: a truthful minimal document."""
    doc = {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        "mountOptions": [],
        "linux": {
            "namespaces": ["network"],
            "capabilities": [],
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
        },
        "annotations": {"org.dock2uni.runtime.version": __version__},
    }
    return json.dumps(doc, indent=4) + "\n"


def version() -> str:
    return f"{PROG} version {__version__}\ncommit: dock2uni {__version__}\nspec: {OCI_VERSION}\n"


def run(argv: list[str]) -> int:
    parser = build_parser()
    # Refused commands take any flags (their refusal is the answer); others are strict.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in REFUSED:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.version:
        sys.stdout.write(version())
        return 0
    log = RuntimeLog(args.log, args.log_format)
    if args.debug:
        log.debug(f"argv: {argv} cwd: {os.getcwd()}")
    if args.command is None:
        parser.error("a command is required (create, start, state, kill, delete, ...)")
    if args.command in REFUSED:
        raise OciError(
            f"{args.command} is not supported: {REFUSED[args.command]}",
            hint="docs/oci-runtime.md lists what dock2uni-runtime implements.",
        )
    if args.command == "features":
        sys.stdout.write(features())
        return 0
    cache = Path(os.path.abspath(args.cache_dir)) if args.cache_dir else default_cache_dir()
    g = lifecycle.Globals(root=Path(os.path.abspath(args.root)), log=log, cache_dir=cache)
    if args.command == "create":
        lifecycle.create(
            g,
            args.id,
            Path(args.bundle),
            Path(args.pid_file) if args.pid_file else None,
            args.console_socket,
        )
    elif args.command == "start":
        lifecycle.start(g, args.id)
    elif args.command == "state":
        sys.stdout.write(lifecycle.show_state(g, args.id))
    elif args.command == "kill":
        lifecycle.kill(g, args.id, args.signal, all_processes=args.all)
    elif args.command == "delete":
        lifecycle.delete(g, args.id, force=args.force)
    elif args.command == "ps":
        sys.stdout.write(lifecycle.ps(g, args.id, args.format))
    elif args.command == "list":
        sys.stdout.write(lifecycle.list_containers(g, args.quiet, args.format))
    return 0


def _global(argv: list[str], name: str) -> str | None:
    """A global flag's value read without the parser (for reporting a parse-time error)."""
    for i, arg in enumerate(argv):
        for form in (f"--{name}", f"-{name}"):
            if arg == form and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(form + "="):
                return arg.split("=", 1)[1]
    return None


def main(argv: list[str] | None = None) -> NoReturn:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code = run(argv)
    except (OciError, Dock2UniError) as exc:
        log = RuntimeLog(_global(argv, "log"), _global(argv, "log-format") or "text")
        log.error(exc.message)
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"{PROG}: hint: {exc.hint}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        log = RuntimeLog(_global(argv, "log"), _global(argv, "log-format") or "text")
        log.error(f"internal error: {type(exc).__name__}: {exc}")
        if "--debug" in argv or "-debug" in argv:
            traceback.print_exc()
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"{PROG}: hint: this is a bug; re-run with --debug and report it.", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    sys.exit(code)


if __name__ == "__main__":
    main()
