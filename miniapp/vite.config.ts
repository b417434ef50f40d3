import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import tailwindcss from '@tailwindcss/vite'

// During `npm run dev` the API and the doctors' photos come from the Python
// app (make run); CLINIC_API points elsewhere if it listens on another port.
const apiTarget = process.env.CLINIC_API ?? 'http://127.0.0.1:8000'

export default defineConfig({
  base: '/',
  plugins: [vue(), tailwindcss()],
  // vue-i18n's build switches: the composition API only (its legacy API is left out of
  // the bundle), <i18n-t> registered, no devtools hooks in production.
  define: {
    __VUE_I18N_LEGACY_API__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'true',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  server: {
    proxy: {
      '/api': apiTarget,
      '/photos': apiTarget,
    },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: false,
    // Swagger UI, on the docs page only, is one large chunk; the MiniApp's is small.
    chunkSizeWarningLimit: 1600,
    rollupOptions: {
      // The MiniApp, and the API reference the server shows at /api/docs.
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        docs: fileURLToPath(new URL('./docs.html', import.meta.url)),
      },
    },
  },
})
