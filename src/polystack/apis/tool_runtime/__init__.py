"""Tool runtime API: listing and running the tools of the registered tool groups (/v1/tool-runtime)."""
