"""The `neuralab` command line."""
