"""The job-table worker: sends the messages the system sends on its own (reminders
today), planned in the `notifications` table by the areas that own them, by dispatchers
that any number of replicas run. Each kind's text comes from its area's renderer, given
to the dispatcher by the composition root; this package imports no bot code.

Booking inserts the booking and its `notifications` rows in one transaction (the
confirmation, due now, and the 24 h / 6 h / 30 min reminders still ahead of the
database clock) and NOTIFYs `clinic_notifications`; cancelling marks the unsent ones
cancelled in the cancel's transaction. A dispatcher LISTENs on a connection of its own
(reconnected when it drops) and otherwise sleeps until the next due row or lease expiry,
at most the poll interval. One statement claims a batch: due rows (and rows whose lease
ran out) taken `FOR UPDATE SKIP LOCKED`, switched to 'sending' with a lease, committed
before any Bot API call. Sends run concurrently; one statement per batch settles them,
and only where the lease (id, 'sending', leased_until) is still held: sent; back to
pending with exponential backoff and jitter on network and 5xx errors, until 8 attempts;
back to pending after `retry_after` on 429 (the attempt does not count); failed on 400;
on 403 failed, the user marked blocked and their other pending rows cancelled, in one
transaction. A crashed dispatcher's rows come back when their 30 s lease ends; a stopped
one gives its unsent leases back at once. Every time is the database clock's.

Rate limits (TELEGRAM_RATE_LIMIT, default 25 a second for the whole bot, and one
message a second per chat) are shared by all replicas through PostgreSQL, inside the
claim statement itself. The global limit is a token bucket kept in a one-row table
`send_pace` as the instant up to which sends are paid for (GCRA): the claim's atomic
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` grants at most `burst` tokens (a fifth
of a second's worth) minus the backlog, and never more than the due rows it found; the
row lock serialises concurrent claims, so two replicas never spend the same tokens, and
a claim takes exactly as many rows as it was granted. Per chat, the table `chat_pace`
holds the earliest instant of the chat's next message: the claim considers only chats
past it, takes at most one row per chat, and upserts `now() + 1 s` with
`ON CONFLICT ... WHERE next_at <= now()`, so of two replicas racing for a chat only one
gets it; settling a send pushes the chat's instant to 1 s after the answer, so messages
to a chat arrive at least a second apart even when one was slow. A 429 moves the
bucket's paid-until instant past `retry_after`, pausing every replica. A rate of 0 turns
both limits off (benchmarks only).
"""
