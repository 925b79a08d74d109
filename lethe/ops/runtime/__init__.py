"""Process wiring: store, app, consumers, projector, lease. Imports kafka/, not cli/."""
