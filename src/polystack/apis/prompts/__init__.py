"""The prompts API: Llama Stack's versioned prompt templates with declared `{{ variables }}`."""
