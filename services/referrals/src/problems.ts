import { registerProblemCodes } from '@trm/platform';

/** The referrals service's refusals: stable codes clients can rely on, described at /problems/<code>. */
export function registerReferralsProblems(): void {
  registerProblemCodes({
    'case-already-exists': { status: 409, title: 'Case already exists', description: 'A case with this id was already notified.' },
    'case-not-found': { status: 404, title: 'Case not found', description: 'No such case, or your organisation does not take part in it.' },
    'invalid-notification': {
      status: 422,
      title: 'Inconsistent notification',
      description:
        'The notification is well-formed but contradicts itself. `unmet` lists every condition: identification-date-in-future, age-or-birth-year-required, birth-year-out-of-range, planned-return-date-without-return-wanted, planned-return-before-identification, no-national-contact-point.',
    },
    'invalid-acknowledgement': {
      status: 422,
      title: 'Inconsistent acknowledgement',
      description:
        '`unmet` lists every condition: alternate-contact-must-differ, regional-centre-not-of-this-contact-point, regional-centre-inactive.',
    },
    'already-acknowledged': { status: 409, title: 'Already acknowledged', description: 'The national contact point already acknowledged this notification.' },
    'not-the-national-contact-point': {
      status: 403,
      title: 'Not the contact point of this case',
      description: 'Only a national contact point that received the notification acknowledges it.',
    },
    'unknown-organisation-reference': {
      status: 422,
      title: 'Unknown organisation',
      description: 'The request names an organisation that is not in the registry.',
    },
    'purpose-not-allowed': {
      status: 403,
      title: 'Purpose does not allow personal data',
      description: 'Your organisation takes part in the case, but not for a purpose that needs the personal data.',
    },
    'concurrency-conflict': { status: 409, title: 'Concurrent change', description: 'The case changed while the command ran. Retry.' },
  });
}
