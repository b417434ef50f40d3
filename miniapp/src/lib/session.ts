// Who the patient is: initData from Telegram's launch parameters or, in a
// plain browser, the demo identity the server hands out in demo mode.
import { reactive } from 'vue'
import { api, ApiError, setInitData } from './api'
import { browserChoice, languageOf, setLanguage, type Language } from './i18n'
import { launchInitData, launchLanguageCode } from './telegram'

export type SessionStatus = 'pending' | 'ready' | 'outside' | 'error'

export const session = reactive({
  status: 'pending' as SessionStatus,
  demo: false,
  error: null as ApiError | null,
})

/**
 * The language to speak before anything is asked: the Telegram user's own (from the
 * launch parameters), else a plain browser's `?lang=` (kept for the tab), else Russian.
 */
export function startLanguage(): Language {
  return launchInitData ? languageOf(launchLanguageCode) : (browserChoice() ?? 'ru')
}

export async function startSession(): Promise<void> {
  session.error = null
  session.status = 'pending'
  if (launchInitData) {
    // Check the signature and age up front: a stale or forged initData gets
    // a clear message now rather than a failed booking later.
    setInitData(launchInitData)
    session.demo = false
    try {
      const me = await api.me()
      setLanguage(languageOf(me.language_code)) // the server's reading of the same initData
      session.status = 'ready'
    } catch (e) {
      session.error = e instanceof ApiError ? e : new ApiError(0, {}, String(e))
      session.status = 'error'
    }
    return
  }
  try {
    const identity = await api.demoIdentity()
    setInitData(identity.init_data)
    session.demo = true
    session.status = 'ready'
  } catch (e) {
    const error = e instanceof ApiError ? e : new ApiError(0, {}, String(e))
    if (error.status === 404) {
      session.status = 'outside'
    } else {
      session.error = error
      session.status = 'error'
    }
  }
}
