"""bct-autocoder: suggest Behaviour Change Technique codes for interview transcripts."""
