import { problemCode, registerProblemCodes } from '@trm/platform';

/** The proceedings service's refusals: stable codes clients can rely on, described at /problems/<code>. */
export function registerProceedingsProblems(): void {
  registerProblemCodes({
    'case-facts-behind': {
      status: 503,
      title: 'Case facts not yet current',
      description:
        'Proceedings learns who takes part in a case from referrals’ events; it serves personal data (a criminal case’s reference) only once it has applied every change referrals committed to the case, so a removal or an erasure takes effect from the next request. It has not yet: nothing was read. Retry after the `Retry-After` seconds.',
    },
    'proceedings-conditions-unmet': {
      status: 409,
      title: 'Proceedings conditions unmet',
      description:
        'The proceedings are not in a state that allows this command; nothing was written. `unmet` lists every condition: ' +
        'participation-consent-missing (no ParticipationConsented yet: every command needs the victim’s consent to take part), ' +
        'participation-withdrawn (the victim withdrew: the victim side’s own acts stop; stages, hearings, outcomes, an offender’s release, payments and informing the victim go on; consent can be given again), ' +
        'victim-declined-information (the victim asked not to be informed, recorded with the withdrawal), ' +
        'participation-already-consented, criminal-case-not-linked, criminal-case-closed, stage-must-move-forward, ' +
        'coordinator-records-only-foreign-trial-stages (the proceedings coordinator records stages only of a criminal case in another country than its own), ' +
        'final-stage-needs-judgment, judgment-needs-trial-or-appeal-stage, outcome-already-recorded-at-stage, duty-unknown, ' +
        'duty-not-open, protection-measure-already-granted, interpreter-already-assigned, claim-not-found, claim-already-decided, ' +
        'compensation-not-decided, compensation-not-awarded (a payment follows an award).',
    },
    'invalid-proceedings-command': {
      status: 422,
      title: 'Inconsistent proceedings command',
      description:
        'The command is well-formed but contradicts itself or the calendar; nothing was written. `unmet` lists every condition: ' +
        '<field>-in-future (a date that has not happened yet), withdrawn-before-consent, consented-before-withdrawal, claimed-amount-must-be-positive, ' +
        'award-currency-differs-from-claim, awarded-amount-must-be-positive, rejected-claim-has-no-award, ' +
        'source-required, source-must-be-lawyer-or-foreign-authority (a stage of a trial abroad recorded by the coordinator), ' +
        'paid-before-decision, paid-currency-differs-from-award, paid-amount-must-be-positive, paid-exceeds-award.',
    },
    'capacity-not-allowed': {
      status: 403,
      title: 'Not in a capacity that may do this',
      description:
        'Your organisation takes part in this case, but not in the capacity this command needs: stages, hearings and outcomes are recorded by ' +
        'a law-enforcement participant; consent, withdrawal, legal counsel and compensation claims by the national contact point or the ' +
        'organisation supporting the victim, with the proceedings_coordinator role.',
    },
  });
  // Shared meanings with referrals; registered here too so this service also runs alone.
  if (!problemCode('unknown-organisation-reference')) {
    registerProblemCodes({
      'unknown-organisation-reference': { status: 422, title: 'Unknown organisation', description: 'The request names an organisation that is not in the registry.' },
    });
  }
  if (!problemCode('concurrency-conflict')) {
    registerProblemCodes({
      'concurrency-conflict': { status: 409, title: 'Concurrent change', description: 'The case changed while the command ran. Retry.' },
    });
  }
}
