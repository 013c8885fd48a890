"""``filesystem`` on ``s3://`` objects through boto3, against moto's S3 in server mode (real
HTTP on 127.0.0.1); only buckets and prefixes on ``WFX_S3_ALLOW`` are reachable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from tools_support import executor
from wfx_mcp_support import free_port
from workflow_executor.agents.toolbox import ToolCall
from workflow_executor.agents.tools.base import ToolEnv
from workflow_executor.agents.tools.registry import ToolRegistry
from workflow_executor.errors import NotFound, PathNotAllowed
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings_tools import ToolSettings
from workflow_executor.spec import load_text

DOC = load_text("""
tools: [{id: files, type: filesystem}]
workflows: {w: {steps: [{id: s, tool: files, params: {method: list_directory}}]}}
""")


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    client = boto3.client("s3", endpoint_url=s3_url)
    for bucket in ("reports", "private"):
        client.create_bucket(Bucket=bucket)
    client.put_object(Bucket="reports", Key="2024/q1.csv", Body=b"region,total\nnorth,10\nsouth,20\n")
    client.put_object(Bucket="reports", Key="2024/notes/a.md", Body=b"north is up\n")
    client.put_object(Bucket="reports", Key="secret/keys.txt", Body=b"nope")
    client.put_object(Bucket="private", Key="x.txt", Body=b"nope")
    return client


def _call(s3_url: str, op: str, **args: Any) -> Any:
    reg = ToolRegistry.from_env(ToolEnv(ToolSettings(s3_allow=("reports/2024",), s3_endpoint_url=s3_url)))
    return reg.run_tool("files", {"method": op, **args}, DOC, ToolCall("e", "s"))


def test_objects_are_listed_read_written_and_searched(s3: Any, s3_url: str) -> None:
    listing = _call(s3_url, "list_directory", path="s3://reports/2024")
    assert {"name": "q1.csv", "type": "file", "size": 31} in listing["entries"]
    assert {"name": "notes", "type": "directory"} in listing["entries"]
    read = _call(s3_url, "read_file", path="s3://reports/2024/q1.csv")
    assert read["content"].startswith("region,total") and read["truncated"] is False
    part = _call(s3_url, "read_file", path="s3://reports/2024/q1.csv", offset=13, length=5)
    assert (part["content"], part["truncated"], part["next_offset"]) == ("north", True, 18)
    _call(s3_url, "write_file", path="s3://reports/2024/out/summary.txt", content="total 30")
    _call(s3_url, "write_file", path="s3://reports/2024/out/summary.txt", content="!", append=True)
    body = s3.get_object(Bucket="reports", Key="2024/out/summary.txt")["Body"].read()
    assert body == b"total 30!"
    found = _call(s3_url, "search_files", path="s3://reports/2024", text="north")["matches"]
    assert {m["path"] for m in found} == {"s3://reports/2024/q1.csv", "s3://reports/2024/notes/a.md"}
    names = _call(s3_url, "search_files", path="s3://reports/2024", pattern="*.md")["matches"]
    assert names == [{"path": "s3://reports/2024/notes/a.md"}]
    with pytest.raises(NotFound):
        _call(s3_url, "read_file", path="s3://reports/2024/missing.csv")


@pytest.mark.parametrize("path", ["s3://private/x.txt", "s3://reports/secret/keys.txt",
                                  "s3://reports/2024/../secret/keys.txt", "s3://reports/2024x/q1.csv"])
def test_buckets_and_prefixes_off_the_allow_list_are_refused(s3: Any, s3_url: str, path: str) -> None:
    with pytest.raises(PathNotAllowed) as err:
        _call(s3_url, "read_file", path=path)
    assert err.value.code == "path_not_allowed"
    assert "testing" not in str(err.value.to_dict())


def test_an_s3_tool_step_runs_in_a_workflow(s3: Any, s3_url: str, tmp_path: Path) -> None:
    wf = """
tools: [{id: files, type: filesystem}]
workflows:
  w:
    steps:
      - {id: read, tool: files, params: {method: read_file, path: "s3://reports/2024/q1.csv"}}
      - {id: save, tool: files, params: {method: write_file, path: "s3://reports/2024/copy.csv",
                                         content: "${read.output.content}"}, output: {to: user}}
"""
    with executor(tmp_path, {"WFX_S3_ALLOW": "reports/2024", "WFX_S3_ENDPOINT_URL": s3_url}) as wfx:
        wfx.register(wf)
        done = wfx.run("w")
    assert done.status == ExecutionStatus.COMPLETED, done.error
    assert s3.get_object(Bucket="reports", Key="2024/copy.csv")["Body"].read().startswith(b"region,total")
