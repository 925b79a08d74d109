"""`lethe demo`: a synthetic ARC day on the embedded default. Never imports bench/."""
