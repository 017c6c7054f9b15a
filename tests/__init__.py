"""Tests of the action; shared helpers (such as the GitHub test server) are importable as tests.*."""
