"""Routes of the simulator API, one module per resource."""
