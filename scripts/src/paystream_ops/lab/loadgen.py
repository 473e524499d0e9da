"""The lab's traffic generator process: `python -m paystream_ops.lab.loadgen CONFIG_JSON`.

The client itself is `paystream_loadgen.engine`, the code staging's synthetic-load Job runs
(docs/synthetic-load.md); this module keeps the lab's names for it.
"""

from __future__ import annotations

from paystream_loadgen.engine import (
    ANSWER_CLASSES,
    CALLER_FIELDS,
    CLASSES,
    NETWORKS,
    TARGETS,
    TEST_CARDS,
    caller_index,
    counter_index,
    main,
)

__all__ = [
    "ANSWER_CLASSES",
    "CALLER_FIELDS",
    "CLASSES",
    "NETWORKS",
    "TARGETS",
    "TEST_CARDS",
    "caller_index",
    "counter_index",
    "main",
]

if __name__ == "__main__":
    main()
