"""An index created before the ``when`` field existed gets it from ``ensure_index``, so dated
search works on it for documents written from then on (OpenSearch emulator via opensearch-py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from companion.adapters.opensearch_index import OpenSearchMemoryIndex, index_body
from companion.memory.documents import MemoryDoc, spoken_dates
from opensearchpy import OpenSearch


async def test_an_older_index_gains_the_when_field(opensearch_url: str) -> None:
    name = f"ltm-old-{uuid.uuid4().hex[:8]}"
    old = index_body(4)
    del old["mappings"]["properties"]["when"]
    sync = OpenSearch(hosts=[opensearch_url])
    sync.indices.create(index=name, body=old)
    index = OpenSearchMemoryIndex(opensearch_url, name, dim=4)
    try:
        await index.ensure_index()
        props = sync.indices.get_mapping(index=name)[name]["mappings"]["properties"]
        assert props["when"] == {"type": "keyword"}
        said = datetime(2026, 12, 5, 10, tzinfo=UTC).timestamp()
        doc = MemoryDoc(memory_id="t1", user_id="u", character_id="c", memory_type="turn", timestamp=said,
                        content="Yesterday I went to the pottery class.", seq=1, session_id="s",
                        embedding=[0.5, 0.5, 0.5, 0.5], when=spoken_dates("Yesterday I went", said))
        await index.bulk_upsert([doc], refresh=True)
        hits = await index.date_search("u", "c", ["2026-12-04"], [], "pottery", k=5)
        assert [h.memory_id for h in hits] == ["t1"]
        assert await index.date_search("u", "c", ["2026-12-03"], [], "pottery", k=5) == []
    finally:
        await index.aclose()
        sync.indices.delete(index=name)
