"""HTTP surfaces (FastAPI apps) over the domain services; functions/ entry points import these."""
