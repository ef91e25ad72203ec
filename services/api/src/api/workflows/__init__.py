"""Workflows: what the API starts, tracks and reports."""
