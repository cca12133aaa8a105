import { describe, expect, it } from 'vitest';
import type { ProceedingsEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import { type CommandMetadata, type ProceedingsCommand, type ProceedingsState, createProceedingsDecider } from './proceedings.decider.js';

/**
 * Issue 13, finding 4: a police unit that got onto the victim's side (a `proceedings_support`
 * participation recorded before referrals refused it, or a capacity worked out wrongly) still
 * cannot record the victim's own decisions.
 */
const caseId = '019a0000-0000-7000-8000-000000000001';
const now = new Date('2026-11-20T10:00:00.000Z');
const anitp: CommandMetadata = { now, actor: 'u-anitp', organisationId: 'anitp', organisationType: 'national_contact_point', capacities: ['coordinator'] };
/** As an attacker would hope: law enforcement holding the coordinator capacity too. */
const policeAsCoordinator: CommandMetadata = { now, actor: 'u-police', organisationId: 'police-it', organisationType: 'law_enforcement', capacities: ['coordinator', 'law_enforcement'] };

const decider = createProceedingsDecider();
const spec = deciderSpec<ProceedingsCommand, ProceedingsEvent, ProceedingsState>(decider);
const consent = (metadata: CommandMetadata): ProceedingsCommand => ({ type: 'ConsentParticipation', data: { caseId, consentedOn: '2026-11-19' }, metadata });
const consented = decider.decide(consent(anitp), decider.initialState());

describe('law enforcement never acts on the victim’s side', () => {
  it('cannot record the victim’s consent to take part, whatever capacity it was given', () => {
    spec.given([]).when(consent(policeAsCoordinator)).thenRefuses('law-enforcement-not-victims-side', ['recorder-not-law-enforcement']);
  });

  it('cannot record the victim’s withdrawal, counsel or compensation claim', () => {
    const cc = '019a0000-0000-7000-8000-0000000000c1';
    const linked = [
      ...consented,
      ...decider.decide(
        { type: 'LinkCriminalCase', data: { caseId, criminalCaseId: cc, country: 'IT', authorityType: 'prosecutor', offence: 'trafficking_in_persons', stage: 'investigation', referenceKept: false }, metadata: anitp },
        consented.reduce(decider.evolve, decider.initialState()),
      ),
    ];
    spec.given(linked).when({ type: 'WithdrawParticipation', data: { caseId, withdrawnOn: '2026-11-20' }, metadata: policeAsCoordinator }).thenRefuses('law-enforcement-not-victims-side');
    spec
      .given(linked)
      .when({ type: 'AssignLegalCounsel', data: { criminalCaseId: null, counselOrganisationId: null, freeOfCharge: true, assignedOn: '2026-11-20' }, metadata: policeAsCoordinator })
      .thenRefuses('law-enforcement-not-victims-side');
    spec
      .given(linked)
      .when({ type: 'ClaimCompensation', data: { criminalCaseId: cc, claimId: 'c1', claimed: { amount: '10.00', currency: 'EUR' }, against: 'offender', claimedOn: '2026-11-20' }, metadata: policeAsCoordinator })
      .thenRefuses('law-enforcement-not-victims-side');
    // What the authorities record stays theirs.
    spec
      .given(linked)
      .when({ type: 'ChangeStage', data: { criminalCaseId: cc, stage: 'prosecution', changedOn: '2026-11-20', dutyId: 'd1' }, metadata: policeAsCoordinator })
      .thenMatches(([e]) => expect(e?.type).toBe('StageChanged'));
  });
});
