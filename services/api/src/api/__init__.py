"""The HTTP API: accepts work, dispatches it by task name, serves workflow status."""
