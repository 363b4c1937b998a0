"""Webhooks from both fakes: Dakota events (Ed25519-signed) and Sumsub callbacks (x-payload-digest), delivered
from a durable outbox with retries on the simulated clock."""
