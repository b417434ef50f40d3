import '@fortawesome/fontawesome-free/css/fontawesome.min.css'
import '@fortawesome/fontawesome-free/css/solid.min.css'
import './style.css'

import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { startTelegram } from './lib/telegram'

startTelegram()
createApp(App).use(router).mount('#app')
