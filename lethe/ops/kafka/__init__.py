"""Kafka adapters: settings, producers, topics, relay, broker. Never imports cli/."""
