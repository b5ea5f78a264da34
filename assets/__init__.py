"""The Dagster layer: wires schemas, spark_jobs, ledgers, training and serving; computes nothing."""
