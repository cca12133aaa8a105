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
        'The notification is well-formed but contradicts itself. `unmet` lists every condition: identification-date-in-future, birth-year-out-of-range, approximate-without-age, citizenship-not-first-of-citizenships, stateless-or-unknown-citizenship-alone, planned-return-date-without-return-wanted, planned-return-before-identification, and the addressee’s (see invalid-addressee). Age and birth year may both be unknown: the person is then presumed a child.',
    },
    'invalid-addressee': {
      status: 422,
      title: 'Contact point may not coordinate this case',
      description:
        'The contact point the notification is addressed to (`addressedTo`, or the default one) may not coordinate it; nothing was written. `errors` points at `/addressedTo`; `unmet`: ' +
        'addressee-not-a-national-contact-point, addressee-not-a-central-contact-point (a regional centre), addressee-inactive, victim-fears-authorities-of-country (a contact point of a country in `fearsAuthoritiesOf`), ' +
        'international-protection-sought (the contact point of the citizenship while international protection is sought). Name another contact point in `addressedTo`.',
    },
    'contact-point-refused': {
      status: 409,
      title: 'Contact point cannot join the case',
      description:
        'A further national contact point (the case is coordinated by the one it was addressed to) joins only with the person’s consent to share with it, never while international protection is sought, never one of a country whose authorities the person fears; nothing was written. `unmet`: ' +
        'consent-for-sharing-with-contact-point-missing, international-protection-sought, victim-fears-authorities-of-country, contact-point-country-unknown.',
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
    'case-closed': {
      status: 409,
      title: 'Case closed',
      description: 'The case is closed and refuses changes until it is reopened (POST /v1/cases/{caseId}/reopening). Erasure of personal data is still possible.',
    },
    'case-not-closed': { status: 409, title: 'Case not closed', description: 'Only a closed case can be reopened.' },
    'service-referral-refused': {
      status: 409,
      title: 'Service referral refused',
      description:
        '`unmet` lists every gate not met: consent-for-assistance-missing, consent-for-sharing-with-provider-missing, consent-for-assistance-not-by-legal-representative and consent-for-sharing-not-by-legal-representative (a child’s case: the person’s own consent does not count, the guardian’s or a parent’s does), child-protection-participant-missing, provider-not-a-service-provider, provider-inactive, case-closed.',
    },
    'service-referral-not-found': { status: 404, title: 'Service referral not found', description: 'No such referral in this case, or it is not yours.' },
    'service-referral-not-open': { status: 409, title: 'Referral not in the needed state', description: '`unmet` names the state the referral must be in (referral-made, referral-accepted).' },
    'service-referral-already-assigned': { status: 409, title: 'Referral already assigned', description: 'The referral already has a provider.' },
    'service-referral-already-exists': { status: 409, title: 'Referral id taken', description: 'A referral with this id exists.' },
    'not-the-provider': { status: 403, title: 'Not the provider of this referral', description: 'Only the organisation the referral was made to acts on it.' },
    'consent-already-recorded': { status: 409, title: 'Consent already in force', description: 'This consent (purpose and organisation) is already recorded.' },
    'consent-not-given': { status: 409, title: 'Consent not in force', description: 'There is no consent for this purpose (and organisation) to withdraw.' },
    'consent-required': {
      status: 403,
      title: 'Consent to share with you is missing',
      description: 'The person has not consented, or has withdrawn consent, to share personal data with your organisation. `unmet`: consent-for-sharing-missing.',
    },
    'invalid-consent': { status: 422, title: 'Inconsistent consent', description: '`unmet`: sharing-needs-organisation, only-sharing-names-an-organisation, given-on-in-future.' },
    'invalid-participant': {
      status: 422,
      title: 'Participant does not fit',
      description: '`unmet`: purpose-implied-by-case (notifier, regional_centre, and national_contact_point for the contact point the case was addressed to), organisation-type-does-not-fit-purpose (e.g. law enforcement for proceedings_support: it is never on the victim’s side), contact-point-not-central (a regional centre as a further contact point), organisation-inactive.',
    },
    'already-a-participant': { status: 409, title: 'Already a participant', description: 'The organisation already takes part in the case for this purpose.' },
    'participant-not-found': { status: 404, title: 'Participant not found', description: 'The organisation does not take part in the case for this purpose.' },
    'child-protection-required': { status: 409, title: 'Child protection required', description: 'A child case keeps at least one child protection participant. `unmet`: child-protection-participant-required.' },
    'invalid-information-request': { status: 422, title: 'Inconsistent request for information', description: '`unmet`: requested-organisation-not-a-participant, personal-data-erased.' },
    'information-request-already-exists': { status: 409, title: 'Request id taken', description: 'A request for information with this id exists.' },
    'information-request-not-found': { status: 404, title: 'Request for information not found', description: 'No such request in this case.' },
    'not-the-requested-organisation': { status: 403, title: 'Not the organisation asked', description: 'The request for information was addressed to another organisation.' },
    'information-already-provided': { status: 409, title: 'Already answered', description: 'This request for information was already answered.' },
    'information-not-requested': {
      status: 422,
      title: 'Items not requested',
      description: 'An answer gives only the items the request asked for. `errors` has a pointer (`/person/<item>`) per item that was not requested (never its value); `unmet`: only-requested-items. Nothing was written: answer again with the items requested.',
    },
    'information-overwrite-refused': {
      status: 409,
      title: 'Would overwrite what you cannot read',
      description:
        'An item of the answer is already in the case file and your organisation may not read it, so it may not write over it (lists such as documents and otherNames are added to instead). `errors` points at each such item; `unmet`: present-items-not-readable. Nothing was written.',
    },
    'law-enforcement-not-victims-side': {
      status: 409,
      title: 'Not for law enforcement',
      description:
        'Law enforcement never acts on the victim’s side: it does not record or withdraw the victim’s consents (the national contact point does). `unmet`: recorder-not-law-enforcement. Nothing was written.',
    },
    'personal-data-erased': { status: 409, title: 'Personal data erased', description: 'The personal data of this case was erased; nothing personal can be added. `unmet`: personal-data-erased.' },
    'personal-data-already-erased': { status: 409, title: 'Already erased', description: 'The personal data of this case was already erased.' },
    'invalid-victim-status': { status: 422, title: 'Inconsistent victim status', description: '`unmet`: determined-on-in-future.' },
    'invalid-reflection-period': {
      status: 422,
      title: 'Reflection period out of bounds',
      description: '`unmet`: reflection-period-below-minimum (30 days, Council of Europe Convention Art. 13), reflection-period-above-maximum (policy, 90 days by default).',
    },
    'invalid-reflection-period-end': { status: 422, title: 'Inconsistent end of reflection period', description: '`unmet`: ended-before-start.' },
    'reflection-period-already-running': { status: 409, title: 'Reflection period running', description: 'End the running reflection period before granting another.' },
    'no-reflection-period-running': { status: 409, title: 'No reflection period running', description: 'There is no running reflection period to end.' },
    'invalid-assistance': { status: 422, title: 'Inconsistent assistance record', description: '`unmet`: period-ends-before-it-starts, period-in-future.' },
    'invalid-monitoring-contact': { status: 422, title: 'Inconsistent monitoring contact', description: '`unmet`: contacted-on-in-future.' },
    'concurrency-conflict': { status: 409, title: 'Concurrent change', description: 'The case changed while the command ran. Retry.' },
    'child-consent-refused': {
      status: 409,
      title: 'Consent for a child refused',
      description:
        'A child’s consent is given by the appointed guardian, or by a parent only when no family involvement in the trafficking is recorded, with the child’s views recorded (CETS 197 Art. 10(4)). `unmet`: consent-by-guardian-or-parent-required, parent-not-allowed-family-involved, child-views-not-recorded. Nothing was written.',
    },
    'emergency-referral-refused': {
      status: 409,
      title: 'Emergency referral refused',
      description:
        'Emergency assistance before consent is for a child only, shelter or medical care, referred by child protection taking part (or the contact point). `unmet`: emergency-referral-only-for-a-child, emergency-service-shelter-or-medical, emergency-referral-by-child-protection, provider-not-a-service-provider, provider-inactive.',
    },
    'not-child-protection': { status: 403, title: 'Not child protection of this case', description: 'Only child protection taking part in the case (purpose child_protection) does this.' },
    'child-protection-not-requested': { status: 409, title: 'Child protection not requested', description: 'This case never asked child protection to join (it is not a child’s case). `unmet`: child-protection-requested.' },
    'child-protection-already-acknowledged': { status: 409, title: 'Already acknowledged', description: 'Child protection already acknowledged this child’s case.' },
    'invalid-age-assessment': { status: 422, title: 'Inconsistent age assessment', description: '`unmet`: assessed-on-in-future, estimated-age-contradicts-result.' },
    'invalid-correction': {
      status: 422,
      title: 'Inconsistent correction',
      description: '`unmet`: correction-changes-nothing, identification-date-in-future, birth-year-out-of-range, planned-return-date-without-return-wanted, planned-return-before-identification, stateless-or-unknown-citizenship-alone. Nothing was written.',
    },
    'correction-refused': {
      status: 409,
      title: 'Correction refused',
      description:
        'The notifying organisation corrects only what it submitted, within policy TRM_NOTIFIER_CORRECTION_DAYS (30) of the notification; the coordinating contact point corrects any attribute. `unmet`: notifier-correction-period-over, not-submitted-by-notifier:<item>. Nothing was written.',
    },
  });
}
