"""The lead pipeline: status moves, reopening, notes, follow-ups, do-not-contact, outbound compliance."""
