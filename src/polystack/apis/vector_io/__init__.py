"""Vector IO API: OpenAI vector stores (files, batches, search) and Llama Stack's vector-io insert/query."""
