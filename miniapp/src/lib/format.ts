// Dates and times as the patient reads them, in the page's language (Intl), and the
// few pieces of arithmetic on ISO dates the screens need. Dates are 'YYYY-MM-DD' on the
// clinic's calendar and carry no time zone: they are formatted as UTC days.
import { dateFormat, t } from './i18n'

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

const asDate = (iso: string): Date => {
  const { y, m, d } = parseDate(iso)
  return new Date(Date.UTC(y, m - 1, d))
}

/** The first letter upper-cased: a Russian weekday that starts a line (Intl writes it in lower case). */
const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1)

/** '2026-11-30' -> '30.11' (ru), '30/11' (en) */
export function ddmm(iso: string): string {
  return dateFormat({ day: '2-digit', month: '2-digit' }).format(asDate(iso))
}

/** '2026-11-30' -> '30.11.2026' (ru), '30/11/2026' (en) */
export function ddmmyyyy(iso: string): string {
  return dateFormat({ day: '2-digit', month: '2-digit', year: 'numeric' }).format(asDate(iso))
}

/** '2026-11-30' -> '30 November' (in Russian the month in the genitive) */
export function dayMonth(iso: string): string {
  return dateFormat({ day: 'numeric', month: 'long' }).format(asDate(iso))
}

/**
 * A week: '7 – 12 December', '30 November – 5 December'; across New Year no years are
 * named ('28 December – 2 January'), as Intl's own range would.
 */
export function rangeLabel(firstIso: string, lastIso: string): string {
  if (parseDate(firstIso).y !== parseDate(lastIso).y) {
    return `${dayMonth(firstIso)} – ${dayMonth(lastIso)}`
  }
  return dateFormat({ day: 'numeric', month: 'long' }).formatRange(asDate(firstIso), asDate(lastIso))
}

/** '21 years of experience'; a doctor in the first year has less than one. */
export function experience(years: number): string {
  return years < 1 ? t('doctors.experienceUnderYear') : t('plural.experience', years)
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

/** An absolute instant on the clinic's wall clock: '29/11/2026 at 09:00'. */
export function clinicDateTime(instant: string, offsetMinutes: number): string {
  const shifted = new Date(Date.parse(instant) + offsetMinutes * 60000)
  const date = dateFormat({ day: '2-digit', month: '2-digit', year: 'numeric' }).format(shifted)
  return t('common.dateAtTime', {
    date,
    time: `${two(shifted.getUTCHours())}:${two(shifted.getUTCMinutes())}`,
  })
}

/** A booking's day and time: '03/12/2026 at 12:00' (Russian: dots and its own 'at'). */
export function dateAtTime(iso: string, time: string): string {
  return t('common.dateAtTime', { date: ddmmyyyy(iso), time: hhmm(time) })
}

/** The same, short: '03/12 at 12:00'. */
export function dayAtTime(iso: string, time: string): string {
  return t('common.dateAtTime', { date: ddmm(iso), time: hhmm(time) })
}

/** '2026-11-30' -> 'Monday' (inside a line: lower case in Russian) */
export function weekdayOf(iso: string): string {
  return dateFormat({ weekday: 'long' }).format(asDate(iso))
}

/** '2026-11-30' -> 'Monday' (at the start of a line: capitalized in Russian too) */
export function weekdayName(iso: string): string {
  return capitalized(weekdayOf(iso))
}

/** '2026-12-03' -> 'Thu': a week strip's column. */
export function weekdayShort(iso: string): string {
  return dateFormat({ weekday: 'short' }).format(asDate(iso))
}

/** Monday 1 ... Saturday 6 -> 'Monday' ... 'Saturday' (the hours of a week). */
export function isoWeekdayName(weekday: number): string {
  return weekdayName(addDays('2024-01-01', weekday - 1)) // 1 January 2024 was a Monday
}

/** Initials for a photo placeholder: 'Ivanova Anna Sergeevna' -> 'IA'. */
export function initials(fullName: string): string {
  return fullName
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase() ?? '')
    .join('')
}

/** '2026-12-02' -> 'Wed 2 December' */
export function shortDayMonth(iso: string): string {
  return capitalized(dateFormat({ weekday: 'short', day: 'numeric', month: 'long' }).format(asDate(iso)))
}

/** '2026-12-02' -> 'Wednesday 2 December' */
export function longDayMonth(iso: string): string {
  return capitalized(dateFormat({ weekday: 'long', day: 'numeric', month: 'long' }).format(asDate(iso)))
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
