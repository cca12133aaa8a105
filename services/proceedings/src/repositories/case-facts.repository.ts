import type { ProceedingsCapacity } from '@trm/contracts';
import type { DbOrTx } from '@trm/event-store';
import type { Principal } from '@trm/platform';

export async function upsertCaseFacts(
  db: DbOrTx,
  schema: string,
  f: { caseId: string; notifyingOrganisationId: string; notifyingOrganisationType: string; notifiedAt: string },
): Promise<void> {
  await db
    .withSchema(schema)
    .insertInto('case_facts')
    .values({
      case_id: f.caseId,
      notifying_organisation_id: f.notifyingOrganisationId,
      notifying_organisation_type: f.notifyingOrganisationType,
      notified_at: f.notifiedAt,
    })
    .onConflict((oc) => oc.column('case_id').doNothing())
    .execute();
}

export async function upsertCaseParty(
  db: DbOrTx,
  schema: string,
  p: { caseId: string; organisationId: string; organisationType: string; purpose: string; at: string },
): Promise<void> {
  await db
    .withSchema(schema)
    .insertInto('case_parties')
    .values({ case_id: p.caseId, organisation_id: p.organisationId, organisation_type: p.organisationType, purpose: p.purpose, added_at: p.at })
    .onConflict((oc) => oc.columns(['case_id', 'organisation_id', 'purpose']).doNothing())
    .execute();
}

export async function removeCaseParty(db: DbOrTx, schema: string, caseId: string, organisationId: string, purpose: string): Promise<void> {
  await db
    .withSchema(schema)
    .deleteFrom('case_parties')
    .where('case_id', '=', caseId)
    .where('organisation_id', '=', organisationId)
    .where('purpose', '=', purpose)
    .execute();
}

/** Purposes that make an organisation the victim's side in the proceedings. */
export const COORDINATOR_PURPOSES = ['national_contact_point', 'regional_centre', 'proceedings_support'] as const;

/**
 * Consulates and service providers never see proceedings, whatever purpose they were added with:
 * a provider sees its referral, a consulate its travel document, never the criminal case.
 */
const NEVER = new Set(['consulate', 'service_provider']);

export interface CaseAccess {
  /** The organisation takes part in the case's proceedings and may read them. */
  visible: boolean;
  /** What the caller may do (role and organisation both count). */
  capacities: ProceedingsCapacity[];
}

/**
 * The caller's standing in a case, from the facts learnt from referrals. Law enforcement takes
 * part when added with purpose `law_enforcement`, or when it notified the case itself.
 */
export async function accessOf(db: DbOrTx, schema: string, caseId: string, principal: Principal): Promise<CaseAccess> {
  const none: CaseAccess = { visible: false, capacities: [] };
  if (NEVER.has(principal.orgType)) return none;
  const rows = await db
    .withSchema(schema)
    .selectFrom('case_parties')
    .select(['purpose', 'organisation_type'])
    .where('case_id', '=', caseId)
    .where('organisation_id', '=', principal.orgId)
    .execute();
  const purposes = new Set(rows.map((r) => r.purpose as string));
  // Law enforcement is never on the victim's side, even with a `proceedings_support` row learnt
  // from a ParticipantAdded recorded before referrals refused that purpose to it.
  const lawEnforcementOrg = principal.orgType === 'law_enforcement' || rows.some((r) => r.organisation_type === 'law_enforcement');
  const coordinatorSide = !lawEnforcementOrg && COORDINATOR_PURPOSES.some((p) => purposes.has(p));
  const lawEnforcementSide =
    principal.orgType === 'law_enforcement' && (purposes.has('law_enforcement') || purposes.has('notifier'));
  const capacities: ProceedingsCapacity[] = [];
  if (coordinatorSide && principal.roles.includes('proceedings_coordinator')) capacities.push('coordinator');
  if (lawEnforcementSide) capacities.push('law_enforcement');
  return { visible: coordinatorSide || lawEnforcementSide, capacities };
}

/** Organisation-scoped filter for listings: cases where the caller is on the victim's side (never law enforcement). */
export function coordinatorCasesOf(db: DbOrTx, schema: string, orgId: string) {
  return db
    .withSchema(schema)
    .selectFrom('case_parties')
    .select('case_id')
    .where('organisation_id', '=', orgId)
    .where('purpose', 'in', [...COORDINATOR_PURPOSES])
    .where('organisation_type', '<>', 'law_enforcement');
}
