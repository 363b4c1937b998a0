"""The Dakota fake: API keys, customers, individual applications and the Sumsub share-token bulk import."""
