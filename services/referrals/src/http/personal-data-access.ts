import type { InformationItem, OrganisationType } from '@trm/contracts';
import { ProblemError } from '@trm/platform';
import type { CaseState } from '../domain/case.state.js';
import { personalDataAccessOf } from '../domain/personal-data.rules.js';

const MESSAGES = {
  'purpose-not-allowed': 'Your organisation does not take part in this case for a purpose that needs personal data.',
  'consent-required': 'The person has not consented, or no longer consents, to share personal data with your organisation.',
  'open-referral-missing': 'No open referral of yours needs the personal data of this case.',
} as const;

/**
 * Fields `orgId` may decrypt now (the rules are the domain's, `personalDataAccessOf`), or the
 * 403 problem saying why not.
 */
export function personalDataAccess(state: CaseState, orgId: string, orgType: OrganisationType | null): 'all' | InformationItem[] {
  const access = personalDataAccessOf(state, orgId, orgType);
  if (access.allowed) return access.fields;
  const message = access.unmet.includes('open-referral-missing') ? MESSAGES['open-referral-missing'] : MESSAGES[access.code];
  throw new ProblemError(403, access.code, message, access.unmet.length > 0 ? { unmet: access.unmet } : {});
}
