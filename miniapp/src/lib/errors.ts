import { ApiError } from './api'
import { t } from './i18n'

/** A sentence for the patient about what went wrong; the server's own words when it gave some. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return t('errors.generic')
  if (error.status === 401) return t('errors.sessionInvalid')
  if (error.status === 0) return error.message
  if (error.detail) return error.detail
  if (error.status === 404) return t('errors.notFound')
  if (error.status >= 500) return t('errors.unavailable')
  return error.message
}

/** What to say when a chosen time could not be booked or moved to (409, 422, the rest). */
export function conflictNotice(error: unknown): string {
  if (error instanceof ApiError && error.status === 409) {
    return error.code === 'slot_taken' || !error.detail ? t('errors.slotTaken') : error.detail
  }
  if (error instanceof ApiError && error.status === 422) {
    const details = error.fieldErrors.map((f) => f.message).filter((m) => m && m !== error.detail)
    return [error.detail || t('errors.notBookable'), ...details].join(' ')
  }
  return describeError(error)
}
