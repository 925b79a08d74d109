"""The pure domain: retention rules, calendar arithmetic, aggregates, use cases."""
