"""The waitlist: "tell me if a slot frees up that day". A freed slot is offered to the
oldest entries of that doctor and day (booking plans the offers in the job table); the
first to tap books it, the exclusion constraint deciding."""
