"""Turning uploaded files into text and token-sized chunks for vector-store ingestion."""
