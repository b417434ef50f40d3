"""Reminders: the `notifications` job table. A booking plans its confirmation and
reminders here in its own transaction, and cancelling cancels them; the dispatcher
(clinic.dispatch) claims and settles rows through this area's service, and renders
each kind with this area's renderer."""
