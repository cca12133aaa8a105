import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { runIdempotent, sendIdempotent } from './idempotency.js';
import { ALL_ROLES, CountryCode, OrgId, OrgType, type OrgDirectory } from './identity.js';
import {
  findOrganisation,
  insertOrganisation,
  listOrganisations,
  updateOrganisation,
  type NewOrganisation,
} from './organisation.repository.js';
import { ProblemError, notFound, registerProblemCodes } from './problems.js';

registerProblemCodes({
  'organisation-exists': {
    status: 409,
    title: 'Organisation already registered',
    description: 'An organisation with this id exists. Ids are never reused; choose another or PATCH the existing one.',
  },
  'unknown-parent': {
    status: 422,
    title: 'Unknown parent organisation',
    description: '`parentId` must name a registered organisation.',
  },
});

const OrganisationView = z.object({
  id: z.string(),
  type: OrgType,
  country: z.string(),
  name: z.string(),
  parentId: z.string().nullable(),
  active: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const CreateOrganisationBody = z
  .strictObject({
    id: OrgId.describe('Stable lower-kebab identifier, used as `org` in tokens'),
    type: OrgType,
    country: CountryCode.describe('ISO 3166-1 alpha-2'),
    name: z.string().min(1).max(200),
    parentId: OrgId.nullable().optional().describe('e.g. the central contact point of a regional centre'),
  })
  .meta({
    examples: [
      { id: 'anitp-rc-iasi', type: 'national_contact_point', country: 'RO', name: 'ANITP Regional Centre Iași', parentId: 'anitp' },
    ],
  });

const PatchOrganisationBody = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    active: z.boolean().optional().describe('false refuses the organisation\'s tokens (within the directory cache TTL)'),
  })
  .refine((b) => b.name !== undefined || b.active !== undefined, { message: 'Give name or active.' })
  .meta({ examples: [{ active: false }] });

const OrgParams = z.strictObject({ orgId: OrgId });

export interface RegistryRoutesOptions {
  db: Kysely<any>;
  schema?: string;
  /** Invalidated after a change so this process sees it at once. */
  directory?: OrgDirectory;
}

export const registryRoutes: FastifyPluginAsyncZod<RegistryRoutesOptions> = async (app, opts) => {
  const schema = opts.schema ?? 'registry';
  const db = opts.db;

  app.get(
    '/v1/organisations',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: { tags: ['registry'], summary: 'List registered organisations', response: { 200: z.object({ items: z.array(OrganisationView) }) } },
    },
    async () => ({ items: await listOrganisations(db, schema) }),
  );

  app.get(
    '/v1/organisations/:orgId',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: { tags: ['registry'], summary: 'One organisation', params: OrgParams, response: { 200: OrganisationView } },
    },
    async (request) => {
      const org = await findOrganisation(db, schema, request.params.orgId);
      if (!org) throw notFound('organisation');
      return org;
    },
  );

  app.post(
    '/v1/organisations',
    {
      config: { access: { roles: ['admin'], registryOperator: true } },
      schema: { tags: ['registry'], summary: 'Register an organisation', body: CreateOrganisationBody, response: { 201: OrganisationView } },
    },
    async (request, reply) => {
      const body = request.body;
      const result = await runIdempotent({ db, schema, request }, async (tx) => {
        if (await findOrganisation(tx, schema, body.id)) throw new ProblemError(409, 'organisation-exists');
        if (body.parentId && !(await findOrganisation(tx, schema, body.parentId))) throw new ProblemError(422, 'unknown-parent');
        const org = await insertOrganisation(tx, schema, body as NewOrganisation).catch(mapConstraintError);
        return { statusCode: 201, headers: { location: `/v1/organisations/${org.id}` }, body: org };
      });
      opts.directory?.invalidate?.(body.id);
      return sendIdempotent(reply, result);
    },
  );

  app.patch(
    '/v1/organisations/:orgId',
    {
      config: { access: { roles: ['admin'], registryOperator: true } },
      schema: {
        tags: ['registry'],
        summary: 'Rename, deactivate or reactivate an organisation',
        params: OrgParams,
        body: PatchOrganisationBody,
        response: { 200: OrganisationView },
      },
    },
    async (request) => {
      const org = await updateOrganisation(db, schema, request.params.orgId, request.body);
      if (!org) throw notFound('organisation');
      opts.directory?.invalidate?.(org.id);
      request.log.info({ orgId: org.id, active: org.active, by: request.principal.orgId }, 'organisation changed');
      return org;
    },
  );
};

function mapConstraintError(err: unknown): never {
  const code = (err as { code?: string }).code;
  // Two concurrent creations of one id: the loser gets the same answer as a later request would.
  if (code === '23505') throw new ProblemError(409, 'organisation-exists');
  if (code === '23503') throw new ProblemError(422, 'unknown-parent');
  throw err;
}

const DEMO_ORGANISATIONS: NewOrganisation[] = [
  { id: 'anitp', type: 'national_contact_point', country: 'RO', name: 'ANITP — National Agency against Trafficking in Persons' },
  { id: 'anitp-rc-bucharest', type: 'national_contact_point', country: 'RO', name: 'ANITP Regional Centre Bucharest', parentId: 'anitp' },
  { id: 'consulate-ro-it', type: 'consulate', country: 'IT', name: 'Consulate General of Romania in Rome' },
  { id: 'ngo-it', type: 'ngo', country: 'IT', name: 'Demo NGO Italy' },
  { id: 'iom-it', type: 'international_organisation', country: 'IT', name: 'IOM Italy' },
  { id: 'police-it', type: 'law_enforcement', country: 'IT', name: 'Demo anti-trafficking police unit Italy' },
  { id: 'dgaspc-bucharest', type: 'child_protection', country: 'RO', name: 'DGASPC Bucharest' },
  { id: 'provider-shelter', type: 'service_provider', country: 'RO', name: 'Demo shelter' },
  { id: 'auditor-ro', type: 'auditor', country: 'RO', name: 'Demo inspection body' },
  { id: 'stats-ro', type: 'statistics_consumer', country: 'RO', name: 'Demo statistics office' },
];

/** Fills an empty registry with the demo organisations; a registry with any row is left alone. */
export async function seedDemoOrganisations(db: Kysely<any>, schema = 'registry'): Promise<number> {
  return db.transaction().execute(async (tx) => {
    // Two processes starting together must not both see an empty table.
    await sql`lock table ${sql.id(schema, 'organisations')} in share row exclusive mode`.execute(tx);
    const existing = await tx.withSchema(schema).selectFrom('organisations').select('id').limit(1).executeTakeFirst();
    if (existing) return 0;
    for (const org of DEMO_ORGANISATIONS) await insertOrganisation(tx, schema, org);
    return DEMO_ORGANISATIONS.length;
  });
}
