"""Remote providers of the inference API."""
