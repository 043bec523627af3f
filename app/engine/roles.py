"""Speaker roles: the values a segment's role takes, and the label patterns that place a speaker in one. Plain
values at the bottom of the house: segmentation uses them, and the settings take their defaults from here."""

# A label of the transcriber's own notes ("Transcriber notes:", "Note:"): with role other, their lines are
# stored and shown but never coded (app/engine/transcripts.py skip_reason).
NOTE_LABEL = r"^(transcriber|transcription|transcript|notes?|comments?|annotations?)([ _-]|$)"

# Speaker label -> role, first match wins (case-insensitive regular expressions, matched with re.search).
# Labels such as "Interviewee_PW6" or "SP3" in the seed study are covered; a team can replace the mapping.
DEFAULT_ROLE_PATTERNS: dict[str, str] = {
    r"^(i|int|interviewer|facilitator|researcher|moderator|q)\d*$": "interviewer",
    r"(^|_|\b)pw\d*$|peer[ _-]?(support[ _-]?)?worker": "peer_worker",
    r"(^|_|\b)(sp|su)\d*$|supported[ _-]?peer|service[ _-]?user": "supported_peer",
    # "Transcriber notes:", "Note:", "Comment:" are not a participant speaking, even in a one-to-one interview
    # (where any other voice is taken to be the participant's): role other, named in the import's warning.
    NOTE_LABEL: "other",
}
ROLES = ("peer_worker", "supported_peer", "interviewer", "other")
PARTICIPANT_ROLES = ("peer_worker", "supported_peer")  # the roles a study's participants have
