"""The chat turn: prompt assembly, the streaming service and the SSE wire format."""
