"""Long-term memory: extraction, merging, recall and ranking (pure domain; stores via ports)."""
