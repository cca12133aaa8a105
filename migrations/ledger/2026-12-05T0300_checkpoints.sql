-- C2SP signed-note checkpoints of the signed tree heads (issue 15): one per tree size, signed with
-- the ledger key at the moment its head was signed, byte for byte what /v1/ledger/log/checkpoint
-- serves. Append-only, like the heads.
create table checkpoints (
  tree_size bigint primary key references tree_heads (tree_size),
  note text not null,
  created_at timestamptz not null default now()
);

create trigger checkpoints_refuse_update_delete before update or delete on checkpoints
  for each row execute function ledger_refuse_change();
create trigger checkpoints_refuse_truncate before truncate on checkpoints
  for each statement execute function ledger_refuse_change();
alter table checkpoints enable always trigger checkpoints_refuse_update_delete;
alter table checkpoints enable always trigger checkpoints_refuse_truncate;
revoke update, delete, truncate on checkpoints from public;
