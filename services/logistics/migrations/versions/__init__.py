"""The revisions of logistics's schema, oldest first (file names keep the order)."""
