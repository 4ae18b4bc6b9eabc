"""The `polystack` command line."""
