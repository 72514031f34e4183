"""LLM providers behind one interface, and the failover chain that uses them."""
