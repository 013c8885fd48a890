"""Start and stop the real Firestore and Pub/Sub emulators shipped with the gcloud SDK.

Each emulator runs directly on Java in its own process group on loopback, so stopping it
ends the JVM as well (killing a `gcloud emulators ... start` wrapper leaves Java running).
Nothing here imports `google.cloud`: callers build their clients from `host_port`/`env`.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

__all__ = [
    "DEFAULT_SDK_ROOT",
    "EmulatorError",
    "EmulatorProcess",
    "EmulatorStartError",
    "free_port",
    "reset_firestore",
    "sdk_root",
    "start_firestore",
    "start_pubsub",
]

DEFAULT_SDK_ROOT = Path("/usr/lib/google-cloud-sdk")
FIRESTORE_JAR = Path("platform/cloud-firestore-emulator/cloud-firestore-emulator.jar")
FIRESTORE_MAIN = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
PUBSUB_SCRIPT = Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator")

# Small heap and the serial collector: measured to start in 1-2 s on two cores.
_JVM_OPTS = ("-Xmx256m", "-XX:+UseSerialGC")
_POLL_S = 0.05
_REAP_GRACE_S = 2.0
_LOG_TAIL_LINES = 40
# Both emulators answer a plain GET / with this body once they serve requests.
_READY_BODY = b"Ok"
# Never route loopback health checks through an HTTP proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorError(RuntimeError):
    """An emulator could not be found, started, reset or stopped; the message says what to do."""


class EmulatorStartError(EmulatorError):
    """An emulator exited or did not become ready in time; its process group is already gone."""

    def __init__(self, message: str, *, name: str, pgid: int, log_path: Path) -> None:
        super().__init__(message)
        self.name = name
        self.pgid = pgid
        self.log_path = log_path


@dataclass
class EmulatorProcess:
    """One running emulator: a process group of its own, listening on `host:port`."""

    name: str
    host: str
    port: int
    pid: int
    pgid: int
    log_path: Path
    env_var: str
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def host_port(self) -> str:
        """`host:port`, the form the `*_EMULATOR_HOST` variables and gRPC channels take."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host_port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment the official client reads to talk to this emulator."""
        return {self.env_var: self.host_port}

    def is_running(self) -> bool:
        self._reap()
        return _group_alive(self.pgid)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the process group, wait up to `timeout` s, then SIGKILL it and wait again.

        Safe to call twice. Raises EmulatorError if the group survives SIGKILL.
        """
        if not self.is_running():
            return
        _signal_group(self.pgid, signal.SIGTERM)
        if self._wait_gone(timeout):
            return
        _signal_group(self.pgid, signal.SIGKILL)
        if not self._wait_gone(timeout):
            raise EmulatorError(
                f"{self.name} process group {self.pgid} survived SIGKILL for {timeout}s; "
                f"inspect it with `ps -g {self.pgid}`"
            )

    def _wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.is_running():
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)
        # Dead children of the leader linger as zombies until init reaps them; give it a
        # moment so that "stopped" also means the group id is gone, without insisting.
        grace = time.monotonic() + _REAP_GRACE_S
        while _group_exists(self.pgid) and time.monotonic() < grace:
            time.sleep(_POLL_S)
        if self._popen is not None:
            # The leader may have died (a zombie) between our last poll and the group check:
            # reap it, so no Popen is left "still running" behind us.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=_REAP_GRACE_S)
        return True

    def _reap(self) -> None:
        # The leader stays a zombie (and keeps its group alive) until its parent waits on it.
        if self._popen is not None:
            self._popen.poll()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def sdk_root() -> Path:
    """The gcloud SDK root: env CLOUDSDK_ROOT, else `gcloud info` (cached), else the Debian path."""
    override = os.environ.get("CLOUDSDK_ROOT")
    if override:
        return Path(override)
    return _gcloud_sdk_root()


@functools.cache
def _gcloud_sdk_root() -> Path:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return DEFAULT_SDK_ROOT
    try:
        result = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return DEFAULT_SDK_ROOT
    root = result.stdout.strip()
    return Path(root) if root else DEFAULT_SDK_ROOT


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now (another process may still take it before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_firestore(
    port: int | None = None,
    host: str = "127.0.0.1",
    log_dir: str | os.PathLike[str] | None = None,
    ready_timeout: float = 30,
) -> EmulatorProcess:
    """Start the Firestore emulator and return once `GET /` answers `Ok`.

    Raises EmulatorError if Java or the emulator is missing or the port is taken, and
    EmulatorStartError (with the log tail) if it exits or is not ready within `ready_timeout` s.
    """
    jar = sdk_root() / FIRESTORE_JAR
    _require_file(jar, "cloud-firestore-emulator", "google-cloud-cli-firestore-emulator")
    return _start(
        name="firestore",
        env_var="FIRESTORE_EMULATOR_HOST",
        argv=lambda h, p: [
            _java(),
            *_JVM_OPTS,
            "-cp",
            str(jar),
            FIRESTORE_MAIN,
            "start",
            f"--host={h}",
            f"--port={p}",
        ],
        extra_env={},
        host=host,
        port=port,
        log_dir=log_dir,
        ready_timeout=ready_timeout,
    )


def start_pubsub(
    port: int | None = None,
    host: str = "127.0.0.1",
    log_dir: str | os.PathLike[str] | None = None,
    ready_timeout: float = 30,
) -> EmulatorProcess:
    """Start the Pub/Sub emulator and return once `GET /` answers `Ok`.

    Errors as for start_firestore. Its push subscriptions send no OIDC header and it does not
    enforce dead-letter topics.
    """
    script = sdk_root() / PUBSUB_SCRIPT
    _require_file(script, "pubsub-emulator", "google-cloud-cli-pubsub-emulator")
    return _start(
        name="pubsub",
        env_var="PUBSUB_EMULATOR_HOST",
        argv=lambda h, p: [str(script), f"--host={h}", f"--port={p}"],
        # The launcher script execs java itself and reads its JVM flags from JAVA_OPTS.
        extra_env={"JAVA_OPTS": " ".join(_JVM_OPTS)},
        host=host,
        port=port,
        log_dir=log_dir,
        ready_timeout=ready_timeout,
    )


def reset_firestore(host_port: str, project: str, database: str = "(default)") -> None:
    """Delete every document of `project`/`database` in the emulator at `host_port`.

    Raises EmulatorError if the emulator does not answer 200.
    """
    url = f"http://{host_port}/emulator/v1/projects/{project}/databases/{database}/documents"
    request = urllib.request.Request(url, method="DELETE")
    try:
        with _HTTP.open(request, timeout=10) as response:
            status = response.status
    except (urllib.error.URLError, OSError) as exc:
        raise EmulatorError(f"could not reset Firestore emulator at {host_port}: {exc}; is it running?") from exc
    if status != 200:
        raise EmulatorError(f"Firestore emulator at {host_port} answered {status} to reset")


def _start(
    *,
    name: str,
    env_var: str,
    argv: Callable[[str, int], Sequence[str]],
    extra_env: Mapping[str, str],
    host: str,
    port: int | None,
    log_dir: str | os.PathLike[str] | None,
    ready_timeout: float,
) -> EmulatorProcess:
    _require_loopback(host)
    port = port if port is not None else free_port(host)
    # A busy port would let another server answer our readiness probe.
    if not _port_is_free(host, port):
        raise EmulatorError(
            f"{name}: port {port} on {host} is already in use; pass another port "
            "(or none, to pick a free one) or stop what listens there"
        )
    log_path = _log_path(name, port, log_dir)
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(
            argv(host, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **extra_env},
            start_new_session=True,  # own process group: stop() signals exactly this tree
        )
    proc = EmulatorProcess(
        name=name,
        host=host,
        port=port,
        pid=popen.pid,
        pgid=popen.pid,
        log_path=log_path,
        env_var=env_var,
        _popen=popen,
    )
    try:
        _wait_ready(proc, popen, ready_timeout)
    except BaseException:
        proc.stop()
        raise
    return proc


def _wait_ready(proc: EmulatorProcess, popen: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        code = popen.poll()
        if code is not None:
            raise _start_error(proc, f"exited with code {code} before it was ready")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _start_error(proc, f"was not ready within {timeout}s")
        if _answers_ok(proc.url, min(1.0, remaining)):
            return
        time.sleep(_POLL_S)


def _answers_ok(url: str, timeout: float) -> bool:
    try:
        with _HTTP.open(url + "/", timeout=timeout) as response:
            return bool(response.status == 200 and response.read().strip() == _READY_BODY)
    except (urllib.error.URLError, OSError):
        return False


def _start_error(proc: EmulatorProcess, what: str) -> EmulatorStartError:
    # Stop first so the log is complete and the caller is left with nothing running.
    proc.stop()
    return EmulatorStartError(
        f"{proc.name} emulator on {proc.host_port} {what}; last lines of {proc.log_path}:\n{_log_tail(proc.log_path)}",
        name=proc.name,
        pgid=proc.pgid,
        log_path=proc.log_path,
    )


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _log_path(name: str, port: int, log_dir: str | os.PathLike[str] | None) -> Path:
    directory = Path(log_dir) if log_dir is not None else Path(tempfile.gettempdir()) / "wfx-emulators"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{name}-{port}.log"


def _require_loopback(host: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise EmulatorError(f"emulators listen on 127.0.0.1 only, not {host!r}")


def _require_file(path: Path, component: str, apt_package: str) -> None:
    if not path.is_file():
        raise EmulatorError(
            f"{path} not found: install it with `gcloud components install {component}` "
            f"or `apt-get install {apt_package}`, or set CLOUDSDK_ROOT to the SDK root"
        )


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise EmulatorError("java not found: install a JRE 17+ or set JAVA_HOME")
    return java


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR ignores TIME_WAIT leftovers but still fails against a listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_exists(pgid: int) -> bool:
    """True while any process, zombies included, is in the group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it just is not ours to signal
    return True


def _group_alive(pgid: int) -> bool:
    """True while the group has a member that is not a zombie."""
    if not _group_exists(pgid):
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    return any(_member_state(stat, pgid) not in (None, "Z") for stat in proc.glob("[0-9]*/stat"))


def _member_state(stat: Path, pgid: int) -> str | None:
    """The state letter of the process behind /proc/<pid>/stat if it belongs to `pgid`."""
    try:
        text = stat.read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name: state, ppid, pgrp, ...
    fields = text[text.rfind(")") + 2 :].split()
    if len(fields) < 3 or int(fields[2]) != pgid:
        return None
    return fields[0]
