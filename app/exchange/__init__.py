"""Exchange with other qualitative analysis tools: REFI-QDA codebooks (.qdc) and projects (.qdpx)."""
