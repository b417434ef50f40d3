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
  doctor: BookingDoctor
  reminders?: Reminder[]
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
}
