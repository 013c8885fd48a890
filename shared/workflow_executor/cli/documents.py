"""``wfx validate``, ``register``, ``list`` and ``graph``: workflow documents, checked, stored
by name and drawn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import SpecError, WfxError
from .common import EXIT_FAILED, EXIT_OK, UsageError, executor, fix_tail, print_json, say_empty


def documents(given: str) -> list[Path]:
    """The documents a path names, as ``validate`` and ``register`` read it: a file or a
    LangSwarm config folder is one; another folder gives each of its *.yaml/*.yml files."""
    from ..spec.folder import is_config_folder

    path = Path(given)
    if not path.is_dir() or is_config_folder(path):
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise UsageError(f"{path} holds no workflow files (*.yaml). Fix: name a file or a folder of them")
    return files


def cmd_validate(a: argparse.Namespace) -> int:
    ex = executor(a)
    results: list[dict[str, Any]] = []
    bad = False
    for f in [str(d) for given in a.files for d in documents(given)]:
        try:
            _, report = ex.check(Path(f))
            results.append({"file": f, "valid": True, "errors": [],
                            "warnings": [w.to_dict() for w in report.warnings]})
        except SpecError as err:
            bad = True
            results.append({"file": f, "valid": False, "errors": [i.to_dict() for i in err.issues],
                            "warnings": [w.to_dict() for w in err.warnings]})
        except WfxError as err:
            bad = True
            results.append({"file": f, "valid": False, "errors": [err.to_dict()], "warnings": []})
    if a.json:
        print_json(results)
    else:
        for r in results:
            print(f"{r['file']}: {'valid' if r['valid'] else 'INVALID'}")
            for e in r["errors"]:
                print(f"  error   {e.get('path', '')}: {e['message']}{fix_tail(e.get('fix'))}")
            for w in r["warnings"]:
                print(f"  warning {w.get('path', '')}: {w['message']}{fix_tail(w.get('fix'))}")
    return EXIT_FAILED if bad else EXIT_OK


def cmd_register(a: argparse.Namespace) -> int:
    """Store the workflows of files or folders by name (a LangSwarm config folder is one
    document; another folder gives each of its *.yaml files)."""
    ex = executor(a)
    rows = []
    for given in a.paths:
        for f in documents(given):
            rows += [{"name": w.name, "version": w.version, "file": str(f)} for w in ex.register(f)]
    if a.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"registered {r['name']}  v{r['version']}  from {r['file']}")
    return EXIT_OK


def cmd_graph(a: argparse.Namespace) -> int:
    """Draw a workflow of a file as SVG (default) or Mermaid (``-o x.mmd``); stdout without -o."""
    from ..ui.pictures import picture, write_png

    ex = executor()
    doc, report = ex.check(Path(a.file))
    out = a.output or ""
    fmt = "mmd" if out.endswith(".mmd") or a.format == "mmd" else "png" if out.endswith(".png") else "svg"
    text = picture(doc, report.warnings, a.workflow, "mmd" if fmt == "mmd" else "svg")
    if fmt == "png":
        write_png(text, Path(out))
        print(f"{out}: png of workflow '{doc.workflow(a.workflow).id}'")
    elif a.output:
        Path(a.output).write_text(text, encoding="utf-8")
        print(f"{a.output}: {fmt} of workflow '{doc.workflow(a.workflow).id}'")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_list(a: argparse.Namespace) -> int:
    ex = executor(a)
    for path in a.register or []:
        ex.register(Path(path))
    rows = [{"name": w.name, "version": w.version, "hash": w.hash[:12], "description": w.description}
            for w in ex.workflows()]
    if a.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['name']}  v{r['version']}  {r['hash']}  {r['description'] or ''}".rstrip())
        if not rows:
            say_empty("no workflows registered (register some with `wfx register FILE|DIR`)")
    return EXIT_OK
