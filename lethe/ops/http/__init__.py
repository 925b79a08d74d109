"""`lethe serve`: the HTTP API over the same use cases as the CLI."""
