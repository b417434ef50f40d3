// A thin fetch wrapper: JSON in and out, `Authorization: tma <initData>` on
// every call once the session knows it, `Accept-Language` the page's language (the
// server words its problem details by it), problem+json turned into ApiError.
import { language, t } from './i18n'
import type {
  AffectedBooking,
  Attendance,
  Booking,
  Closure,
  DayBooking,
  DaySchedule,
  DemoIdentity,
  Doctor,
  Me,
  Problem,
  SearchResults,
  Specialization,
  StaffBookingRequest,
  StaffMember,
  TimeOff,
  WaitlistEntry,
  WeekdayHours,
  WeeklyHours,
  WeekSlots,
} from './types'

let authorization: string | null = null

export function setInitData(initData: string | null): void {
  authorization = initData ? `tma ${initData}` : null
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly detail: string
  readonly fieldErrors: { field: string; message: string }[]
  /** 409 bookings_affected: the bookings a day off or a closure would cancel. */
  readonly affected: AffectedBooking[]

  constructor(status: number, problem: Problem, fallback: string) {
    super(problem.detail || problem.title || fallback)
    this.name = 'ApiError'
    this.status = status
    this.code = problem.code ?? (status === 0 ? 'network_error' : `http_${status}`)
    this.detail = problem.detail ?? ''
    this.fieldErrors = problem.errors ?? []
    this.affected = Array.isArray(problem.bookings) ? problem.bookings : []
  }

  get isAuth(): boolean {
    return this.status === 401
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'Accept-Language': language(),
  }
  if (authorization) headers.Authorization = authorization
  if (body !== undefined) headers['Content-Type'] = 'application/json'

  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    })
  } catch {
    throw new ApiError(0, {}, t('errors.network'))
  }

  if (response.ok) {
    if (response.status === 204) return undefined as T
    return (await response.json()) as T
  }

  let problem: Problem = {}
  try {
    const parsed: unknown = await response.json()
    if (parsed && typeof parsed === 'object') problem = parsed as Problem
  } catch {
    // not JSON (a proxy's error page): keep the generic message
  }
  throw new ApiError(response.status, problem, t('errors.server', { status: response.status }))
}

export const api = {
  demoIdentity: () => request<DemoIdentity>('GET', '/api/demo/identity'),
  me: () => request<Me>('GET', '/api/me'),
  specializations: () => request<Specialization[]>('GET', '/api/specializations'),
  search: (q: string) =>
    request<SearchResults>('GET', `/api/search?q=${encodeURIComponent(q)}`),
  specialization: (id: number) => request<Specialization>('GET', `/api/specializations/${id}`),
  doctorsOf: (specializationId: number) =>
    request<Doctor[]>('GET', `/api/specializations/${specializationId}/doctors`),
  doctor: (id: number) => request<Doctor>('GET', `/api/doctors/${id}`),
  slots: (doctorId: number, weekOf?: string | null) =>
    request<WeekSlots>(
      'GET',
      weekOf
        ? `/api/doctors/${doctorId}/slots?week_of=${encodeURIComponent(weekOf)}`
        : `/api/doctors/${doctorId}/slots`,
    ),
  createBooking: (doctorId: number, date: string, time: string) =>
    request<Booking>('POST', '/api/bookings', { doctor_id: doctorId, date, time }),
  bookings: () => request<Booking[]>('GET', '/api/bookings'),
  booking: (id: number) => request<Booking>('GET', `/api/bookings/${id}`),
  cancelBooking: (id: number) => request<Booking>('POST', `/api/bookings/${id}/cancel`),
  reschedule: (id: number, date: string, time: string) =>
    request<Booking>('POST', `/api/bookings/${id}/reschedule`, { date, time }),

  waitlist: () => request<WaitlistEntry[]>('GET', '/api/waitlist'),
  joinWaitlist: (doctorId: number, date: string) =>
    request<WaitlistEntry>('POST', '/api/waitlist', { doctor_id: doctorId, date }),
  leaveWaitlist: (id: number) => request<void>('DELETE', `/api/waitlist/${id}`),
}

const query = (params: Record<string, string | number | null | undefined>): string => {
  const pairs = Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== '')
  return pairs.length
    ? `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&')}`
    : ''
}

/** The staff side, /api/staff: 403 for anyone who is not staff. */
export const staffApi = {
  me: () => request<StaffMember>('GET', '/api/staff/me'),
  setNotify: (notify: boolean) => request<StaffMember>('POST', '/api/staff/me/notify', { notify }),
  schedule: (date: string | null, doctorId: number | null) =>
    request<DaySchedule>('GET', `/api/staff/schedule${query({ date, doctor_id: doctorId })}`),
  book: (body: StaffBookingRequest) => request<DayBooking>('POST', '/api/staff/bookings', body),
  cancel: (id: number, reason: string) =>
    request<DayBooking>('POST', `/api/staff/bookings/${id}/cancel`, { reason }),
  attendance: (id: number, attendance: Attendance) =>
    request<DayBooking>('POST', `/api/staff/bookings/${id}/attendance`, { attendance }),
  hours: (doctorId: number) => request<WeeklyHours>('GET', `/api/staff/doctors/${doctorId}/hours`),
  setHours: (doctorId: number, days: WeekdayHours[]) =>
    request<WeeklyHours>('PUT', `/api/staff/doctors/${doctorId}/hours`, days),
  timeOff: (doctorId: number) => request<TimeOff[]>('GET', `/api/staff/doctors/${doctorId}/time-off`),
  addTimeOff: (
    doctorId: number,
    body: { date_from: string; date_to: string; reason: string; cancel_bookings: boolean },
  ) => request<TimeOff>('POST', `/api/staff/doctors/${doctorId}/time-off`, body),
  removeTimeOff: (id: number) => request<void>('DELETE', `/api/staff/time-off/${id}`),
  closures: () => request<Closure[]>('GET', '/api/staff/closures'),
  addClosure: (body: { date: string; reason: string; cancel_bookings: boolean }) =>
    request<Closure>('POST', '/api/staff/closures', body),
  removeClosure: (id: number) => request<void>('DELETE', `/api/staff/closures/${id}`),
}
