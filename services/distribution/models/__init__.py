"""distribution's tables and the shapes of its HTTP API, one module per aggregate:
`registry`, `permakanan`, `sandang`, `deliveries`, `runs`, on the tables' base in `base`.
Every module is imported here so that `DistributionTable.metadata` holds every table
whichever of them a caller imports."""

from services.distribution.models import deliveries, permakanan, registry, runs, sandang

__all__ = ["deliveries", "permakanan", "registry", "runs", "sandang"]
