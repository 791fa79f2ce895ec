"""Models in the loop: pure statistics here (anchoring, acceptance), services and backends beside them."""
