import { ApiError } from './api'

export const SESSION_INVALID =
  'Сессия недействительна или устарела. Откройте приложение заново из Telegram.'

/** A sentence for the patient about what went wrong. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Что-то пошло не так. Попробуйте ещё раз.'
  if (error.status === 401) return SESSION_INVALID
  if (error.status === 0) return error.message
  if (error.detail) return error.detail
  if (error.status === 404) return 'Ничего не найдено: возможно, страница устарела.'
  if (error.status >= 500) return 'Сервер временно недоступен. Попробуйте ещё раз через минуту.'
  return error.message
}

export const SLOT_TAKEN = 'Это время только что заняли, выберите другое'

/** What to say when a chosen time could not be booked or moved to (409, 422, the rest). */
export function conflictNotice(error: unknown): string {
  if (error instanceof ApiError && error.status === 409) {
    return error.code === 'slot_taken' || !error.detail ? SLOT_TAKEN : error.detail
  }
  if (error instanceof ApiError && error.status === 422) {
    const details = error.fieldErrors.map((f) => f.message).filter((m) => m && m !== error.detail)
    return [error.detail || 'Это время нельзя забронировать.', ...details].join(' ')
  }
  return describeError(error)
}
