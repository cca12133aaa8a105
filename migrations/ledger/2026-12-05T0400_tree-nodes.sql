-- The Merkle tree in PostgreSQL (issue 15, finding 4), as C2SP tlog-tiles stores it: the hash of
-- every complete, aligned subtree of 256^k leaves (k >= 1), i.e. tree levels 8, 16, 24…; level 0
-- is ledger_entries.leaf_hash. Any root or proof needs O(log n) of these (and at most 128 hashes
-- of the level below for each), so no replica holds or rebuilds the tree in memory.
create table tree_nodes (
  level smallint not null check (level > 0 and level % 8 = 0),
  idx bigint not null check (idx >= 0),
  hash bytea not null check (octet_length(hash) = 32),
  primary key (level, idx)
);

create trigger tree_nodes_refuse_update_delete before update or delete on tree_nodes
  for each row execute function ledger_refuse_change();
create trigger tree_nodes_refuse_truncate before truncate on tree_nodes
  for each statement execute function ledger_refuse_change();
alter table tree_nodes enable always trigger tree_nodes_refuse_update_delete;
alter table tree_nodes enable always trigger tree_nodes_refuse_truncate;
revoke update, delete, truncate on tree_nodes from public;
