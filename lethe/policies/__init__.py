"""Retention policies as versioned data files."""
