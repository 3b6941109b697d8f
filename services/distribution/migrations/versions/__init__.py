"""The revisions of distribution's schema, oldest first (file names keep the order)."""
