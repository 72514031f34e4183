"""Snapshots of the engine to a data directory, and restoring them at start.

Layout: ``<data_dir>/pipelines.json`` and one directory per index with ``meta.json`` (settings,
mappings, counters) and ``docs.jsonl`` (one line per document: id, version, routing, source).
Each snapshot is written to a temporary directory and swapped in, so a crash mid-write keeps the
previous snapshot.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from .engine import Engine
from .index import Index
from .pipelines import parse_pipeline

log = logging.getLogger("infra.opensearch_emulator")
_FORMAT = 1


def save(engine: Engine, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / ".snapshot.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    with engine.lock:
        (tmp / "pipelines.json").write_text(json.dumps({k: p.body for k, p in engine.pipelines.items()}))
        for name, idx in engine.indices.items():
            _save_index(idx, tmp / name)
    old = data_dir / ".snapshot.old"
    if old.exists():
        shutil.rmtree(old)
    current = data_dir / "snapshot"
    if current.exists():
        current.rename(old)
    tmp.rename(current)
    if old.exists():
        shutil.rmtree(old)


def _save_index(idx: Index, target: Path) -> None:
    target.mkdir()
    meta = {
        "format": _FORMAT,
        "name": idx.name,
        "uuid": idx.uuid,
        "settings": idx.settings,
        "mappings": idx.mapping.to_json(),
        "seq_no": idx.seq_no,
        "deleted_versions": idx.deleted_versions,
    }
    (target / "meta.json").write_text(json.dumps(meta))
    with (target / "docs.jsonl").open("w", encoding="utf-8") as fh:
        for doc_id, source, version, routing in idx.export_documents():
            fh.write(json.dumps([doc_id, version, routing, source], ensure_ascii=False))
            fh.write("\n")


def load(engine: Engine, data_dir: Path) -> int:
    """Restore a snapshot if there is one; returns the number of documents loaded."""
    current = data_dir / "snapshot"
    if not current.exists():
        old = data_dir / ".snapshot.old"
        if not old.exists():
            return 0
        current = old
    total = 0
    pipelines_file = current / "pipelines.json"
    if pipelines_file.exists():
        for pid, body in json.loads(pipelines_file.read_text()).items():
            engine.pipelines[pid] = parse_pipeline(pid, body)
    for meta_file in sorted(current.glob("*/meta.json")):
        meta: dict[str, Any] = json.loads(meta_file.read_text())
        settings = {k: v for k, v in meta["settings"].items() if k not in ("index.uuid", "index.provided_name")}
        idx = Index(meta["name"], settings, meta["mappings"])
        idx.uuid = meta["uuid"]
        idx.settings["index.uuid"] = idx.uuid
        with (meta_file.parent / "docs.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                doc_id, version, routing, source = json.loads(line)
                idx.index_document(doc_id, source, routing=routing)
                idx.ord_version[idx.id_to_ord[doc_id]] = version
                total += 1
        idx.seq_no = max(idx.seq_no, int(meta.get("seq_no", -1)))
        idx.deleted_versions = {k: int(v) for k, v in meta.get("deleted_versions", {}).items()}
        idx.refresh()
        idx.changes = 0
        engine.indices[idx.name] = idx
    log.info("restored %d documents from %s", total, current)
    return total
