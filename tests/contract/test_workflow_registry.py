"""WorkflowRegistry contract, run over every adapter in ``conftest.REGISTRY_FACTORIES``."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from workflow_executor.adapters.sqlite_registry import SqliteWorkflowRegistry
from workflow_executor.models import StoredWorkflow
from workflow_executor.ports import WorkflowRegistry


def fresh_name() -> str:
    return f"wf-{uuid.uuid4().hex}"


def doc(**extra: Any) -> dict[str, Any]:
    return {"name": "demo", "steps": [{"id": "a", "run": "echo", "with": {"x": [1, None, True]}}], **extra}


def canonical_hash(document: dict[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_adapter_implements_the_port(registry: WorkflowRegistry):
    assert isinstance(registry, WorkflowRegistry)


def test_put_stores_version_one_with_the_content_hash(registry: WorkflowRegistry):
    name = fresh_name()
    stored = registry.put(name, doc(), source="demo.yaml", description="a demo")
    assert (stored.name, stored.version, stored.hash) == (name, 1, canonical_hash(doc()))
    assert (stored.document, stored.source, stored.description) == (doc(), "demo.yaml", "a demo")
    assert registry.get(name) == stored


def test_putting_the_same_content_again_returns_the_existing_version(registry: WorkflowRegistry):
    name = fresh_name()
    first = registry.put(name, doc(), description="first")
    reordered = dict(reversed(list(doc().items())))
    again = registry.put(name, reordered, description="ignored: same content")
    assert again == first
    assert registry.get(name) == first


def test_new_content_gets_the_next_version_and_old_versions_stay_reachable(registry: WorkflowRegistry):
    name = fresh_name()
    v1 = registry.put(name, doc())
    v2 = registry.put(name, doc(timeout_s=5))
    assert registry.get(name) == v2
    v1_again = registry.put(name, doc())
    assert (v1.version, v2.version, v1_again.version) == (1, 2, 1)
    assert registry.get(name, v1.hash) == v1
    assert registry.get(name, v2.hash) == v2


def test_registering_old_content_again_makes_that_version_what_the_name_means(registry: WorkflowRegistry):
    name = fresh_name()
    v1 = registry.put(name, doc())
    registry.put(name, doc(timeout_s=5))
    assert registry.put(name, doc()) == v1
    assert registry.get(name) == v1
    assert [w.hash for w in registry.list() if w.name == name] == [v1.hash]


def test_a_version_stored_without_latest_leaves_the_name_as_it_was(registry: WorkflowRegistry):
    name = fresh_name()
    v1 = registry.put(name, doc())
    variant = registry.put(name, doc(model="other"), latest=False)
    assert variant.version == 2
    assert registry.get(name) == v1
    assert registry.get(name, variant.hash) == variant
    assert [w.version for w in registry.list() if w.name == name] == [1]
    v3 = registry.put(name, doc(timeout_s=9))
    assert v3.version == 3 and registry.get(name) == v3


def test_a_name_with_only_unlisted_versions_is_not_registered(registry: WorkflowRegistry):
    name = fresh_name()
    variant = registry.put(name, doc(), latest=False)
    assert registry.get(name) is None
    assert registry.get(name, variant.hash) == variant
    assert name not in {w.name for w in registry.list()}
    assert registry.put(name, doc()) == variant
    assert registry.get(name) == variant


def test_get_returns_none_for_an_unknown_name_or_hash(registry: WorkflowRegistry):
    name = fresh_name()
    assert registry.get(name) is None
    registry.put(name, doc())
    assert registry.get(name, "0" * 64) is None
    assert registry.get(fresh_name(), canonical_hash(doc())) is None


def test_the_same_content_under_two_names_is_two_workflows(registry: WorkflowRegistry):
    a, b = fresh_name(), fresh_name()
    assert registry.put(a, doc()).version == registry.put(b, doc()).version == 1
    assert registry.get(a) != registry.get(b)


def test_list_returns_the_latest_version_of_each_name_sorted_by_name(registry: WorkflowRegistry):
    prefix = f"wf-{uuid.uuid4().hex}"
    names = [f"{prefix}-c", f"{prefix}-a", f"{prefix}-b"]
    for i, name in enumerate(names):
        for v in range(i + 1):
            registry.put(name, doc(v=v))
    mine = [w for w in registry.list() if w.name.startswith(prefix)]
    assert [(w.name, w.version) for w in mine] == [(f"{prefix}-a", 2), (f"{prefix}-b", 3), (f"{prefix}-c", 1)]
    assert all(w.document == doc(v=w.version - 1) for w in mine)


def test_stored_documents_never_alias_the_callers_objects(registry: WorkflowRegistry):
    name, document = fresh_name(), doc()
    stored = registry.put(name, document)
    document["steps"].append({"id": "b"})
    stored.document["steps"].clear()
    fetched = registry.get(name)
    assert fetched is not None
    fetched.document["name"] = "changed"
    assert registry.get(name) == registry.get(name, canonical_hash(doc()))
    again = registry.get(name)
    assert again is not None and again.document == doc()


def test_concurrent_puts_of_one_document_store_one_version(registry: WorkflowRegistry):
    name, barrier = fresh_name(), threading.Barrier(6)

    def put(i: int) -> StoredWorkflow:
        barrier.wait(timeout=10)
        return registry.put(name, doc())

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(put, range(6)))
    assert {(w.version, w.hash) for w in results} == {(1, canonical_hash(doc()))}


def test_sqlite_workflows_survive_reopening_the_file(tmp_path: Path):
    path, name = tmp_path / "reg.db", fresh_name()
    first = SqliteWorkflowRegistry(path)
    v2 = [first.put(name, doc(v=v)) for v in range(2)][-1]
    first.close()
    second = SqliteWorkflowRegistry(path)
    try:
        assert second.get(name) == v2
        assert second.put(name, doc(v=5)).version == 3
    finally:
        second.close()


SOURCE_TEXT = "# the report flow, as written\nworkflows:\n  demo:  # one step\n    - id: a\n"


def test_the_source_text_is_stored_with_its_version_and_kept_by_a_repeat_put(registry: WorkflowRegistry):
    name = fresh_name()
    stored = registry.put(name, doc(), source_text=SOURCE_TEXT)
    assert stored.source_text == SOURCE_TEXT
    assert registry.get(name) == stored
    assert registry.get(name, stored.hash) == stored
    assert next(w for w in registry.list() if w.name == name).source_text == SOURCE_TEXT
    # the same content again (say re-dumped without comments) keeps the text it was first stored with
    again = registry.put(name, doc(), source_text="workflows: {}\n")
    assert again.source_text == SOURCE_TEXT
    newer = registry.put(name, doc(timeout_s=5))
    assert (newer.source_text, registry.get(name, stored.hash).source_text) == (None, SOURCE_TEXT)


def test_a_version_put_without_text_has_none_and_source_still_names_the_file(registry: WorkflowRegistry):
    name = fresh_name()
    stored = registry.put(name, doc(), source="flows/demo.yaml")
    assert (stored.source, stored.source_text) == ("flows/demo.yaml", None)
    assert registry.get(name) == stored
