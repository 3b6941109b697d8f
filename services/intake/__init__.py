"""intake: incident reports from the field, and the coordinator's validation of them."""
