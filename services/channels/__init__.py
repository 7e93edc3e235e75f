"""Channel connectors: one module per provider, all with the shape of `base.Connector`."""
