"""distribution: deliveries of released dispatches to the incident location, step by step."""
