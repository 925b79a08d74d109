"""Outside world: settings and logging here; one room per role (cli/, kafka/, ...)."""
