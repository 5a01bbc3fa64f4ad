"""Getting telemetry out: provider set-up, mlotel's own aggregation, the OTLP JSON files."""
