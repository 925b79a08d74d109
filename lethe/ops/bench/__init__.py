"""`lethe bench`: throughput, latency, memory beside their limits. Imported by cli/."""
