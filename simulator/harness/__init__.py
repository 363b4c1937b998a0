"""The harness runtime: reference clients, transports, scenario runner, pytest plugin, strategies."""
