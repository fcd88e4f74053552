"""Runs Debian's real `docker-registry` on 127.0.0.1 for tests and pushes OCI layouts with skopeo.

Interface:
  * ``missing_tools()`` -> reason string when docker-registry/skopeo/htpasswd are absent.
  * ``Registry(workdir, mode=...)``: ``open`` (anonymous pull and push), ``htpasswd``
    (Basic auth, bcrypt via ``htpasswd -B``), ``token`` (Bearer, pointing at a
    tests/infra/tokenserver.TokenServer); ``tls=True`` serves HTTPS with a
    throwaway self-signed certificate. ``start()``/``stop()``, ``host``,
    ``push(layout, ref, name_tag)``, ``blob_gets()`` (from the access log).
  * ``assert_cache_clean(root, cache_dir)``: after a pull, every file below
    ``root`` is a verified blob in the cache (nothing stray, no temp files).

Each instance has its own config, storage and log under ``workdir``; nothing is
shared with a system registry.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.infra.tokenserver import TokenServer, make_self_signed

REGISTRY_BIN = "docker-registry"
SKOPEO_BIN = "skopeo"
HTPASSWD_BIN = "htpasswd"
START_TIMEOUT = 15.0  # seconds for the registry to answer /v2/


def missing_tools(*, htpasswd: bool = False) -> str | None:
    """Why the registry tests cannot run here, or None."""
    wanted = [REGISTRY_BIN, SKOPEO_BIN] + ([HTPASSWD_BIN] if htpasswd else [])
    missing = [tool for tool in wanted if shutil.which(tool) is None]
    if missing:
        packages = "docker-registry skopeo apache2-utils"
        return f"registry tests need {', '.join(missing)} (apt-get install {packages})"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    """One private docker-registry process."""

    def __init__(
        self,
        workdir: Path,
        *,
        mode: str = "open",
        users: dict[str, str] | None = None,
        token_server: TokenServer | None = None,
        tls: bool = False,
    ) -> None:
        assert mode in ("open", "htpasswd", "token")
        assert mode != "token" or token_server is not None
        self.workdir = workdir
        self.mode = mode
        self.users = users or {}
        self.token_server = token_server
        self.tls = tls
        self.port = 0
        self.storage = workdir / "storage"
        self.log_path = workdir / "registry.log"
        self.home = workdir / "home"  # skopeo's HOME, so no user auth file leaks in
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def _config(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  formatter: text",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            "  secret: dock2uni-test-secret",
        ]
        if self.tls:
            key, cert = make_self_signed("127.0.0.1", san_ip="127.0.0.1")
            from cryptography.hazmat.primitives import serialization

            cert_path, key_path = self.workdir / "tls.crt", self.workdir / "tls.key"
            cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            key_path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                )
            )
            lines += ["  tls:", f"    certificate: {cert_path}", f"    key: {key_path}"]
        if self.mode == "htpasswd":
            htpasswd = self.workdir / "htpasswd"
            entries = []
            for user, password in self.users.items():
                out = subprocess.run(
                    [HTPASSWD_BIN, "-Bbn", user, password], check=True, capture_output=True
                )
                entries.append(out.stdout.decode().strip())
            htpasswd.write_text("\n".join(entries) + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: dock2uni-test", f"    path: {htpasswd}"]
        elif self.mode == "token":
            ts = self.token_server
            assert ts is not None
            lines += [
                "auth:",
                "  token:",
                f"    realm: {ts.realm}",
                f"    service: {ts.service}",
                f"    issuer: {ts.issuer}",
                f"    rootcertbundle: {ts.cert_path}",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> Registry:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(exist_ok=True)
        for _try in range(3):  # another process may grab the free port first
            self.port = free_port()
            config = self.workdir / "config.yml"
            config.write_text(self._config())
            log = self.log_path.open("ab")
            self._proc = subprocess.Popen(
                [REGISTRY_BIN, "serve", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"docker-registry did not start; log:\n{self.log_text()[-3000:]}")

    def _wait_ready(self) -> bool:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=2, context=context):
                    return True
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def push(
        self, layout: Path, ref: str, name_tag: str, *, creds: tuple[str, str] | None = None
    ) -> None:
        """``skopeo copy --all oci:LAYOUT:REF docker://HOST/NAME_TAG``, digests preserved."""
        cmd = [
            SKOPEO_BIN,
            "--insecure-policy",
            "copy",
            "--all",
            "--preserve-digests",
            "--quiet",
            "--dest-tls-verify=false",
        ]
        if creds:
            cmd.append(f"--dest-creds={creds[0]}:{creds[1]}")
        cmd += [f"oci:{layout}:{ref}", f"docker://{self.host}/{name_tag}"]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.home),
            "REGISTRY_AUTH_FILE": str(self.home / "auth.json"),
        }
        result = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(
                f"skopeo push of {layout}:{ref} failed: {result.stderr.decode(errors='replace')}"
            )

    def blob_gets(self, user_agent: str = "dock2uni") -> list[str]:
        """Blob digests fetched so far by clients whose User-Agent starts with ``user_agent``."""
        pattern = re.compile(
            r'"GET /v2/\S+/blobs/(sha256:[0-9a-f]{64}) HTTP/[0-9.]+" \d+ \d+ "[^"]*" "'
            + re.escape(user_agent)
        )
        return pattern.findall(self.log_text())

    def blob_path(self, digest: str) -> Path:
        """Where the filesystem driver keeps a blob (to damage it on purpose)."""
        hexpart = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"


def assert_cache_clean(root: Path, cache_dir: Path) -> None:
    """Every file under ``root`` is a complete, verified blob in ``cache_dir``; nothing else."""
    blobs = cache_dir / "blobs"
    for path in sorted(root.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        assert path.is_relative_to(blobs), f"stray file outside the blob cache: {path}"
        rel = path.relative_to(blobs).parts
        assert len(rel) == 2 and rel[0] == "sha256", f"unexpected cache path {path}"
        assert re.fullmatch(r"[0-9a-f]{64}", rel[1]), f"temporary or misnamed file {path}"
        assert not path.is_symlink(), f"symlink in the cache: {path}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == rel[1], f"unverified blob {path}"
