"""`lethe bench`: throughput, latency and memory, beside the limits they stand on."""
