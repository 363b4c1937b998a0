"""Framework-free core: clock, ids, store, error root, seed data. Nothing here imports Flask."""
