import { createRouter, createWebHistory, type RouteLocationRaw } from 'vue-router'
import SpecializationsView from './views/SpecializationsView.vue'
import DoctorsView from './views/DoctorsView.vue'
import DoctorView from './views/DoctorView.vue'
import BookingDoneView from './views/BookingDoneView.vue'
import BookingsView from './views/BookingsView.vue'
import NotFoundView from './views/NotFoundView.vue'
import RescheduleView from './views/RescheduleView.vue'

// The staff section is for a few people: its code loads only when it is opened.
const StaffDayView = () => import('./views/staff/StaffDayView.vue')
const StaffBookView = () => import('./views/staff/StaffBookView.vue')
const StaffHoursView = () => import('./views/staff/StaffHoursView.vue')
const StaffDaysOffView = () => import('./views/staff/StaffDaysOffView.vue')

declare module 'vue-router' {
  interface RouteMeta {
    /** Where "back" leads when there is no page of ours to go back to. */
    backTo?: RouteLocationRaw
    /** Back always goes here, whatever the history holds. */
    backAlwaysTo?: RouteLocationRaw
  }
}

export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    {
      path: '/',
      name: 'specializations',
      component: SpecializationsView,
    },
    {
      path: '/specializations/:id(\\d+)',
      name: 'doctors',
      component: DoctorsView,
      props: (route) => ({ id: Number(route.params.id) }),
      meta: { backTo: { name: 'specializations' } },
    },
    {
      path: '/doctors/:id(\\d+)',
      name: 'doctor',
      component: DoctorView,
      props: (route) => ({ id: Number(route.params.id) }),
      meta: { backTo: { name: 'specializations' } },
    },
    {
      path: '/bookings/:id(\\d+)/done',
      name: 'booking-done',
      component: BookingDoneView,
      props: (route) => ({ id: Number(route.params.id) }),
      meta: { backAlwaysTo: { name: 'specializations' } },
    },
    {
      path: '/bookings/:id(\\d+)/reschedule',
      name: 'reschedule',
      component: RescheduleView,
      props: (route) => ({ id: Number(route.params.id) }),
      meta: { backTo: { name: 'bookings' } },
    },
    {
      path: '/bookings/:id(\\d+)/moved',
      name: 'booking-moved',
      component: BookingDoneView,
      props: (route) => ({ id: Number(route.params.id), moved: true }),
      meta: { backAlwaysTo: { name: 'bookings' } },
    },
    {
      path: '/bookings',
      name: 'bookings',
      component: BookingsView,
      meta: { backTo: { name: 'specializations' } },
    },
    {
      path: '/staff',
      name: 'staff-day',
      component: StaffDayView,
      meta: { backTo: { name: 'specializations' } },
    },
    {
      path: '/staff/book',
      name: 'staff-book',
      component: StaffBookView,
      meta: { backTo: { name: 'staff-day' } },
    },
    {
      path: '/staff/hours',
      name: 'staff-hours',
      component: StaffHoursView,
      meta: { backTo: { name: 'staff-day' } },
    },
    {
      path: '/staff/days-off',
      name: 'staff-days-off',
      component: StaffDaysOffView,
      meta: { backTo: { name: 'staff-day' } },
    },
    {
      path: '/:rest(.*)*',
      name: 'not-found',
      component: NotFoundView,
      meta: { backAlwaysTo: { name: 'specializations' } },
    },
  ],
  // Telegram puts its launch parameters into the hash (#tgWebAppData=...):
  // never treat that as an anchor to scroll to.
  scrollBehavior(_to, _from, saved) {
    return saved ?? { top: 0 }
  },
})

/** Back the way a user expects: our previous page, else the screen above this one. */
export function goBack(): void {
  const route = router.currentRoute.value
  if (route.meta.backAlwaysTo) {
    void router.replace(route.meta.backAlwaysTo)
    return
  }
  const state = window.history.state as { back?: string | null } | null
  if (state?.back) {
    router.back()
    return
  }
  void router.replace(route.meta.backTo ?? { name: 'specializations' })
}
