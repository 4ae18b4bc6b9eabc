"""The runtime: config, resolver, routing, stack, server and library client."""
