// The Telegram WebApp SDK, bundled from npm (@twa-dev/sdk ships Telegram's
// telegram-web-app.js), behind a few calls that do nothing outside Telegram.
import sdk from '@twa-dev/sdk'
import type { WebApp as TelegramWebApp } from '@twa-dev/types'

type TelegramWindow = Window & {
  TelegramWebviewProxy?: unknown
  Telegram: { WebApp: TelegramWebApp; WebView?: { isIframe?: boolean } }
}

// Importing the SDK runs Telegram's script, which puts window.Telegram.WebApp
// in place. Read it from there: bundlers disagree on the default export of
// that CommonJS module.
const WebApp: TelegramWebApp = sdk && (window as unknown as TelegramWindow).Telegram.WebApp

function detectHost(): boolean {
  const w = window as unknown as TelegramWindow
  if (w.TelegramWebviewProxy !== undefined) return true // mobile and desktop apps
  if (w.Telegram?.WebView?.isIframe) return true // web.telegram.org
  return 'external' in window && !!window.external && 'notify' in window.external // Windows Phone
}

/** initData from the launch parameters (`#tgWebAppData=...`), '' outside Telegram. */
export const launchInitData: string = WebApp.initData || ''

/** The Telegram user's language as their client reports it (`en`, `ru`, `de`...), if any. */
export const launchLanguageCode: string | null = WebApp.initDataUnsafe?.user?.language_code ?? null

/**
 * True when a Telegram client hosts the page, so that its native MainButton,
 * BackButton and popups are there. A page opened in a plain browser (even
 * with tgWebAppData in the URL) draws its own buttons instead.
 */
export const hasTelegramHost: boolean = launchInitData !== '' && detectHost()

const at = (version: string): boolean => hasTelegramHost && WebApp.isVersionAtLeast(version)

export function startTelegram(): void {
  if (!hasTelegramHost) return
  WebApp.ready()
  WebApp.expand()
  if (at('6.1')) {
    WebApp.setHeaderColor('secondary_bg_color')
    WebApp.setBackgroundColor('secondary_bg_color')
  }
}

export function haptic(kind: 'success' | 'error' | 'warning'): void {
  if (at('6.1')) WebApp.HapticFeedback.notificationOccurred(kind)
}

export function hapticSelection(): void {
  if (at('6.1')) WebApp.HapticFeedback.selectionChanged()
}

// BackButton: one handler for the whole app, shown on every screen but the first.
// While a sheet is open over a screen, the button closes the sheet instead.
let backHandler: (() => void) | null = null
let screenBack: (() => void) | null = null
const sheetBacks: (() => void)[] = []

function applyBack(): void {
  if (!at('6.1')) return
  const handler = sheetBacks[sheetBacks.length - 1] ?? screenBack
  if (backHandler) WebApp.BackButton.offClick(backHandler)
  backHandler = handler
  if (handler) {
    WebApp.BackButton.onClick(handler)
    WebApp.BackButton.show()
  } else {
    WebApp.BackButton.hide()
  }
}

export function showBackButton(handler: () => void): void {
  screenBack = handler
  applyBack()
}

export function hideBackButton(): void {
  screenBack = null
  applyBack()
}

/** A sheet is open: BackButton closes it until the returned function is called. */
export function overrideBackButton(handler: () => void): () => void {
  sheetBacks.push(handler)
  applyBack()
  return () => {
    const index = sheetBacks.lastIndexOf(handler)
    if (index >= 0) sheetBacks.splice(index, 1)
    applyBack()
  }
}

/** Open a t.me link the way Telegram does inside it; false outside (follow the link). */
export function openTelegramLink(url: string): boolean {
  if (!at('6.1')) return false
  WebApp.openTelegramLink(url)
  return true
}

// MainButton: the view that uses it sets text, state and the click handler.
let mainHandler: (() => void) | null = null

export function setMainButton(
  state: { text: string; active: boolean; progress: boolean } | null,
  handler?: () => void,
): void {
  if (!hasTelegramHost) return
  const button = WebApp.MainButton
  if (handler && handler !== mainHandler) {
    if (mainHandler) button.offClick(mainHandler)
    mainHandler = handler
    button.onClick(handler)
  }
  if (!state) {
    button.hideProgress()
    button.hide()
    return
  }
  button.setParams({ text: state.text, is_active: state.active, is_visible: true })
  if (state.progress) button.showProgress(false)
  else button.hideProgress()
}

export function releaseMainButton(): void {
  if (!hasTelegramHost) return
  if (mainHandler) WebApp.MainButton.offClick(mainHandler)
  mainHandler = null
  WebApp.MainButton.hideProgress()
  WebApp.MainButton.hide()
}

/** Telegram's own confirm popup; null when it is not available (use an in-page dialog). */
export function telegramConfirm(message: string): Promise<boolean> | null {
  if (!at('6.2')) return null
  return new Promise((resolve) => WebApp.showConfirm(message, (ok) => resolve(!!ok)))
}

/**
 * Telegram's own download (Bot API 8.0): the client asks the user and saves the file.
 * False when this client cannot (older, or not Telegram at all) or the URL is not https
 * (Telegram refuses anything else): then the page offers a plain download link.
 */
export function telegramDownload(url: string, fileName: string): boolean {
  if (!at('8.0') || new URL(url, window.location.href).protocol !== 'https:') return false
  try {
    WebApp.downloadFile({ url, file_name: fileName })
    return true
  } catch {
    return false // a download popup already open, or a client that refused the request
  }
}

/** Close the MiniApp (Telegram reopens it with fresh initData). */
export function closeApp(): void {
  if (hasTelegramHost) WebApp.close()
}
