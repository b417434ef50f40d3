-- The clinic's side: staff and their roles, bookings taken by staff (a patient who may
-- have no Telegram), attendance, clinic cancellations, whole days off per doctor, days
-- the whole clinic is closed, and the audit log of every staff write.
-- depends: 0005_create_booking_cards

-- Admins, reception and doctors (a doctor is linked to their doctors row). Telegram
-- ids in ADMIN_IDS are admins without a row. `notify`: the member gets a Telegram
-- message for each new booking and cancellation they may see.
CREATE TABLE staff (
    telegram_id  bigint      NOT NULL,
    role         text        NOT NULL,
    doctor_id    integer,
    notify       boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT staff_pkey PRIMARY KEY (telegram_id),
    CONSTRAINT staff_telegram_id_positive CHECK (telegram_id > 0),
    CONSTRAINT staff_role_known CHECK (role IN ('admin', 'reception', 'doctor')),
    CONSTRAINT staff_doctor_iff_doctor_role CHECK ((role = 'doctor') = (doctor_id IS NOT NULL)),
    CONSTRAINT staff_doctor_fkey FOREIGN KEY (doctor_id) REFERENCES doctors (id),
    CONSTRAINT staff_doctor_key UNIQUE (doctor_id)
);

-- A booking is a patient's own (source 'patient', user_id set) or taken by staff by
-- phone or at the desk (source 'staff': a name, maybe a phone, and a user_id only when
-- the patient is known in Telegram).
ALTER TABLE bookings
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN source text NOT NULL DEFAULT 'patient',
    ADD COLUMN patient_name text,
    ADD COLUMN phone text,
    ADD COLUMN attendance text,
    ADD COLUMN attendance_at timestamptz,
    ADD COLUMN patient_confirmed_at timestamptz,
    ADD COLUMN cancelled_by text,
    ADD COLUMN cancel_reason text,
    ADD CONSTRAINT bookings_source_known CHECK (source IN ('patient', 'staff')),
    ADD CONSTRAINT bookings_patient_known CHECK (
        user_id IS NOT NULL OR (source = 'staff' AND patient_name IS NOT NULL)),
    ADD CONSTRAINT bookings_attendance_known CHECK (attendance IN ('arrived', 'no_show')),
    ADD CONSTRAINT bookings_attendance_at_iff_attendance CHECK (
        (attendance IS NULL) = (attendance_at IS NULL)),
    ADD CONSTRAINT bookings_cancelled_by_known CHECK (cancelled_by IN ('patient', 'clinic')),
    -- Who cancelled, on cancelled bookings only (a DBA's manual cancel may leave it NULL).
    ADD CONSTRAINT bookings_cancelled_by_only_cancelled CHECK (
        cancelled_by IS NULL OR status = 'cancelled');

UPDATE bookings SET cancelled_by = 'patient' WHERE status = 'cancelled';

-- A patient never has two overlapping confirmed bookings; a booking with no Telegram
-- patient is nobody's (int8range over NULL bounds is unbounded and would overlap all).
ALTER TABLE bookings DROP CONSTRAINT bookings_patient_no_overlap;
ALTER TABLE bookings ADD CONSTRAINT bookings_patient_no_overlap EXCLUDE USING gist (
    int8range(user_id, user_id, '[]') WITH &&,
    tstzrange(starts_at, ends_at) WITH &&) WHERE (status = 'confirmed' AND user_id IS NOT NULL);

-- Whole days off of one doctor, inclusive, in the clinic's dates.
CREATE TABLE time_off (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    doctor_id   integer     NOT NULL,
    date_from   date        NOT NULL,
    date_to     date        NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    created_by  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT time_off_pkey PRIMARY KEY (id),
    CONSTRAINT time_off_doctor_fkey FOREIGN KEY (doctor_id) REFERENCES doctors (id),
    CONSTRAINT time_off_order CHECK (date_from <= date_to),
    -- One doctor's days off never overlap: a second one over the same days is a mistake.
    CONSTRAINT time_off_no_overlap EXCLUDE USING gist (
        int4range(doctor_id, doctor_id, '[]') WITH &&,
        daterange(date_from, date_to, '[]') WITH &&)
);

-- Days the whole clinic is closed (holidays), in the clinic's dates.
CREATE TABLE closures (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    day         date        NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    created_by  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT closures_pkey PRIMARY KEY (id),
    CONSTRAINT closures_day_key UNIQUE (day)
);

-- Every staff write: who (a Telegram id; NULL from the command line), what, the row
-- before and after.
CREATE TABLE staff_actions (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    actor       bigint,
    action      text        NOT NULL,
    subject     text        NOT NULL,
    before      jsonb,
    after       jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT staff_actions_pkey PRIMARY KEY (id)
);

CREATE INDEX bookings_doctor_starts_idx ON bookings (doctor_id, starts_at);

-- The job table also tells a patient that the clinic cancelled their visit.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_known;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_known CHECK (
    kind IN ('confirmation', '24h', '6h', '30m', 'cancelled_by_clinic'));

-- Booking and schedule changes meet on these locks, so that a booking and a time off
-- or a closure that cover the same day can never both commit: a booking takes the
-- day's locks shared, a time off or a closure exclusive; each then looks, with a fresh
-- snapshot taken after the lock, at what the other side committed.
CREATE FUNCTION schedule_lock_key(doctor_id integer, day date) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT hashtextextended('schedule:' || coalesce(doctor_id::text, 'clinic') || ':' || day, 0)
$$;

-- True when the doctor works that day as far as days off and closures go; called by
-- the booking insert itself, after which no time off or closure of that day can commit
-- until the booking's transaction ends.
CREATE FUNCTION booking_day_open(doctor_id integer, day date) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock_shared(schedule_lock_key(booking_day_open.doctor_id, day)),
           pg_advisory_xact_lock_shared(schedule_lock_key(NULL, day));
    SELECT NOT EXISTS (SELECT 1 FROM time_off AS t
                       WHERE t.doctor_id = booking_day_open.doctor_id
                         AND booking_day_open.day BETWEEN t.date_from AND t.date_to)
       AND NOT EXISTS (SELECT 1 FROM closures AS c WHERE c.day = booking_day_open.day);
$$;

-- The card: what the API, the bot and the staff's day view show of a booking.
CREATE OR REPLACE VIEW booking_cards AS
SELECT b.id, b.user_id, b.doctor_id, b.status, b.starts_at, b.ends_at, b.created_at,
       b.cancelled_at, d.last_name, d.first_name, d.middle_name, d.title, d.specialization,
       d.photo, b.source, b.patient_name, b.phone, b.attendance, b.attendance_at,
       b.patient_confirmed_at, b.cancelled_by, b.cancel_reason
FROM bookings AS b
JOIN doctor_cards AS d ON d.id = b.doctor_id;
