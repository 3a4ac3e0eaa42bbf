"""Bearer tokens for the API, stored as SHA-256 hashes only."""
