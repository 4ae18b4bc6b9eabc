"""Models API: the registry of models that the inference router serves."""
