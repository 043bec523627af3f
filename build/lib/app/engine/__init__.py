"""Pure domain logic: segmentation, embedding, similarity. No web framework, no database."""
