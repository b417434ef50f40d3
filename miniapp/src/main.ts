import '@fortawesome/fontawesome-free/css/fontawesome.min.css'
import '@fortawesome/fontawesome-free/css/solid.min.css'
import './style.css'

import { createApp } from 'vue'
import App from './App.vue'
import { i18n, setLanguage } from './lib/i18n'
import { router } from './router'
import { startLanguage } from './lib/session'
import { startTelegram } from './lib/telegram'

startTelegram()
setLanguage(startLanguage()) // before the first render: no screen switches language under the user
createApp(App).use(i18n).use(router).mount('#app')
