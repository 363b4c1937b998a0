"""The dashboard: a single-page admin UI (Customers, Add customer with the Sumsub CSV import) over the public API."""
