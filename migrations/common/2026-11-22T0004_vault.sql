-- Personal data of every service that collects it, encrypted per data subject (@trm/vault).
-- Unqualified: applied with search_path set to the service's schema. Runs on PostgreSQL 15+ and
-- PGlite.

-- One data key per subject, stored only wrapped by a master key the database never sees.
-- Erasure blanks the wrapped key and keeps the row as a marker, so a late write for an erased
-- subject is refused instead of silently creating a fresh key. Old row versions and WAL may still
-- hold the wrapped key until vacuumed and archived away: they are useless once the master key
-- that wrapped it is retired (rotate, rewrap, drop the old master key).
create table vault_keys (
  subject_id text primary key,
  master_key_id text not null,
  -- base64 of iv (12 bytes) ‖ GCM tag (16 bytes) ‖ encrypted 32-byte data key
  wrapped_key text not null,
  created_at timestamptz not null default now(),
  erased_at timestamptz null,
  constraint vault_keys_erased_holds_no_key check (
    (erased_at is null and wrapped_key <> '') or (erased_at is not null and wrapped_key = '' and master_key_id = '')
  )
);

-- Rotation looks for keys still wrapped by a retiring master key.
create index vault_keys_live_by_master_key on vault_keys (master_key_id) where erased_at is null;

create table vault_fields (
  subject_id text not null references vault_keys (subject_id),
  field text not null,
  ciphertext text not null,
  iv text not null,
  tag text not null,
  updated_at timestamptz not null default now(),
  primary key (subject_id, field)
);
