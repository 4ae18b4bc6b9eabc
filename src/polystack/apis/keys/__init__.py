"""The virtual keys admin API (/v1/keys): create, list, get, rotate, revoke and usage, admins only."""
