"""Reading transcripts from the files researchers have: text, Word, captions, turn tables, zips of them."""
