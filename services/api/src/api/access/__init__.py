"""Who may call the API: keys, per-key rate limits, and idempotent submissions."""
