"""Record/replay of provider HTTP traffic for fast, deterministic tests."""
