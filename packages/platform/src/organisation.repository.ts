import type { Kysely } from 'kysely';
import type { Organisation, OrgType } from './identity.js';

export interface OrganisationRow {
  id: string;
  type: string;
  country: string;
  name: string;
  parent_id: string | null;
  active: boolean;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS = ['id', 'type', 'country', 'name', 'parent_id', 'active', 'created_at', 'updated_at'] as const;

export function toOrganisation(row: OrganisationRow): Organisation {
  return {
    id: row.id,
    type: row.type as OrgType,
    country: row.country,
    name: row.name,
    parentId: row.parent_id,
    active: row.active,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export async function findOrganisation(db: Kysely<any>, schema: string, id: string): Promise<Organisation | undefined> {
  const row = await db.withSchema(schema).selectFrom('organisations').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toOrganisation(row as OrganisationRow) : undefined;
}

export async function listOrganisations(db: Kysely<any>, schema: string): Promise<Organisation[]> {
  const rows = await db.withSchema(schema).selectFrom('organisations').select(COLUMNS).orderBy('id').execute();
  return rows.map((r) => toOrganisation(r as OrganisationRow));
}

export interface NewOrganisation {
  id: string;
  type: OrgType;
  country: string;
  name: string;
  parentId?: string | null;
  active?: boolean;
}

export async function insertOrganisation(db: Kysely<any>, schema: string, org: NewOrganisation): Promise<Organisation> {
  const row = await db
    .withSchema(schema)
    .insertInto('organisations')
    .values({
      id: org.id,
      type: org.type,
      country: org.country,
      name: org.name,
      parent_id: org.parentId ?? null,
      active: org.active ?? true,
    })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toOrganisation(row as OrganisationRow);
}

export async function updateOrganisation(
  db: Kysely<any>,
  schema: string,
  id: string,
  patch: { name?: string | undefined; active?: boolean | undefined },
): Promise<Organisation | undefined> {
  const row = await db
    .withSchema(schema)
    .updateTable('organisations')
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.active !== undefined ? { active: patch.active } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .returning(COLUMNS)
    .executeTakeFirst();
  return row ? toOrganisation(row as OrganisationRow) : undefined;
}
