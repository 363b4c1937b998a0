"""The /_sandbox control plane: health, credentials, reset, clock, shortcuts, journal."""
