"""The composition root: the adapters chosen by configuration, assembled once per execution
environment into one container per function.

``builders`` makes each adapter (and each shared service) from ``Settings``, one function
per adapter; ``containers`` assembles them for the chat function, the memory API, the
memory worker and the session sweeper, each holding only what its function uses.
"""

from .containers import (
    Container,
    MemoryApiContainer,
    SweeperContainer,
    WorkerContainer,
    build_container,
    build_memory_api_container,
    build_sweeper,
    build_worker,
)

__all__ = [
    "Container",
    "MemoryApiContainer",
    "SweeperContainer",
    "WorkerContainer",
    "build_container",
    "build_memory_api_container",
    "build_sweeper",
    "build_worker",
]
