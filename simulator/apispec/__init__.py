"""The sandbox's own OpenAPI contracts: loading (`loader`), request validation (`validation`), serving (`routes`)."""
