// The MiniApp's two languages: every text is a key of src/locales/{ru,en}.json
// (tests/test_miniapp_i18n.py keeps them in step). English for a Telegram user whose
// language_code starts with "en", Russian for everyone else; in a plain browser (demo
// mode) `?lang=en` chooses English for the rest of the browser session.
import { createI18n } from 'vue-i18n'
import en from '../locales/en.json'
import ru from '../locales/ru.json'

export type Language = 'ru' | 'en'
export type MessageSchema = typeof ru

// The catalog's shape, for editors' completion of keys (vue-tsc accepts any string as a
// key: tests/test_miniapp_i18n.py checks that every key used exists).
declare module 'vue-i18n' {
  export interface DefineLocaleMessage extends MessageSchema {}
}

/**
 * Russian has three forms: one (1, 21, 101), few (2-4, 22-24, but not 12-14) and
 * many (0, 5-20, 25-30, 11-14, 111...). Messages list them in that order.
 */
function russianPlural(choice: number, choicesLength: number): number {
  const n = Math.abs(Math.trunc(choice))
  const last = n % 10
  const lastTwo = n % 100
  const form =
    last === 1 && lastTwo !== 11 ? 0 : last >= 2 && last <= 4 && (lastTwo < 12 || lastTwo > 14) ? 1 : 2
  return Math.min(form, choicesLength - 1)
}

/** English: "1 doctor", "0 doctors", "2 doctors". */
function englishPlural(choice: number, choicesLength: number): number {
  return Math.min(Math.abs(choice) === 1 ? 0 : 1, choicesLength - 1)
}

export const i18n = createI18n<[MessageSchema], Language, false>({
  legacy: false,
  locale: 'ru',
  fallbackLocale: 'ru',
  messages: { ru, en },
  pluralRules: { ru: russianPlural, en: englishPlural },
  missingWarn: import.meta.env.DEV,
  fallbackWarn: import.meta.env.DEV,
})

/** For code outside components (errors, the API client, lists of labels). */
export const t = i18n.global.t

export function language(): Language {
  return i18n.global.locale.value
}

/** `en`, `en-US`, `EN` -> English; anything else, or nothing, -> Russian. */
export function languageOf(code: string | null | undefined): Language {
  return code && code.trim().toLowerCase().startsWith('en') ? 'en' : 'ru'
}

/** The language the page speaks from now on; `<html lang>` and the title follow it. */
export function setLanguage(lang: Language): void {
  i18n.global.locale.value = lang
  document.documentElement.lang = lang
  document.title = t('app.title')
}

const STORED = 'clinic.lang'

/**
 * A plain browser's choice: `?lang=en` or `?lang=ru` in the URL, kept in sessionStorage
 * so that the next pages of the same tab speak it too; null when it never chose.
 */
export function browserChoice(): Language | null {
  const asked = new URLSearchParams(window.location.search).get('lang')
  try {
    if (asked) {
      const chosen = languageOf(asked)
      window.sessionStorage.setItem(STORED, chosen)
      return chosen
    }
    const kept = window.sessionStorage.getItem(STORED)
    return kept ? languageOf(kept) : null
  } catch {
    // storage refused (a privacy mode): the URL still decides for this page
    return asked ? languageOf(asked) : null
  }
}

// Dates. English uses the British order (day before month, 24-hour clock), as the
// clinic's own papers and the bot do; an American reading of 03/12 is not offered.
const INTL_LOCALE: Record<Language, string> = { ru: 'ru-RU', en: 'en-GB' }

const formats = new Map<string, Intl.DateTimeFormat>()

/** A cached Intl.DateTimeFormat of the current language, on UTC (dates here carry no zone). */
export function dateFormat(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const locale = INTL_LOCALE[language()]
  const key = `${locale}|${JSON.stringify(options)}`
  let format = formats.get(key)
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { ...options, timeZone: 'UTC' })
    formats.set(key, format)
  }
  return format
}
