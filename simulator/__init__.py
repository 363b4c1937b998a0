"""kyc-sandbox: a local, stateful fake of Sumsub Reusable KYC into Dakota, and the harness around it."""

from __future__ import annotations

__version__ = "0.1.0"
