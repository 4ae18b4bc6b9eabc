"""Remote providers of the vector-io API."""
