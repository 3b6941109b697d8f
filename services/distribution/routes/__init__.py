"""distribution's HTTP API, one module per resource, each with its router and its `ACCESS`."""
