"""The whole system on 127.0.0.1: the Firestore, Pub/Sub and Cloud Tasks emulators, the three
functions under functions-framework and a scheduler, wired like the cloud deployment. Each
process runs in its own process group; ``Stack.stop`` (``down``, through the state file)
signals exactly those."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from emulators.cloud_run.wfx import JOB_ID
from emulators.gcp import EmulatorError, free_port, start_firestore, start_pubsub

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("mcp", "worker", "events")
LOCATION = "local"
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Proc:
    """One started process group and how to start it again."""

    name: str
    pid: int
    port: int
    log: str
    started: str  # /proc start time of the leader: guards against a recycled pid
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    project: str
    state_dir: str
    env: dict[str, str]
    urls: dict[str, str]
    procs: list[Proc] = field(default_factory=list)
    # Popen handles of processes this Python process started (not saved): waited on when stopped.
    children: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def mcp_url(self) -> str:
        return self.urls["mcp"]

    def proc(self, name: str) -> Proc:
        return next(p for p in self.procs if p.name == name)

    def save(self) -> Path:
        path = Path(self.state_dir) / "stack.json"
        data = {k: v for k, v in asdict(replace(self, children={})).items() if k != "children"}
        path.write_text(json.dumps(data, indent=2))
        return path

    @classmethod
    def load(cls, state_dir: str | os.PathLike[str]) -> Stack | None:
        path = Path(state_dir) / "stack.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        data["procs"] = [Proc(**p) for p in data["procs"]]
        return cls(**data)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every process group this stack started (newest first) and forget the state."""
        for p in reversed(self.procs):
            stop_group(p, timeout)
            self._reap(p)
        self.procs.clear()
        with contextlib.suppress(FileNotFoundError):
            (Path(self.state_dir) / "stack.json").unlink()

    def kill(self, name: str) -> None:
        """SIGKILL one process group at once (a crashed instance)."""
        p = self.proc(name)
        if _alive(p):
            os.killpg(p.pid, signal.SIGKILL)
        _wait_gone(p, 10.0)
        self._reap(p)

    def _reap(self, p: Proc) -> None:
        child = self.children.pop(p.pid, None)
        if child is not None:
            child.wait(10)

    def spawn(self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path) -> Proc:
        with open(log, "ab") as out:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     env=env, cwd=ROOT, start_new_session=True)
        self.children[popen.pid] = popen
        return Proc(name, popen.pid, port, str(log), _start_time(popen.pid), argv, env)

    def restart(self, name: str) -> Proc:
        """Start a stopped process again with the same command, environment and port."""
        old = self.proc(name)
        new = self.spawn(old.name, old.argv, old.env, old.port, Path(old.log))
        self.procs[self.procs.index(old)] = new
        _wait_http(new, 30.0)
        self.save()
        return new

    def exports(self) -> str:
        """``export`` lines for clients of this stack (WFX_URL makes ``wfx`` talk MCP to it), and
        WFX_DEV_STATE so that a later ``python -m emulators down`` in the same shell finds it."""
        env = {**self.env, "WFX_DEV_STATE": self.state_dir, "WFX_URL": self.mcp_url}  # WFX_URL: `wfx` talks to it
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items()))


