"""Embedding providers behind one interface, chosen by configuration."""
