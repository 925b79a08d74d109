"""Outside world: settings and logging here; one room per role (cli/, kafka/, ...)."""

from lethe.ops.logging import guard_unconfigured

# Every process Lethe runs imports this package: its log lines pass the guard
# from the first one, whether or not the entry point configures logging.
guard_unconfigured()
