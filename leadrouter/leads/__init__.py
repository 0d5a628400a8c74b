"""What every operation writes beside a lead: timeline events, consent lookups, the next-due deadline."""
