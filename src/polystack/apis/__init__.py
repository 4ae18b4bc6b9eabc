"""The API contracts: one package per API with its Protocol, pydantic types and FastAPI routes.

Nothing under `apis/` imports from `core/` or `providers/`.
"""
