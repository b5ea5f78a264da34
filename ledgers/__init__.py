"""The lake: table paths, the Delta write helper, ledgers and the DuckDB query layer."""
