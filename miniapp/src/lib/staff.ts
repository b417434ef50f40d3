// Whether the caller is the clinic's staff (GET /api/staff/me), and the doctors the
// staff screens choose from. Asked once per session; the staff section (app.staff in
// the catalogs) is shown only when the answer is a staff member.
import { computed, reactive } from 'vue'
import { ApiError, staffApi } from './api'
import { t } from './i18n'
import type { DaySchedule, Role, StaffMember } from './types'

export type StaffStatus = 'unknown' | 'loading' | 'staff' | 'none' | 'error'

export const staff = reactive({
  status: 'unknown' as StaffStatus,
  member: null as StaffMember | null,
  error: null as unknown,
})

let asking: Promise<void> | null = null

export function loadStaff(): Promise<void> {
  if (staff.status === 'staff' || staff.status === 'none') return Promise.resolve()
  asking ??= (async () => {
    staff.status = 'loading'
    staff.error = null
    try {
      staff.member = await staffApi.me()
      staff.status = 'staff'
    } catch (e) {
      staff.member = null
      if (e instanceof ApiError && e.status === 403) {
        staff.status = 'none'
      } else {
        staff.error = e
        staff.status = 'error'
      }
    } finally {
      asking = null
    }
  })()
  return asking
}

/** Admins and reception run the desk and the schedule; a doctor sees their own day. */
export const atDesk = computed(() => staff.member?.role === 'admin' || staff.member?.role === 'reception')
export const isAdmin = computed(() => staff.member?.role === 'admin')

/** The role as the staff screens name it. */
export function roleName(role: Role): string {
  switch (role) {
    case 'admin':
      return t('staff.roles.admin')
    case 'reception':
      return t('staff.roles.reception')
    case 'doctor':
      return t('staff.roles.doctor')
  }
}

export interface StaffDoctor {
  id: number
  full_name: string
  specialization: string
}

let today: Promise<DaySchedule> | null = null

/** Today's schedule as first asked (the clinic's date and its doctors), asked once. */
function firstDay(): Promise<DaySchedule> {
  today ??= staffApi.schedule(null, null).catch((e: unknown) => {
    today = null
    throw e
  })
  return today
}

/** The clinic's date today (its time zone is the server's business). */
export async function clinicToday(): Promise<string> {
  return (await firstDay()).date
}

let doctors: Promise<StaffDoctor[]> | null = null

/** Every doctor the member may see (a doctor: only themselves), by specialization and name. */
export function staffDoctors(): Promise<StaffDoctor[]> {
  doctors ??= firstDay()
    .then((day) =>
      day.doctors
        .map((d) => ({ id: d.doctor_id, full_name: d.full_name, specialization: d.specialization }))
        .sort(
          (a, b) =>
            a.specialization.localeCompare(b.specialization, 'ru') ||
            a.full_name.localeCompare(b.full_name, 'ru'),
        ),
    )
    .catch((e: unknown) => {
      doctors = null
      throw e
    })
  return doctors
}

/** 'Volkov Igor Petrovich' -> 'Volkov I. P.' */
export function shortName(fullName: string): string {
  const [last, ...rest] = fullName.split(/\s+/).filter(Boolean)
  return [last, ...rest.map((part) => `${part[0]}.`)].join(' ')
}
