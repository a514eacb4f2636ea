"""Drawings people send back with their label: kept and reviewed (store), one post's checks (intake)."""
