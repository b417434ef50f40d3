"""Booking: free slots, booking, listing and cancelling."""
