"""The OpenAI-compatible stream's line reader: any line ending, lines split across network reads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from companion.llm.openai_compat import _sse_data, _sse_lines


class Reads(httpx.AsyncByteStream):
    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


async def _lines(*chunks: bytes) -> list[bytes]:
    return [line async for line in _sse_lines(httpx.Response(200, stream=Reads(*chunks)))]


async def test_lines_end_with_lf_crlf_or_cr() -> None:
    assert await _lines(b"data: 1\n\ndata: 2\r\n\r\ndata: 3\r\rdata: 4") == [
        b"data: 1", b"", b"data: 2", b"", b"data: 3", b"", b"data: 4"]


async def test_a_line_split_across_reads_is_read_whole() -> None:
    lines = await _lines(b'data: {"choices": [{"del', b'ta": {"content": "\xe4\xbd', b'\xa0"}}]}\r', b"\n\n")
    assert [_sse_data(line) for line in lines if line] == ['{"choices": [{"delta": {"content": "你"}}]}'.encode()]


def test_only_data_lines_carry_a_payload() -> None:
    assert [_sse_data(x) for x in (b"data: [DONE]", b": keep-alive", b"event: x", b"data:", b"")] == [
        b"[DONE]", None, None, None, None]
