"""The stored state every worker and host shares: the two databases (db) and their numbered schema
(migrations), runs and events (store), model versions' rows and files (versions)."""