def start(*, project: str = "wfx-dev", state_dir: str | os.PathLike[str] = ".wfx/dev",
          extra_env: dict[str, str] | None = None, trigger_topics: tuple[str, ...] = (),
          ports: dict[str, int] | None = None, firestore_host: str | None = None,
          pubsub_host: str | None = None) -> Stack:
    """Start and wire everything; returns once all three functions answer. ``firestore_host`` /
    ``pubsub_host`` reuse running emulators (the tests share theirs) instead of starting new ones.
    On failure whatever was started is stopped again. Errors: EmulatorError."""
    state = Path(state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    existing = Stack.load(state)
    if existing is not None and any(_alive(p) for p in existing.procs):
        raise EmulatorError(f"a stack is already up (state in {state}); run `python -m emulators down` first")
    port = {n: (ports or {}).get(n) or free_port() for n in ("firestore", "pubsub", "tasks", "run", *FUNCTIONS)}
    hosts = {"firestore": firestore_host or f"127.0.0.1:{port['firestore']}",
             "pubsub": pubsub_host or f"127.0.0.1:{port['pubsub']}"}
    urls = {n: f"http://127.0.0.1:{port[n]}/" for n in FUNCTIONS}
    topic = f"projects/{project}/topics/wfx-events"
    env = {
        "WFX_STORE": "firestore", "WFX_QUEUE": "cloud_tasks", "WFX_EVENTS": "pubsub", "WFX_GCP_PROJECT": project,
        "FIRESTORE_EMULATOR_HOST": hosts["firestore"], "PUBSUB_EMULATOR_HOST": hosts["pubsub"],
        "WFX_TASKS_EMULATOR_HOST": f"127.0.0.1:{port['tasks']}",
        "WFX_TASKS_QUEUE": f"projects/{project}/locations/{LOCATION}/queues/wfx-executions",
        "WFX_WORKER_URL": urls["worker"], "WFX_EVENTS_TOPIC": topic,
        "WFX_WORKER_SECRET": secrets.token_urlsafe(24), "WFX_HOME": str(state / "home"),
        "WFX_TRIGGER_PUSH_URL": urls["events"],  # registering a trigger creates its topic here
        # isolated runs: a job execution on the Cloud Run emulator (emulators/cloud_run)
        "WFX_JOBS": "cloud_run", "WFX_RUN_JOB": f"projects/{project}/locations/{LOCATION}/jobs/{JOB_ID}",
        "WFX_RUN_EMULATOR_HOST": f"127.0.0.1:{port['run']}",
        # a development stack: six-field crons that fire every few seconds are welcome here
        "WFX_SCHEDULE_MIN_INTERVAL_S": "1",
    }
    stack = Stack(project=project, state_dir=str(state), env=env, urls=urls)
    fn_env = {**os.environ, **env, **(extra_env or {})}
    # this checkout's library first (not whatever an installed copy is), then the operator's path
    fn_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "shared"), fn_env.get("PYTHONPATH")]))
    from workflow_executor.settings import Settings

    from emulators.cloud_run.wfx import with_jobs

    settings = Settings.from_env(fn_env)  # what the functions will read: the lease, the sweep interval
    if settings.profiles:  # each execution profile runs on its own job (created below)
        fn_env["WFX_PROFILES"] = env["WFX_PROFILES"] = str(with_jobs(fn_env["WFX_PROFILES"],
                                                                     env["WFX_RUN_JOB"].split("/jobs/")[0]))
    try:
        starters = {"firestore": start_firestore, "pubsub": start_pubsub}
        _start_emulators(stack, port, state, {n: f for n, f in starters.items()
                                              if not {"firestore": firestore_host, "pubsub": pubsub_host}[n]})
        _wire(stack, topic, trigger_topics, queue_retry_config(settings.lease_ttl_s))
        _start_cloud_run(stack, port["run"], state, {**(extra_env or {}), "PYTHONPATH": fn_env["PYTHONPATH"]},
                         settings.profiles)
        for name in FUNCTIONS:
            argv = [sys.executable, "-m", "functions_framework", "--target", name, "--source",
                    str(ROOT / "functions" / "main.py"), "--host", "127.0.0.1", "--port", str(port[name])]
            stack.procs.append(stack.spawn(name, argv, fn_env, port[name], state / f"{name}.log"))
        for p in stack.procs[-len(FUNCTIONS):]:
            _wait_http(p, 60.0)
        # What Cloud Scheduler is in the cloud: fires the registered workflows' `schedules`, and
        # calls the worker's /sweep like the sweep job of infra/sweeper.tf.
        argv = [sys.executable, "-m", "emulators.scheduler"]
        if settings.sweep_interval_s > 0:
            argv += ["--sweep-url", urls["worker"] + "sweep", "--sweep-every", f"{settings.sweep_interval_s:g}"]
        stack.procs.append(stack.spawn("scheduler", argv, fn_env, 0, state / "scheduler.log"))
        _wait_log(stack.procs[-1], "scheduler: running", 60.0)
        stack.save()
    except BaseException:
        stack.stop()
        raise
    return stack


def _start_emulators(stack: Stack, port: dict[str, int], state: Path, starters: dict[str, Any]) -> None:
    argv = [sys.executable, "-m", "emulators.cloud_tasks", "--host", "127.0.0.1", "--port", str(port["tasks"]),
            "--min-dispatch-deadline", "1"]
    tasks = stack.spawn("cloud_tasks", argv, {**os.environ, "PYTHONPATH": str(ROOT)}, port["tasks"],
                   state / "cloud_tasks.log")
    stack.procs.append(tasks)
    with ThreadPoolExecutor(2) as pool:  # the two JVMs start in parallel (~2 s each)
        jobs = [pool.submit(fn, port[name], log_dir=state) for name, fn in starters.items()]
        for job in jobs:
            try:
                em = job.result()
            except EmulatorError:
                continue
            stack.procs.append(Proc(em.name, em.pid, em.port, str(em.log_path), _start_time(em.pid)))
            if em._popen is not None:
                stack.children[em.pid] = em._popen
        for job in jobs:
            job.result()  # re-raise the first failure now that both are recorded
    _wait_log(tasks, "listening on", 30.0)


