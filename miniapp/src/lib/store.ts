// What one screen hands to the next without another request.
import { shallowReactive } from 'vue'
import type { Booking } from './types'

export const handoff = shallowReactive({
  /** The booking just made, shown by the confirmation screen. */
  lastBooking: null as Booking | null,
  /** When that booking was just moved: where it was before. */
  movedFrom: null as { date: string; time: string } | null,
})
