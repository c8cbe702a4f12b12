-- Users of a ClickHouse server (or cluster: add ON CLUSTER '{cluster}' after each name).
-- Run as an admin: clickhouse-client --multiquery < deploy/clickhouse/users.sql
-- Replace the passwords first; the database is `fanout` here.

-- Analysts: read-only, bounded. readonly = 1 also forbids changing settings in a query,
-- so the limits below hold.
CREATE SETTINGS PROFILE IF NOT EXISTS fanout_analyst_profile SETTINGS
    readonly = 1,
    max_execution_time = 60,
    max_result_rows = 1000000,
    max_memory_usage = 4000000000;
CREATE ROLE IF NOT EXISTS fanout_analyst;
GRANT SELECT ON fanout.email_events TO fanout_analyst;
GRANT SELECT ON fanout.lead_status TO fanout_analyst;
GRANT SELECT ON fanout.campaign_hourly TO fanout_analyst;
GRANT SELECT ON fanout.send_outcomes TO fanout_analyst;
CREATE USER IF NOT EXISTS analyst
    IDENTIFIED WITH sha256_password BY 'change-me-analyst'
    DEFAULT ROLE fanout_analyst
    SETTINGS PROFILE 'fanout_analyst_profile';

-- report_sink: applies the migrations, inserts events, serves the reports.
-- distributed_foreground_insert = 1: on a cluster, an insert into a Distributed table
-- returns only once the shards have the rows, so offsets are committed after that.
CREATE SETTINGS PROFILE IF NOT EXISTS fanout_sink_profile SETTINGS
    distributed_foreground_insert = 1,
    max_memory_usage = 4000000000;
CREATE USER IF NOT EXISTS fanout_sink
    IDENTIFIED WITH sha256_password BY 'change-me-sink'
    SETTINGS PROFILE 'fanout_sink_profile';
GRANT SELECT, INSERT, ALTER, CREATE TABLE, CREATE VIEW, DROP TABLE, DROP VIEW, OPTIMIZE
    ON fanout.* TO fanout_sink
