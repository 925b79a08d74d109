"""The console: server-rendered pages over the same use cases as the API."""
