"""Ingest: decode, sequence, dedupe, dead-letter and commit the fleet's MQTT messages.

The batch writer lives in `coordinator.ingest.writer` (not re-exported here, so that the
store port can import the record types without a cycle).
"""

from coordinator.ingest.pipeline import IngestPipeline, decode_all
from coordinator.ingest.records import BatchOutcome, RawMessage, WriteBatch
from coordinator.ingest.stats import IngestStats

__all__ = [
    "BatchOutcome",
    "IngestPipeline",
    "IngestStats",
    "RawMessage",
    "WriteBatch",
    "decode_all",
]
