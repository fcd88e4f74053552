"""OCI and Docker image formats: media types, digests and document validation."""
