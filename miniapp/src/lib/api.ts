// A thin fetch wrapper: JSON in and out, `Authorization: tma <initData>` on
// every call once the session knows it, problem+json turned into ApiError.
import type {
  Booking,
  DemoIdentity,
  Doctor,
  Me,
  Problem,
  SearchResults,
  Specialization,
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

  constructor(status: number, problem: Problem, fallback: string) {
    super(problem.detail || problem.title || fallback)
    this.name = 'ApiError'
    this.status = status
    this.code = problem.code ?? (status === 0 ? 'network_error' : `http_${status}`)
    this.detail = problem.detail ?? ''
    this.fieldErrors = problem.errors ?? []
  }

  get isAuth(): boolean {
    return this.status === 401
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
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
    throw new ApiError(0, {}, 'Нет связи с сервером. Проверьте интернет и попробуйте ещё раз.')
  }

  if (response.ok) {
    return (await response.json()) as T
  }

  let problem: Problem = {}
  try {
    const parsed: unknown = await response.json()
    if (parsed && typeof parsed === 'object') problem = parsed as Problem
  } catch {
    // not JSON (a proxy's error page): keep the generic message
  }
  throw new ApiError(response.status, problem, `Ошибка сервера (${response.status}). Попробуйте ещё раз.`)
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
}
