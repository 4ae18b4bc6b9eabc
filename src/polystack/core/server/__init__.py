"""The HTTP server: the ASGI app built from the API routers, its middleware and error mapping."""
