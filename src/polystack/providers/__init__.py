"""Providers: inline (in-process) and remote (adapting an external service) implementations of APIs."""
