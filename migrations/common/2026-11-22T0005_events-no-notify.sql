-- The relay is now woken by a bus signal sent after commit. NOTIFY takes a cluster-wide lock at
-- commit time, which serialised every appending transaction of every service (measured by the
-- benchmark: up to 1.65x more appends per second without it).
drop trigger if exists events_notify_appended on events;
drop function if exists events_notify_appended();
