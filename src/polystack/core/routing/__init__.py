"""Routing tables (resource -> owning provider) and routers (dispatch of API calls to that owner)."""
