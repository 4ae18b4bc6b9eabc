"""The Agents API (Llama Stack's /v1alpha/agents): agents, sessions and turns run on the Responses engine."""
