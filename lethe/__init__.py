"""Lethe: event-sourced retention and erasure for alarm receiving centres."""
