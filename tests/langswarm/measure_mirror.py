"""How many of LangSwarm's own workflow documents validate here: every YAML file with a top-level
``workflows`` key in the LangSwarm mirror (examples, templates, presets, test configs, MCP tool
folders: a folder of agents.yaml + workflows.yaml counts once), and with --docs every ```yaml
block of its Markdown docs that holds ``workflows:``. Not a test: a measurement for the issue.

    PYTHONPATH=$PWD/shared .venv/bin/python tests/langswarm/measure_mirror.py [--docs] [--list]

Run it with another checkout's library first on the path to measure that one (before/after).
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import yaml

MIRROR = Path("/work/.mirror/aekdahl+LangSwarm/repo")
# the newest commit, and the last one that still held examples/, templates/ and the archived docs
REFS = ("HEAD", "50f6388cdb529ebfdef0ae70e97eb85608b02852")
FOLDER_FILES = ("agents.yaml", "tools.yaml", "workflows.yaml")
# what an operator who serves every LangSwarm tool type sets (--operator)
OPERATOR = {"WFX_HTTP_ALLOW": "*.com,localhost", "WFX_MCP_ALLOW": "http://localhost,https://localhost",
            "WFX_GITHUB_REPOS": "octocat/*,aekdahl/*", "WFX_BQ_DATASETS": "vector_search",
            "WFX_MQ_TOPICS": "tasks,events,alerts",
            "WFX_MQ_SUBSCRIPTIONS": "tasks,events"}


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(MIRROR), *args], capture_output=True, text=True, check=True).stdout


def collect(out: Path, docs: bool) -> list[Path]:
    """Write each document (newest version of each path) under ``out``; returns what to validate."""
    seen: set[str] = set()
    for ref in REFS:
        for name in git("ls-tree", "-r", "--name-only", ref).splitlines():
            if name in seen or not (name.endswith((".yaml", ".yml")) or (docs and name.endswith((".md", ".mdx")))):
                continue
            seen.add(name)
            try:
                text = git("show", f"{ref}:{name}")
            except subprocess.CalledProcessError:
                continue
            if name.endswith((".md", ".mdx")):
                for i, block in enumerate(re.findall(r"```ya?ml\n(.*?)```", text, re.S)):
                    if re.search(r"^workflows:", block, re.M):
                        dest = out / "docs" / f"{name.replace('/', '__')}__{i}.yaml"
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        dest.write_text(block)
                continue
            dest = out / "files" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text)
    targets: list[Path] = []
    for p in sorted((out / "files").rglob("*.y*ml")) + sorted((out / "docs").rglob("*.yaml")):
        if p.name in FOLDER_FILES and (p.parent / "workflows.yaml").exists():
            if p.name == "workflows.yaml":
                targets.append(p.parent)
            continue
        try:
            data = yaml.safe_load(p.read_text())
        except yaml.YAMLError:
            data = None
        if isinstance(data, dict) and "workflows" in data:
            targets.append(p)
    return targets


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", action="store_true", help="also the ```yaml blocks of the Markdown docs")
    ap.add_argument("--list", action="store_true", help="print each document that does not validate")
    ap.add_argument("--operator", action="store_true",
                    help="as a server whose operator opened every tool (roots, hosts, repositories, datasets, ...)")
    a = ap.parse_args()
    from workflow_executor.api import Executor
    from workflow_executor.errors import WfxError
    from workflow_executor.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        targets = collect(root, a.docs)
        env = {"WFX_HOME": str(root / "home"), "WFX_FILES_ROOT": str(root / "files"), "OPENAI_API_KEY": "x",
               "WFX_MODEL": "m"}
        if a.operator:
            env |= OPERATOR | {"WFX_FS_ROOTS": f"files={root / 'files'}",
                               "WFX_SQL_DATABASES": f"main=sqlite:///{root / 'main.db'}"}
        s = replace(Settings.from_env(env), store="memory")
        by_kind: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
        with Executor.local(settings=s, memory=True) as ex:
            for t in targets:
                rel = str(t.relative_to(root))
                kind = "docs" if rel.startswith("docs/") else ("tool folders" if "/tools/mcp/" in rel
                                                               else "examples/templates/configs")
                try:
                    ex.check(t)
                    ok = True
                except WfxError as exc:
                    ok = False
                    issues = getattr(exc, "issues", None) or []
                    if issues and all("which this server does not know" in i.message for i in issues):
                        by_kind[kind][2] += 1
                    if a.list:
                        first = getattr(exc, "issues", None)
                        why = f"{first[0].path}: {first[0].message}" if first else exc.message
                        print(f"  invalid {rel}: {why}"[:240])
                by_kind[kind][0] += ok
                by_kind[kind][1] += 1
    total = [sum(v[i] for v in by_kind.values()) for i in range(3)]
    for kind, (ok, n, unknown) in sorted(by_kind.items()):
        print(f"{kind}: {ok} of {n} validate ({unknown} more refused only for a tool type not served here)")
    print(f"all: {total[0]} of {total[1]} validate ({total[2]} more refused only for a tool type not served here)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
