-- `excluded` (a matched lead the lead resolver left out: suppressed, unsubscribed, an
-- invalid address, a duplicate) gets its rank in the lead_status version explicitly: 0,
-- below every send outcome (services/report_sink/precedence.py). The older types keep
-- their ranks 1..11, so versions written before this migration still compare correctly
-- with new ones; `excluded` events seen before it already got 0, transform's default.
-- MODIFY QUERY swaps the view's SELECT atomically and is idempotent.
ALTER TABLE lead_status_mv MODIFY QUERY
SELECT
    account_id,
    campaign_id,
    lead_id,
    email,
    type AS status,
    bounce_type,
    reason,
    occurred_at AS status_at,
    bitShiftLeft(
        toUInt64(transform(
            type,
            ['excluded', 'queued', 'cancelled', 'suppressed', 'failed', 'sent', 'delivered',
             'opened', 'clicked', 'bounced', 'unsubscribed', 'complained'],
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            0
        )),
        44
    ) + toUInt64(toUnixTimestamp64Milli(occurred_at)) AS version
FROM email_events
