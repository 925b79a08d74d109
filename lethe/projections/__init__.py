"""Read models and process managers fed by the event store."""
