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
