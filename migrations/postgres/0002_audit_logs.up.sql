-- 0002_audit_logs: the audit trail, range-partitioned by month.
--
-- Created before every audited table because their audit triggers (0003+)
-- insert here from the first row on. Creates audit_logs with a DEFAULT
-- partition, its tenant-leading indexes, the maintenance functions
-- create_audit_partitions(int) and drop_audit_partitions_before(timestamptz),
-- and the partitions of the current month and the next three.
-- Row-level security and table grants are in 0009_row_level_security.

-- IMPROVED: partitioned by month on created_at (the seed's "Partitioning"
-- section), so retention is a DROP TABLE instead of a huge DELETE; the
-- primary key therefore includes the partition key: (id, created_at).
-- IMPROVED: NO foreign keys on tenant_id / user_id. An audit log must outlive
-- what it describes, and with the seed's REFERENCES users(id) the audit row
-- written by the users DELETE trigger would fail its own foreign key.
-- IMPROVED: created_at NOT NULL (it is the partition key).
create table audit_logs (
    id            uuid         not null default gen_random_uuid(),
    tenant_id     uuid,
    user_id       uuid,
    action        varchar(100) not null,
    resource_type varchar(50)  not null,
    resource_id   uuid,
    old_values    jsonb,
    new_values    jsonb,
    ip_address    inet,
    user_agent    text,
    created_at    timestamptz  not null default now(),
    constraint audit_logs_pkey primary key (id, created_at)
) partition by range (created_at);

-- Catches rows no monthly partition covers (maintenance late, clock skew,
-- back-dated rows). create_audit_partitions moves them out when it creates
-- their month.
create table audit_logs_default partition of audit_logs default;

-- IMPROVED: the seed's single-column indexes (tenant_id, user_id, action,
-- (resource_type, resource_id), created_at) are replaced by tenant-leading
-- composites matching GET /audit-logs: every query is per tenant (RLS adds
-- tenant_id = …), newest first, keyset-paginated on (created_at, id), and
-- optionally filtered by user, action or resource. A bare created_at index
-- is not needed: time ranges prune partitions.
create index idx_audit_logs_tenant_created
    on audit_logs (tenant_id, created_at desc, id desc);
create index idx_audit_logs_tenant_user
    on audit_logs (tenant_id, user_id, created_at desc, id desc);
create index idx_audit_logs_tenant_action
    on audit_logs (tenant_id, action, created_at desc, id desc);
create index idx_audit_logs_tenant_resource
    on audit_logs (tenant_id, resource_type, resource_id, created_at desc, id desc);

-- create_audit_partitions(months_ahead): creates audit_logs_YYYY_MM for the
-- current month through current + months_ahead (UTC months), skipping those
-- that exist; returns how many it created. Idempotent and safe to run from
-- any number of workers (transaction-scoped advisory lock).
--
-- Rows of a new month already sitting in the DEFAULT partition would make a
-- plain CREATE TABLE … PARTITION OF fail, so each partition is created
-- standalone, those rows are copied into it and deleted from the default
-- partition, and then it is ATTACHed. The default partition is locked for
-- the duration so no row for that month can slip in between.
--
-- SECURITY DEFINER: creating and attaching partitions needs ownership of
-- audit_logs; the maintenance worker calls this as app_admin. It touches
-- the partitions directly (they carry no RLS and no grants), never rows
-- through the parent.
create or replace function create_audit_partitions(months_ahead int)
returns int
language plpgsql
security definer
as $$
declare
    v_schema  text := current_schema();
    v_parent  regclass := 'audit_logs'::regclass;
    v_default regclass;
    v_month   timestamp := date_trunc('month', now() at time zone 'UTC');
    v_from    timestamp;
    v_to      timestamp;
    v_name    text;
    v_locked  boolean := false;
    v_created int := 0;
