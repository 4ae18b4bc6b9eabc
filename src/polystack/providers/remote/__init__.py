"""Remote providers."""
