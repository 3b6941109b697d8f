"""logistics: the disaster warehouse's stock, FIFO allocation for verified incidents, and
the release of dispatches when warehouse staff confirm loading."""