begin
    if months_ahead is null or months_ahead < 0 or months_ahead > 120 then
        raise exception 'create_audit_partitions: months_ahead must be between 0 and 120, got %', months_ahead
            using errcode = 'invalid_parameter_value';
    end if;

    perform pg_advisory_xact_lock(hashtext('azth.audit_logs.partitions'));

    select partdefid::regclass into v_default
    from pg_partitioned_table
    where partrelid = v_parent and partdefid <> 0;

    for i in 0 .. months_ahead loop
        v_from := v_month + make_interval(months => i);
        v_to   := v_from + interval '1 month';
        v_name := 'audit_logs_' || to_char(v_from, 'YYYY_MM');

        if to_regclass(format('%I.%I', v_schema, v_name)) is not null then
            continue;
        end if;

        if v_default is not null and not v_locked then
            execute format('lock table %s in access exclusive mode', v_default);
            v_locked := true;
        end if;

        execute format('create table %I.%I (like %s including defaults including constraints)',
                       v_schema, v_name, v_parent);

        if v_default is not null then
            execute format('insert into %I.%I select * from %s where created_at >= $1 and created_at < $2',
                           v_schema, v_name, v_default)
                using v_from at time zone 'UTC', v_to at time zone 'UTC';
            execute format('delete from %s where created_at >= $1 and created_at < $2', v_default)
                using v_from at time zone 'UTC', v_to at time zone 'UTC';
        end if;

        execute format('alter table %s attach partition %I.%I for values from (%L) to (%L)',
                       v_parent, v_schema, v_name,
                       to_char(v_from, 'YYYY-MM-DD') || ' 00:00:00+00',
                       to_char(v_to, 'YYYY-MM-DD') || ' 00:00:00+00');
        v_created := v_created + 1;
    end loop;

    return v_created;
end;
$$;

-- drop_audit_partitions_before(cutoff): retention. Drops every monthly
-- partition audit_logs_YYYY_MM whose whole month lies before cutoff, and
-- deletes rows older than cutoff from the DEFAULT partition (rows that
-- landed there because no partition existed yet would otherwise never
-- expire). Returns the number of partitions dropped. SECURITY DEFINER for
-- the same reason as create_audit_partitions.
create or replace function drop_audit_partitions_before(cutoff timestamptz)
returns int
language plpgsql
security definer
as $$
declare
    v_parent  regclass := 'audit_logs'::regclass;
    v_default regclass;
    v_part    record;
    v_to      timestamptz;
    v_dropped int := 0;
begin
    if cutoff is null then
        raise exception 'drop_audit_partitions_before: cutoff must not be null'
            using errcode = 'invalid_parameter_value';
    end if;

    perform pg_advisory_xact_lock(hashtext('azth.audit_logs.partitions'));

    for v_part in
        select c.oid::regclass as rel, c.relname
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = v_parent
          and c.relname ~ '^audit_logs_[0-9]{4}_[0-9]{2}$'
        order by c.relname
    loop
        -- end of the partition's month, as a UTC instant
        v_to := (to_date(substr(v_part.relname, 12, 7), 'YYYY_MM')::timestamp
                 + interval '1 month') at time zone 'UTC';
        if v_to <= cutoff then
            execute format('drop table %s', v_part.rel);
            v_dropped := v_dropped + 1;
        end if;
    end loop;

    select partdefid::regclass into v_default
    from pg_partitioned_table
    where partrelid = v_parent and partdefid <> 0;
    if v_default is not null then
        execute format('delete from %s where created_at < $1', v_default) using cutoff;
    end if;

    return v_dropped;
end;
$$;

do $$
begin
    execute format('alter function create_audit_partitions(int) set search_path = %I, pg_temp', current_schema());
    execute format('alter function drop_audit_partitions_before(timestamptz) set search_path = %I, pg_temp', current_schema());
end
$$;

-- SECURITY DEFINER functions: never executable by PUBLIC.
revoke execute on function create_audit_partitions(int) from public;
revoke execute on function drop_audit_partitions_before(timestamptz) from public;
grant execute on function create_audit_partitions(int) to app_admin;
grant execute on function drop_audit_partitions_before(timestamptz) to app_admin;

select create_audit_partitions(3);
