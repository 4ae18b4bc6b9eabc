"""Tool groups API: the registry of tool groups (Llama Stack's /v1/toolgroups and /v1/tools)."""
