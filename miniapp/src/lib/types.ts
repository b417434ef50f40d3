// Shapes of the clinic's REST API (see DESIGN.md, "REST API").

export interface Specialization {
  id: number
  slug: string
  name: string
  description: string
  icon: string
  doctor_count: number
}

export interface Doctor {
  id: number
  specialization_id: number
  specialization: string
  first_name: string
  middle_name: string | null
  last_name: string
  full_name: string
  title: string
  experience_years: number
  description: string
  photo_url: string | null
}

/** GET /api/search: both lists best match first; both empty for an empty query. */
export interface SearchResults {
  specializations: Specialization[]
  doctors: Doctor[]
}

export interface SlotDay {
  date: string
  weekday: string
  weekday_short: string
  slots: string[]
  count: number
  /** The doctor receives that day and some of its times are ahead: open with no slots is full. */
  open: boolean
}

export interface WeekSlots {
  doctor_id: number
  week_start: string
  prev_week: string | null
  next_week: string | null
  days: SlotDay[]
}

export type ReminderKind = 'confirmation' | '24h' | '6h' | '30m'

export interface Reminder {
  kind: ReminderKind
  due_at: string
  status: string
}

export interface BookingDoctor {
  id: number
  full_name: string
  title: string
  specialization: string
  photo_url: string | null
}

export type CancelledBy = 'patient' | 'clinic'

export interface Booking {
  id: number
  status: 'confirmed' | 'cancelled'
  date: string
  time: string
  starts_at: string
  ends_at: string
  upcoming: boolean
  created_at: string
  cancelled_at: string | null
  cancelled_by?: CancelledBy | null
  cancel_reason?: string | null
  patient_confirmed?: boolean
  /** Grows with each move or cancellation. */
  revision?: number
  /** The booking as .ics by a signed relative link that needs no Authorization (absent on older answers). */
  calendar_url?: string | null
  doctor: BookingDoctor
  reminders?: Reminder[]
}

/** GET /api/waitlist: a day the patient waits for a free time. */
export interface WaitlistEntry {
  id: number
  doctor_id: number
  date: string
  created_at: string
  doctor: string | null
  specialization: string | null
}

export interface Me {
  id: number
  first_name: string
  last_name: string | null
  username: string | null
  language_code: string | null
  demo: boolean
}

export interface DemoIdentity {
  init_data: string
  user: Record<string, unknown>
}

export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  code?: string
  errors?: { field: string; message: string }[]
  /** 409 bookings_affected: the confirmed bookings a day off or a closure would cancel. */
  bookings?: AffectedBooking[]
}

// The staff side (/api/staff).

export type Role = 'admin' | 'reception' | 'doctor'

export interface StaffMember {
  telegram_id: number
  role: Role
  doctor_id: number | null
  /** Telegram messages about new bookings and cancellations. */
  notify: boolean
  /** An admin by ADMIN_IDS (or demo mode), not by a staff row. */
  configured: boolean
}

export interface StaffPatient {
  telegram_id: number | null
  name: string
  username: string | null
  phone: string | null
}

export type Attendance = 'arrived' | 'no_show'

export interface DayBooking {
  id: number
  doctor_id: number
  date: string
  time: string
  starts_at: string
  status: 'confirmed' | 'cancelled'
  attendance: Attendance | null
  patient_confirmed: boolean
  source: 'patient' | 'staff'
  cancelled_by: CancelledBy | null
  cancel_reason: string | null
  patient: StaffPatient
}

export interface TimeOff {
  id: number
  doctor_id: number
  date_from: string
  date_to: string
  reason: string
  created_at: string
}

export interface Closure {
  id: number
  date: string
  reason: string
  created_at: string
}

export interface DoctorDay {
  doctor_id: number
  full_name: string
  specialization: string
  hours: { starts: string; ends: string } | null
  time_off: TimeOff[]
  bookings: DayBooking[]
}

export interface DaySchedule {
  date: string
  closure: Closure | null
  doctors: DoctorDay[]
}

export interface WeekdayHours {
  weekday: number
  starts: string
  ends: string
}

export interface WeeklyHours {
  doctor_id: number
  /** false: the clinic's default week. */
  own: boolean
  days: WeekdayHours[]
}

export interface AffectedBooking {
  id: number
  doctor_id: number
  doctor: string
  date: string
  time: string
  patient: string
}

export interface StaffBookingRequest {
  doctor_id: number
  date: string
  time: string
  patient_name: string
  phone?: string | null
}
