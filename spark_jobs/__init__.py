"""Pure PySpark transformations and the Spark session factory. No Dagster in here."""
