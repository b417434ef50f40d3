-- Patients beyond booking: a waitlist for a full day, rescheduling (a booking's revision
-- grows with each change), patient limits decided under the patient's lock, and the job
-- table carrying every message the system sends on its own: waitlist offers, notices of
-- cancellations and moves, staff notices. The bot remembers the cards it sent per booking
-- so that cancelling or moving it takes their buttons away.
-- depends: 0006_create_staff 0007_add_catalog_search

-- "Tell me if a slot frees up that day": active until booked through an offer, removed,
-- or the day passes.
CREATE TABLE waitlist (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    user_id     bigint      NOT NULL,
    doctor_id   integer     NOT NULL,
    day         date        NOT NULL,
    status      text        NOT NULL DEFAULT 'active',
    booking_id  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    CONSTRAINT waitlist_pkey PRIMARY KEY (id),
    CONSTRAINT waitlist_user_fkey FOREIGN KEY (user_id) REFERENCES users (telegram_id),
    CONSTRAINT waitlist_doctor_fkey FOREIGN KEY (doctor_id) REFERENCES doctors (id),
    CONSTRAINT waitlist_booking_fkey FOREIGN KEY (booking_id)
        REFERENCES bookings (id) ON DELETE SET NULL,
    CONSTRAINT waitlist_status_known CHECK (status IN ('active', 'booked', 'removed')),
    CONSTRAINT waitlist_ended_iff_not_active CHECK ((status = 'active') = (ended_at IS NULL))
);
-- One active entry per patient, doctor and day.
CREATE UNIQUE INDEX waitlist_active_key ON waitlist (user_id, doctor_id, day)
    WHERE status = 'active';
-- Who is offered a freed slot first: the oldest active entries of that doctor and day.
CREATE INDEX waitlist_offer_idx ON waitlist (doctor_id, day, created_at) WHERE status = 'active';

-- SEQUENCE of the booking's calendar file: grows with each reschedule and cancellation.
ALTER TABLE bookings ADD COLUMN revision integer NOT NULL DEFAULT 0;

-- A job is about a booking (reminders, notices) or a waitlist entry (an offer of the slot
-- starting at slot_at). message_id: what Telegram answered, once sent.
ALTER TABLE notifications
    ALTER COLUMN booking_id DROP NOT NULL,
    ADD COLUMN waitlist_id bigint,
    ADD COLUMN slot_at timestamptz,
    ADD COLUMN message_id bigint,
    DROP CONSTRAINT notifications_booking_kind_key,
    DROP CONSTRAINT notifications_kind_known,
    ADD CONSTRAINT notifications_waitlist_fkey FOREIGN KEY (waitlist_id)
        REFERENCES waitlist (id) ON DELETE CASCADE,
    ADD CONSTRAINT notifications_kind_known CHECK (kind IN (
        'confirmation', '24h', '6h', '30m', 'cancelled', 'cancelled_by_clinic', 'moved',
        'waitlist_offer', 'staff_new_booking', 'staff_cancelled', 'staff_moved')),
    ADD CONSTRAINT notifications_one_subject CHECK (
        (booking_id IS NULL) <> (waitlist_id IS NULL)),
    ADD CONSTRAINT notifications_offer_shape CHECK (
        (kind = 'waitlist_offer') = (waitlist_id IS NOT NULL)
        AND (kind = 'waitlist_offer') = (slot_at IS NOT NULL));

-- One message of a kind per booking and chat in flight: a reschedule plans the
-- reminders anew once the old ones are cancelled.
CREATE UNIQUE INDEX notifications_planned_key ON notifications (booking_id, kind, chat_id)
    WHERE status IN ('pending', 'sending');
-- One offer of a slot per waitlist entry in flight.
CREATE UNIQUE INDEX notifications_offer_key ON notifications (waitlist_id, slot_at)
    WHERE status IN ('pending', 'sending');

-- The bot's messages about a booking that carry its buttons (cards, confirmations,
-- reminders): cancelling or moving the booking takes their buttons away.
CREATE TABLE chat_cards (
    chat_id     bigint      NOT NULL,
    message_id  bigint      NOT NULL,
    booking_id  bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chat_cards_pkey PRIMARY KEY (chat_id, message_id),
    CONSTRAINT chat_cards_booking_fkey FOREIGN KEY (booking_id)
        REFERENCES bookings (id) ON DELETE CASCADE
);
CREATE INDEX chat_cards_booking_idx ON chat_cards (booking_id, chat_id);

-- True when the patient may hold one more upcoming booking (cap NULL: no cap, as for the
-- staff). Called by the booking insert itself: it queues on the patient's lock first,
-- then counts with a fresh snapshot, so concurrent bookings of one patient are counted
-- one after the other and never pass the cap together.
CREATE FUNCTION patient_may_book(user_id bigint, now timestamptz, cap integer)
RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('booking:patient:' || patient_may_book.user_id, 0));
    SELECT patient_may_book.cap IS NULL
        OR (SELECT count(*) FROM bookings AS b
            WHERE b.user_id = patient_may_book.user_id AND b.status = 'confirmed'
              AND b.starts_at > patient_may_book.now) < patient_may_book.cap;
$$;

-- True when the patient may join the waitlist once more: the same lock-then-count.
CREATE FUNCTION waitlist_room(user_id bigint, today date, cap integer) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('waitlist:patient:' || waitlist_room.user_id, 0));
    SELECT (SELECT count(*) FROM waitlist AS w
            WHERE w.user_id = waitlist_room.user_id AND w.status = 'active'
              AND w.day >= waitlist_room.today) < waitlist_room.cap;
$$;

CREATE OR REPLACE VIEW booking_cards AS
SELECT b.id, b.user_id, b.doctor_id, b.status, b.starts_at, b.ends_at, b.created_at,
       b.cancelled_at, d.last_name, d.first_name, d.middle_name, d.title, d.specialization,
       d.photo, b.source, b.patient_name, b.phone, b.attendance, b.attendance_at,
       b.patient_confirmed_at, b.cancelled_by, b.cancel_reason, b.revision
FROM bookings AS b
JOIN doctor_cards AS d ON d.id = b.doctor_id;
