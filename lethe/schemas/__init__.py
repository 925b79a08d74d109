"""Avro schemas: the wire contract (data, read by consumers, ops and tests)."""
