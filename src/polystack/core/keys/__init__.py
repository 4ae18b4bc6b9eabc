"""Virtual API keys: created, rotated and revoked by an admin over /v1/keys, checked by the `api_keys` provider.

- `config.py`: `server.keys` (who is an admin, how long a replica may trust a key it looked up).
- `secrets.py`: the token format and its salted digest.
- `store.py`: the keys and their usage in SQL (`storage.stores.keys`), with the short lookup cache.
- `service.py`: the admin API (keys, usage, audit) over the stores, admins only.
- `serving.py`: builds the keys store, the audit log and the quota enforcer when the stack starts.
"""
