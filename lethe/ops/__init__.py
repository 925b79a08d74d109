"""Configuration, wiring, CLI, deployment and benchmarks."""
