"""Drawings people send back with their label: read (reader), kept and reviewed (store), one post's
checks (intake), the accepted ones as arrays and their export file (accepted)."""
