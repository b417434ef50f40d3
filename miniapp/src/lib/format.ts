// Russian plurals and dates.

/** plural(5, ['врач', 'врача', 'врачей']) -> 'врачей' (forms for 1, 2..4, 5..20). */
export function plural(n: number, forms: readonly [string, string, string]): string {
  const abs = Math.abs(Math.trunc(n))
  const lastTwo = abs % 100
  const last = abs % 10
  if (lastTwo >= 11 && lastTwo <= 14) return forms[2]
  if (last === 1) return forms[0]
  if (last >= 2 && last <= 4) return forms[1]
  return forms[2]
}

export const countWith = (n: number, forms: readonly [string, string, string]): string =>
  `${n} ${plural(n, forms)}`

export const DOCTORS = ['врач', 'врача', 'врачей'] as const
export const YEARS = ['год', 'года', 'лет'] as const
export const FREE_WINDOWS = ['свободное окно', 'свободных окна', 'свободных окон'] as const

/** 'Стаж 15 лет', 'Стаж 21 год'; a doctor in the first year: 'Стаж менее года'. */
export function experience(years: number): string {
  return years < 1 ? 'Стаж менее года' : `Стаж ${countWith(years, YEARS)}`
}

const MONTHS_GENITIVE = [
  'января', 'февраля', 'марта', 'апреля', 'мая', 'июня',
  'июля', 'августа', 'сентября', 'октября', 'ноября', 'декабря',
] as const

interface YMD {
  y: number
  m: number
  d: number
}

/** '2026-11-30' -> {y: 2026, m: 11, d: 30}; no time zones involved. */
export function parseDate(iso: string): YMD {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number)
  return { y, m, d }
}

const two = (n: number): string => String(n).padStart(2, '0')

/** '2026-11-30' -> '30.11' */
export function ddmm(iso: string): string {
  const { m, d } = parseDate(iso)
  return `${two(d)}.${two(m)}`
}

/** '2026-11-30' -> '30.11.2026' */
export function ddmmyyyy(iso: string): string {
  const { y, m, d } = parseDate(iso)
  return `${two(d)}.${two(m)}.${y}`
}

/** '2026-11-30' -> '30 ноября' */
export function dayMonth(iso: string): string {
  const { m, d } = parseDate(iso)
  return `${d} ${MONTHS_GENITIVE[m - 1]}`
}

/** Week label: '30 ноября – 5 декабря' or '7–12 декабря'. */
export function rangeLabel(firstIso: string, lastIso: string): string {
  const a = parseDate(firstIso)
  const b = parseDate(lastIso)
  if (a.m === b.m && a.y === b.y) return `${a.d}–${b.d} ${MONTHS_GENITIVE[b.m - 1]}`
  return `${dayMonth(firstIso)} – ${dayMonth(lastIso)}`
}

/** '09:00:00' or '09:00' -> '09:00' */
export const hhmm = (time: string): string => time.slice(0, 5)

/**
 * The clinic's UTC offset in minutes, read off a booking: its wall-clock date
 * and time against its absolute start. Lets reminders be shown in clinic time
 * without the page knowing the clinic's zone.
 */
export function clinicOffsetMinutes(date: string, time: string, startsAt: string): number {
  const { y, m, d } = parseDate(date)
  const [hh, mm] = hhmm(time).split(':').map(Number)
  const wall = Date.UTC(y, m - 1, d, hh, mm)
  return Math.round((wall - Date.parse(startsAt)) / 60000)
}

/** An absolute instant shown on the clinic's wall clock: '29.11.2026 в 09:00'. */
export function clinicDateTime(instant: string, offsetMinutes: number): string {
  const shifted = new Date(Date.parse(instant) + offsetMinutes * 60000)
  const date = `${two(shifted.getUTCDate())}.${two(shifted.getUTCMonth() + 1)}.${shifted.getUTCFullYear()}`
  return `${date} в ${two(shifted.getUTCHours())}:${two(shifted.getUTCMinutes())}`
}

export const REMINDER_LABELS: Record<string, string> = {
  confirmation: 'Подтверждение записи',
  '24h': 'За 24 часа до приёма',
  '6h': 'За 6 часов до приёма',
  '30m': 'За 30 минут до приёма',
}

const WEEKDAYS = ['воскресенье', 'понедельник', 'вторник', 'среда', 'четверг', 'пятница', 'суббота']

/** '2026-11-30' -> 'понедельник' */
export function weekdayOf(iso: string): string {
  const { y, m, d } = parseDate(iso)
  return WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]
}

/** Initials for a photo placeholder: 'Иванова Анна Сергеевна' -> 'ИА'. */
export function initials(fullName: string): string {
  return fullName
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase() ?? '')
    .join('')
}

const WEEKDAYS_SHORT = ['Вс', 'Пн', 'Вт', 'Ср', 'Чт', 'Пт', 'Сб']

/** ISO weekday 1..7 of a date: 1 Monday ... 7 Sunday. */
export function isoWeekday(iso: string): number {
  const { y, m, d } = parseDate(iso)
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay() || 7
}

/** '2026-12-02' -> 'Ср, 2 декабря' */
export function shortDayMonth(iso: string): string {
  return `${WEEKDAYS_SHORT[isoWeekday(iso) % 7]}, ${dayMonth(iso)}`
}

/** '2026-12-02' -> 'Среда, 2 декабря' */
export function longDayMonth(iso: string): string {
  const name = weekdayOf(iso)
  return `${name[0].toUpperCase()}${name.slice(1)}, ${dayMonth(iso)}`
}

/** '2026-12-31' + 1 -> '2027-01-01'; no time zones involved. */
export function addDays(iso: string, days: number): string {
  const { y, m, d } = parseDate(iso)
  const shifted = new Date(Date.UTC(y, m - 1, d + days))
  return `${shifted.getUTCFullYear()}-${two(shifted.getUTCMonth() + 1)}-${two(shifted.getUTCDate())}`
}

/** Days off: '14.12.2026' for one day, '14.12–18.12.2026' for several. */
export function dateRange(first: string, last: string): string {
  if (first === last) return ddmmyyyy(first)
  const a = parseDate(first)
  const b = parseDate(last)
  return a.y === b.y ? `${ddmm(first)}–${ddmmyyyy(last)}` : `${ddmmyyyy(first)}–${ddmmyyyy(last)}`
}

export const BOOKINGS = ['запись', 'записи', 'записей'] as const
export const WEEKDAY_NAMES = ['Понедельник', 'Вторник', 'Среда', 'Четверг', 'Пятница', 'Суббота'] as const
