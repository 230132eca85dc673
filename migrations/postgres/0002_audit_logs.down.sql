-- 0002_audit_logs (down): drops the maintenance functions and audit_logs
-- with all its partitions (and their rows).

drop function drop_audit_partitions_before(timestamptz);
drop function create_audit_partitions(int);
drop table audit_logs;
