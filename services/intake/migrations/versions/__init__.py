"""The revisions of intake's schema, oldest first (file names keep the order)."""
