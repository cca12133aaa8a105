import { registerProblemCodes } from '@trm/platform';

/** The repatriation service's refusals: stable codes clients can rely on, described at /problems/<code>. */
export function registerRepatriationProblems(): void {
  registerProblemCodes({
    'departure-conditions-unmet': {
      status: 409,
      title: 'The person cannot depart yet',
      description:
        '`unmet` lists every condition still missing: case-facts-not-current (repatriation has not yet applied every event referrals holds for the case: retry shortly), consent-to-return-not-in-force, return-request-not-acknowledged, risk-assessment-missing, origin-risk-assessment-missing (the origin country\'s assessment governs), risk-disagreement-unresolved (the two sides\' latest assessments disagree: the origin\'s national contact point resolves), risk-assessment-advises-against-return (the origin\'s assessment, or its resolution, says do_not_return; a newer destination proceed never supersedes it), risk-flag-raised-since-assessment (a threat or re-trafficking flag raised in referrals since the origin last assessed), travel-not-planned, travel-document-missing, travel-document-not-valid-on-departure, reception-not-arranged, reception-not-arranged-by-origin; for a child also child-protection-not-participant, consent-to-return-not-by-legal-representative (the person\'s own consent, given before the case turned out a child\'s: the guardian\'s or a parent\'s counts), guardian-not-appointed, best-interests-determination-missing, best-interests-against-return (stops the return: Convention Art. 16(7)), family-assessment-missing, family-not-suitable-without-placement (the family was assessed not suitable and no placement by child protection at arrival is recorded), escort-missing.',
    },
    'consent-to-return-required': {
      status: 409,
      title: 'No consent to return',
      description: 'A return exists only with the victim\'s recorded consent to return (`unmet`: consent-to-return-not-in-force).',
    },
    'return-already-active': { status: 409, title: 'A return is already under way', description: 'The case has an active return; cancel it before requesting another.' },
    'return-already-exists': { status: 409, title: 'Return already exists', description: 'A return with this id already exists.' },
    'return-not-found': { status: 404, title: 'Return not found', description: 'No such return, or your organisation does not take part in its case.' },
    'return-cancelled': { status: 409, title: 'Return cancelled', description: 'The return was cancelled; request a new one if the person wants to return.' },
    'return-already-departed': { status: 409, title: 'Already departed', description: 'This step is possible only before departure.' },
    'return-stopped': {
      status: 409,
      title: 'Return stopped',
      description: 'A best-interests determination found that return is not in the child\'s interests (Convention Art. 16(7)): the return can only be cancelled.',
    },
    'not-in-transit': { status: 409, title: 'Not travelling', description: 'Transit and arrival are recorded between departure and arrival.' },
    'not-arrived': { status: 409, title: 'Not arrived', description: 'Hand-over and follow-ups come after arrival.' },
    'already-handed-over': { status: 409, title: 'Already handed over', description: 'The person was already handed over to assistance.' },
    'follow-up-already-recorded': { status: 409, title: 'Follow-up already recorded', description: 'This follow-up was already recorded.' },
    'return-request-already-acknowledged': { status: 409, title: 'Already acknowledged', description: 'The national contact point already acknowledged this return request.' },
    'travel-document-already-requested': {
      status: 409,
      title: 'Travel document already requested',
      description: 'A travel document is already requested or issued; a new request is possible after a refusal.',
    },
    'no-pending-travel-document-request': { status: 409, title: 'No pending request', description: 'No travel document request is waiting for the consulate\'s answer.' },
    'not-your-step': {
      status: 403,
      title: 'Not your step',
      description:
        'Your organisation takes part in the case, but this step belongs to another party: the destination partner requests, plans and departs; the national contact point acknowledges and receives; the consulate taking part issues travel documents; child protection records a child\'s safeguards.',
    },
    'invalid-return-request': { status: 422, title: 'Inconsistent return request', description: '`unmet`: planned-departure-in-past.' },
    'invalid-return-acknowledgement': { status: 422, title: 'Inconsistent acknowledgement', description: '`unmet`: alternate-contact-must-differ.' },
    'invalid-risk-assessment': {
      status: 422,
      title: 'Inconsistent risk assessment',
      description:
        '`unmet`: assessed-on-in-future, factors-repeat, assessment-id-in-use, high-risk-cannot-proceed-without-measures (high risk goes with proceed_with_measures or do_not_return), measures-required (proceed_with_measures names them), measures-only-with-proceed-with-measures, measures-repeat.',
    },
    'no-risk-disagreement': {
      status: 409,
      title: 'Nothing to resolve',
      description: 'The two sides\' latest risk assessments do not disagree (`unmet`: risk-disagreement-missing): a resolution is recorded only when one advises against return and the other does not, or the origin does not concur.',
    },
    'invalid-risk-resolution': {
      status: 422,
      title: 'Inconsistent resolution',
      description: '`unmet`: high-risk-cannot-proceed-without-measures, measures-required, measures-only-with-proceed-with-measures, measures-repeat.',
    },
    'invalid-unannounced-arrival': { status: 422, title: 'Inconsistent unannounced arrival', description: '`unmet`: arrived-on-in-future.' },
    'return-not-cancellable': { status: 409, title: 'Not cancellable', description: 'Only a return not yet departed is cancelled when consent to return is withdrawn.' },
    'consent-to-return-in-force': { status: 409, title: 'Consent in force', description: 'A return is cancelled for a withdrawal only once consent to return is withdrawn.' },
    'invalid-risk-comment': { status: 422, title: 'Inconsistent comment', description: '`unmet`: assessment-not-found.' },
    'invalid-travel-document-request': { status: 422, title: 'Inconsistent travel document request', description: '`unmet`: consulate-not-participant.' },
    'invalid-travel-document': { status: 422, title: 'Inconsistent travel document', description: '`unmet`: valid-until-before-valid-from, valid-until-in-past.' },
    'invalid-travel-plan': { status: 422, title: 'Inconsistent travel plan', description: '`unmet`: departure-date-in-past, transit-countries-repeat.' },
    'invalid-reception': { status: 422, title: 'Inconsistent reception', description: '`unmet`: receiving-organisation-not-participant.' },
    'invalid-guardian-appointment': { status: 422, title: 'Inconsistent appointment', description: '`unmet`: appointed-on-in-future.' },
    'invalid-best-interests-determination': { status: 422, title: 'Inconsistent determination', description: '`unmet`: determined-on-in-future.' },
    'invalid-family-assessment': { status: 422, title: 'Inconsistent family assessment', description: '`unmet`: assessed-on-in-future, placement-only-for-a-family-not-suitable, placement-by-child-protection-participant.' },
    'invalid-handover': { status: 422, title: 'Inconsistent hand-over', description: '`unmet`: services-repeat.' },
    'invalid-follow-up': { status: 422, title: 'Inconsistent follow-up', description: '`unmet`: not-a-scheduled-follow-up (the schedule is the follow-up policy, 30/90/180 days by default).' },
    'not-a-contact-point': { status: 403, title: 'Not a national contact point', description: 'The board is for national contact points.' },
    'unknown-organisation-reference': { status: 422, title: 'Unknown organisation', description: 'The request names an organisation that is not in the registry.' },
    'concurrency-conflict': { status: 409, title: 'Concurrent change', description: 'The return changed while the command ran. Retry.' },
  });
}
