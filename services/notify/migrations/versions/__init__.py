"""The revisions of notify's schema, oldest first (file names keep the order)."""
