"""Kafka in: decode, route, record offsets."""
