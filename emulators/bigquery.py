"""Start and stop the BigQuery emulator of the tests (PyPI ``bqemulator``: DuckDB-backed, it serves
the REST API of the official ``google-cloud-bigquery`` client) on loopback, in its own process group.

It lives in its own venv (``make bqemulator`` installs ``emulators/bigquery-requirements.txt`` into
``.venv-bqemulator``; ``WFX_BQEMULATOR_VENV`` names another). It loads DuckDB's spatial extension
at start; the extension comes from PyPI and is installed into a HOME of the venv, never downloaded.
What it serves of BigQuery's vector SQL: ``COSINE_DISTANCE`` yes; ``ML.DISTANCE`` and
``VECTOR_SEARCH`` no.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from emulators.gcp import (
    EmulatorError,
    EmulatorProcess,
    _log_path,
    _port_is_free,
    _require_loopback,
    _start_error,
    free_port,
)

REPO = Path(__file__).resolve().parent.parent
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_INSTALL_SPATIAL = """
import glob, os, sys, duckdb
found = glob.glob(os.path.join(sys.prefix, "lib", "python*", "site-packages", "duckdb_extension_spatial",
                               "extensions", "v" + duckdb.__version__, "spatial.duckdb_extension"))
if not found:
    sys.exit("duckdb-extension-spatial for duckdb " + duckdb.__version__ + " is not installed")
duckdb.connect().execute("INSTALL '" + found[0] + "'")
"""


def venv() -> Path:
    """The emulator's venv: ``WFX_BQEMULATOR_VENV``, else ``.venv-bqemulator`` of the repository."""
    return Path(os.environ.get("WFX_BQEMULATOR_VENV") or REPO / ".venv-bqemulator")


def prepare(root: Path | None = None) -> Path:
    """The HOME the emulator runs with, its spatial extension installed there (once).
    Raises EmulatorError when the venv or the extension package is missing."""
    root = root or venv()
    python = root / "bin" / "python"
    if not (root / "bin" / "bqemulator").is_file():
        raise EmulatorError(f"the BigQuery emulator is not installed in {root}: run `make bqemulator` "
                            "(or pip install -r emulators/bigquery-requirements.txt into WFX_BQEMULATOR_VENV)")
    home = root / "home"
    marker = home / ".spatial-installed"
    if not marker.is_file():
        home.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([str(python), "-c", _INSTALL_SPATIAL], env={**os.environ, "HOME": str(home)},
                              capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise EmulatorError(f"could not install DuckDB's spatial extension for the emulator: "
                                f"{(done.stderr or done.stdout)[-500:]}")
        marker.write_text("ok\n")
    return home


def start_bigquery(project: str, port: int | None = None, host: str = "127.0.0.1",
                   log_dir: str | os.PathLike[str] | None = None, ready_timeout: float = 30) -> EmulatorProcess:
    """Start the emulator (in memory, default project ``project``) and return once ``/readyz``
    answers 200; ``.url`` is the ``api_endpoint`` of the client. Raises EmulatorError when it is
    not installed or the port is taken, EmulatorStartError (with its log tail) when it exits or is
    not ready within ``ready_timeout`` s."""
    _require_loopback(host)
    home = prepare()
    port = port if port is not None else free_port(host)
    if not _port_is_free(host, port):
        raise EmulatorError(f"bigquery: port {port} on {host} is already in use; pass another port or none")
    log_path = _log_path("bigquery", port, log_dir)
    argv = [str(venv() / "bin" / "bqemulator"), "start", "--rest-host", host, "--rest-port", str(port),
            "--grpc-host", host, "--grpc-port", "0", "--ephemeral", "--project", project, "--log-level", "warning"]
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 env={**os.environ, "HOME": str(home)}, start_new_session=True)
    proc = EmulatorProcess(name="bigquery", host=host, port=port, pid=popen.pid, pgid=popen.pid,
                           log_path=log_path, env_var="BIGQUERY_EMULATOR_HOST", _popen=popen)
    try:
        deadline = time.monotonic() + ready_timeout
        while not _ready(proc.url):
            if popen.poll() is not None:
                raise _start_error(proc, f"exited with code {popen.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise _start_error(proc, f"was not ready within {ready_timeout}s")
            time.sleep(0.05)
    except BaseException:
        proc.stop()
        raise
    return proc


def _ready(url: str) -> bool:
    try:
        with _HTTP.open(url + "/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
