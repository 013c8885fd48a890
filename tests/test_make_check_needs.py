"""`make check` on a fresh machine (issue 20): .ci/needs installs the Debian packages the tests
need when run as root, or stops at once naming the one command; `make check` runs it first."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash") or "/bin/bash"


def _machine(tmp: Path, uid: int, *present: str) -> Path:
    """A PATH holding python3, the tools ``present``, and a fake ``id`` (uid) and ``apt-get``
    (records its arguments; installs nothing)."""
    bin_ = tmp / "bin"
    bin_.mkdir()
    (bin_ / "python3").symlink_to(os.path.realpath(sys.executable))  # the interpreter, not a shim
    for tool in ("bash", *present):
        (bin_ / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    (bin_ / "id").write_text(f"#!{BASH}\necho {uid}\n")
    (bin_ / "apt-get").write_text(f"#!{BASH}\necho \"$@\" >> {tmp}/apt.log\n")
    for f in ("id", "apt-get"):
        (bin_ / f).chmod(0o755)
    return bin_


def _needs(bin_: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BASH, str(ROOT / ".ci" / "needs")], env={"PATH": str(bin_), "HOME": os.environ["HOME"]},
                          capture_output=True, text=True, timeout=60)


def test_as_root_the_missing_browser_and_driver_are_installed_from_debian(tmp_path: Path) -> None:
    out = _needs(_machine(tmp_path, 0, "java", "terraform", "gcloud"))
    assert out.returncode == 0, out.stderr
    assert "install -y -qq chromium chromium-driver" in (tmp_path / "apt.log").read_text()


def test_without_root_it_stops_at_once_with_the_one_command_to_run(tmp_path: Path) -> None:
    out = _needs(_machine(tmp_path, 1000, "java", "terraform", "gcloud", "chromium"))
    assert out.returncode == 1
    assert "sudo apt-get install -y chromium-driver" in out.stderr
    assert not (tmp_path / "apt.log").exists()


def test_a_machine_with_everything_passes_quietly(tmp_path: Path) -> None:
    out = _needs(_machine(tmp_path, 1000, "java", "terraform", "gcloud", "chromium", "chromedriver"))
    assert (out.returncode, out.stderr) == (0, "")


def test_make_check_runs_the_needs_check_before_lint_and_tests() -> None:
    # as a user types it: not the flags of a `make check` this test may itself be running under
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    out = subprocess.run(["make", "--no-print-directory", "-n", "check"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    lines = out.stdout.splitlines()
    assert lines[0].endswith(".ci/needs"), lines
