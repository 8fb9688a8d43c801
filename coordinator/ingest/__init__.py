"""Ingest: decode, sequence, dedupe, dead-letter and commit the fleet's MQTT messages."""

from coordinator.ingest.pipeline import IngestPipeline, decode_all
from coordinator.ingest.records import BatchOutcome, RawMessage, WriteBatch
from coordinator.ingest.stats import IngestStats
from coordinator.ingest.writer import IngestWriter

__all__ = [
    "BatchOutcome",
    "IngestPipeline",
    "IngestStats",
    "IngestWriter",
    "RawMessage",
    "WriteBatch",
    "decode_all",
]
