"""The staff side: roles, the clinic's day, bookings by phone, clinic cancellations,
attendance, weekly hours, days off and closures, the audit log and the CSV export."""
