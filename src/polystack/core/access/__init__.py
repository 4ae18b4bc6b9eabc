"""Who the caller is and what they may do: authentication, the access policy, and its enforcement.

The seam, for a newcomer:

- `core/request_context.py` holds one `RequestContext` per request (principal, provider data, request
  id, trace ids). `core/server/middleware.py` sets it for HTTP and the in-process library client alike
  (both go through the same ASGI app). Calls the server makes itself run under `as_system()`.
- `config.py` types `server.auth` (an authenticator's `provider_config` and the `access_policy` rules);
  `api_keys.py` is the static-key authenticator; `authn/` holds the others, one module per provider type
  (JWKS and introspection for `oauth2_token`, GitHub, a custom endpoint) and `build_authenticator`;
  `conditions.py` parses the rule language.
- `policy.py` decides (principal, action, resource): `AccessPolicy.allows(action, resource, user)`.
- `resources.py` is what the policy judges: a type, an identifier and an owner.
- Enforcement lives in the stores, not their callers: the SQL store checks every operation on a table
  declared `owned=True` (core/storage/sql), and the resource registry filters models and aliases. A new
  store gets access control by declaring its table owned; it never calls the policy itself.
"""