def queue_retry_config(lease_ttl_s: float) -> dict[str, Any]:
    """The task queue's retries: quick (0.1 s doubling up to 2 s) and kept up for twice the
    lease plus a minute, so that a delivery answered 409 by a dead runner's lease is still
    retried after that lease ran out (tests/infra checks this against the lease, as for infra/)."""
    return {"max_attempts": -1, "min_backoff": {"nanos": 100_000_000}, "max_backoff": {"seconds": 2},
            "max_doublings": 4, "max_retry_duration": {"seconds": int(2 * lease_ttl_s + 60)}}


def _wire(stack: Stack, topic: str, trigger_topics: tuple[str, ...], retry: dict[str, Any]) -> None:
    """The events topic and trigger topics, each pushed to the events function (the topic path in
    the push URL tells the function which topic a message came from), and the task queue."""
    os.environ.update({k: stack.env[k] for k in ("PUBSUB_EMULATOR_HOST",)})
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient
    from workflow_executor.adapters.cloud_tasks import tasks_client

    publisher, subscriber = PublisherClient(), SubscriberClient()
    for t in (topic, *(f"projects/{stack.project}/topics/{name}" for name in trigger_topics)):
        publisher.create_topic(name=t)
        subscriber.create_subscription(request={
            "name": t.replace("/topics/", "/subscriptions/") + "-push", "topic": t,
            "push_config": {"push_endpoint": stack.urls["events"] + t}, "enable_message_ordering": True,
            "ack_deadline_seconds": 60})
    subscriber.close()
    tasks = tasks_client(stack.env["WFX_TASKS_EMULATOR_HOST"])
    queue = stack.env["WFX_TASKS_QUEUE"]
    tasks.create_queue(parent=queue.rsplit("/queues/", 1)[0], queue={"name": queue, "retry_config": retry})
    tasks.transport.close()


def _wait_http(p: Proc, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not _alive(p):
            raise EmulatorError(f"{p.name} exited while starting; see {p.log}")
        try:
            with _HTTP.open(f"http://127.0.0.1:{p.port}/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise EmulatorError(f"{p.name} did not answer on port {p.port} within {timeout} s; see {p.log}")


def _wait_log(p: Proc, marker: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while marker not in Path(p.log).read_text(errors="replace"):
        if not _alive(p) or time.monotonic() > end:
            raise EmulatorError(f"{p.name} did not start; see {p.log}")
        time.sleep(0.05)


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat[stat.rfind(")") + 2:].split()[19]


def _alive(p: Proc) -> bool:
    """True while the group's leader is still the process we started, or the group has members."""
    if p.started and _start_time(p.pid) not in ("", p.started):
        return False  # the pid was recycled: not ours
    try:
        os.killpg(p.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _wait_gone(p: Proc, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while _alive(p) and _has_live_member(p.pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(p.pid, os.WNOHANG)  # reap the leader when it is our child
    return True


def _has_live_member(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def stop_group(p: Proc, timeout: float = 10.0) -> None:
    """SIGTERM the group, then SIGKILL it if it outlives ``timeout``."""
    if not _alive(p):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGTERM)
    if not _wait_gone(p, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        _wait_gone(p, timeout)


def _start_cloud_run(stack: Stack, port: int, state: Path, extra_env: dict[str, str], profiles: Any) -> None:
    """The Cloud Run emulator and the isolated-mode jobs on it (one per execution profile),
    defined as infra/ does (emulators/cloud_run/wfx.py): a job gets the functions' settings and
    the operator's PYTHONPATH and extra environment, never the functions' secrets."""
    from workflow_executor.adapters.cloud_run import run_clients

    from emulators.cloud_run import wfx

    argv = [sys.executable, "-m", "emulators.cloud_run", "--host", "127.0.0.1", "--port", str(port),
            "--kill-grace", "2", "--log-dir", str(state / "jobs")]
    run = stack.spawn("cloud_run", argv, {**os.environ, "PYTHONPATH": str(ROOT)}, port, state / "cloud_run.log")
    stack.procs.append(run)
    _wait_log(run, "listening on", 30.0)
    jobs, _ = run_clients(stack.env["WFX_RUN_EMULATOR_HOST"])
    job = stack.env["WFX_RUN_JOB"]
    job_env = wfx.job_env(stack.env, extra_env)
    wfx.create_job(jobs, job.split("/jobs/")[0], job_env)
    wfx.create_profile_jobs(jobs, job.split("/jobs/")[0], job_env, profiles)
    jobs.transport.close()
