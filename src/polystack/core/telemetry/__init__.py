"""Observability: OpenTelemetry traces (tracing.py), Prometheus metrics (metrics.py) and the inference hook
that feeds both (hook.py). Everything here costs one check per call when it is off."""
