"""Bundled sample data (fictional) and the script that builds it."""
