"""Remote providers of the files API."""
