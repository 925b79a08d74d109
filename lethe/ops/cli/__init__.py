"""The `lethe` command: parse, call a use case, render. Not imported by other rooms."""
