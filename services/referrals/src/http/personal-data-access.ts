import type { OrganisationType } from '@trm/contracts';
import { ProblemError } from '@trm/platform';
import type { CaseState } from '../domain/case.state.js';
import { type PersonalDataAccess, personalDataAccessOf } from '../domain/personal-data.rules.js';

const MESSAGES = {
  'purpose-not-allowed': 'Your organisation does not take part in this case for a purpose that needs personal data.',
  'consent-required': 'The person has not consented, or no longer consents, to share personal data with your organisation.',
  'open-referral-missing': 'No open referral of yours needs the personal data of this case.',
} as const;

/**
 * The fields `orgId` may decrypt now and the legal basis of each (the rules are the domain's,
 * `personalDataAccessOf`), or the 403 problem saying why it has no basis for any.
 */
export function personalDataAccess(state: CaseState, orgId: string, orgType: OrganisationType | null): Extract<PersonalDataAccess, { allowed: true }> {
  const access = personalDataAccessOf(state, orgId, orgType);
  if (access.allowed) return access;
  const message = access.unmet.includes('open-referral-missing') ? MESSAGES['open-referral-missing'] : MESSAGES[access.code];
  throw new ProblemError(403, access.code, message, access.unmet.length > 0 ? { unmet: access.unmet } : {});
}
