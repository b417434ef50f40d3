CREATE OR REPLACE FUNCTION plan_messages(
    booking_id bigint, chat_id bigint, kinds text[], due_ats timestamptz[],
    with_confirmation boolean
) RETURNS TABLE (kind text, due_at timestamptz, status text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    INSERT INTO notifications AS n (booking_id, chat_id, kind, due_at)
    SELECT plan_messages.booking_id, plan_messages.chat_id, k.kind, k.due_at
    FROM (SELECT 'confirmation'::text AS kind, now() AS due_at
          WHERE plan_messages.with_confirmation
          UNION ALL
          SELECT r.kind, r.due_at
          FROM unnest(plan_messages.kinds, plan_messages.due_ats) AS r (kind, due_at)
          WHERE r.due_at > now()) AS k
    RETURNING n.kind, n.due_at, n.status;
END
$$;
