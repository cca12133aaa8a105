import { describe, expect, it } from 'vitest';
import type { ProceedingsEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import {
  CAPACITIES_FOR,
  type CommandMetadata,
  type ProceedingsCommand,
  type ProceedingsState,
  createProceedingsDecider,
} from './proceedings.decider.js';

const caseId = '019a0000-0000-7000-8000-000000000001';
const cc = '019a0000-0000-7000-8000-0000000000c1';
const now = new Date('2026-11-20T10:00:00.000Z');
const later = (days: number) => new Date(now.getTime() + days * 86_400_000);
const anitp: CommandMetadata = { now, actor: 'u-anitp', organisationId: 'anitp', organisationType: 'national_contact_point', capacities: ['coordinator'] };
const police: CommandMetadata = { now, actor: 'u-police', organisationId: 'police-it', organisationType: 'law_enforcement', capacities: ['law_enforcement'] };

const decider = createProceedingsDecider();
const spec = deciderSpec<ProceedingsCommand, ProceedingsEvent, ProceedingsState>(decider);

/** Runs commands one after the other and returns every event, as the store would hold them. */
function history(...commands: ProceedingsCommand[]): ProceedingsEvent[] {
  const events: ProceedingsEvent[] = [];
  for (const c of commands) events.push(...decider.decide(c, events.reduce(decider.evolve, decider.initialState())));
  return events;
}

const consent: ProceedingsCommand = { type: 'ConsentParticipation', data: { caseId, consentedOn: '2026-11-19' }, metadata: anitp };
const withdraw: ProceedingsCommand = { type: 'WithdrawParticipation', data: { caseId, withdrawnOn: '2026-11-20' }, metadata: anitp };
const link = (stage: 'investigation' | 'trial' = 'investigation'): ProceedingsCommand => ({
  type: 'LinkCriminalCase',
  data: { caseId, criminalCaseId: cc, country: 'IT', authorityType: 'prosecutor', offence: 'trafficking_in_persons', stage, referenceKept: true },
  metadata: police,
});
const stage = (s: 'prosecution' | 'trial' | 'appeal' | 'final' | 'investigation', dutyId = `duty-${s}`, meta = police): ProceedingsCommand => ({
  type: 'ChangeStage',
  data: { criminalCaseId: cc, stage: s, changedOn: '2026-11-20', dutyId },
  metadata: meta,
});
const hearing = (dutyId = 'duty-hearing'): ProceedingsCommand => ({
  type: 'ScheduleHearing',
  data: { criminalCaseId: cc, hearingId: 'h-1', date: '2027-01-15', country: 'IT', remoteTestimonyPossible: true, victimToTestify: true, dutyId },
  metadata: police,
});
const conviction = (dutyId = 'duty-outcome'): ProceedingsCommand => ({
  type: 'RecordOutcome',
  data: { criminalCaseId: cc, outcomeId: 'o-1', outcome: { kind: 'conviction', sentence: 'suspended', lengthMonths: 24 }, decidedOn: '2026-11-20', dutyId },
  metadata: police,
});
const informed = (dutyIds: string[], meta: CommandMetadata = anitp): ProceedingsCommand => ({ type: 'RecordVictimInformed', data: { dutyIds, channel: 'phone' }, metadata: meta });
const claim: ProceedingsCommand = {
  type: 'ClaimCompensation',
  data: { criminalCaseId: cc, claimId: 'claim-1', claimed: { amount: '25000.00', currency: 'EUR' }, against: 'offender', claimedOn: '2026-11-20' },
  metadata: anitp,
};
const decide = (over: Partial<Extract<ProceedingsCommand, { type: 'DecideCompensation' }>['data']> = {}): ProceedingsCommand => ({
  type: 'DecideCompensation',
  data: { claimId: 'claim-1', decision: 'awarded', awarded: { amount: '15000.00', currency: 'EUR' }, paid: false, decidedOn: '2026-11-20', ...over },
  metadata: police,
});

/** One valid command of every type, each issued in a capacity allowed to issue it. */
const everyCommand: ProceedingsCommand[] = [
  { ...consent },
  withdraw,
  link(),
  stage('prosecution'),
  hearing(),
  conviction(),
  informed(['duty-prosecution']),
  { type: 'AssignLegalCounsel', data: { criminalCaseId: null, counselOrganisationId: 'ngo-it', freeOfCharge: true, assignedOn: '2026-11-20' }, metadata: anitp },
  { type: 'GrantProtectionMeasure', data: { criminalCaseId: cc, measure: 'video_testimony', grantedOn: '2026-11-20' }, metadata: police },
  { type: 'AssignInterpreter', data: { criminalCaseId: null, language: 'ro', assignedOn: '2026-11-20' }, metadata: anitp },
  claim,
  decide(),
  { type: 'RecordOffenderRelease', data: { criminalCaseId: cc, kind: 'released', releasedOn: '2026-11-20', dutyId: 'duty-release' }, metadata: police },
  { type: 'RecordCompensationPaid', data: { claimId: 'claim-1', amount: { amount: '5000.00', currency: 'EUR' }, paidOn: '2026-11-20' }, metadata: anitp },
];

/** What stays recordable after a withdrawal: the victim is still informed (Directive 2012/29/EU Art. 6). */
const INFORMATION_COMMANDS = new Set(['ChangeStage', 'ScheduleHearing', 'RecordOutcome', 'RecordOffenderRelease', 'RecordVictimInformed', 'RecordCompensationPaid']);
const dueOn = (date: string) => `${date}T23:59:59.999Z`;

describe('participation consent', () => {
  it('is recorded by the victim’s side with the date the victim gave it', () => {
    spec.given([]).when(consent).then([
      {
        type: 'ParticipationConsented',
        data: { caseId, consentedOn: '2026-11-19', recordedBy: 'anitp', recordedByType: 'national_contact_point', consentedAt: now.toISOString() },
      },
    ]);
  });

  it('gates every other command: without it each is refused with participation-consent-missing', () => {
    const gated = everyCommand.filter((c) => c.type !== 'ConsentParticipation');
    expect(new Set(gated.map((c) => c.type)).size).toBe(Object.keys(CAPACITIES_FOR).length - 1);
    for (const command of gated) {
      let error: { code?: string; unmet?: readonly string[] } | undefined;
      try {
        decider.decide(command, decider.initialState());
      } catch (err) {
        error = err as typeof error;
      }
      expect(error?.code, command.type).toBe('proceedings-conditions-unmet');
      expect(error?.unmet, command.type).toContain('participation-consent-missing');
    }
  });

  it('after withdrawal refuses the victim side’s commands with participation-withdrawn, but not what informs the victim', () => {
    const past = history(consent, link(), stage('prosecution'), claim, decide(), withdraw);
    const state = past.reduce(decider.evolve, decider.initialState());
    for (const command of everyCommand) {
      let error: { code?: string; unmet?: readonly string[] } | undefined;
      try {
        decider.decide(command, state);
      } catch (err) {
        error = err as typeof error;
      }
      if (INFORMATION_COMMANDS.has(command.type) || command.type === 'ConsentParticipation') {
        expect(error?.unmet ?? [], command.type).not.toContain('participation-withdrawn');
      } else {
        expect(error?.code, command.type).toBe('proceedings-conditions-unmet');
        expect(error?.unmet, command.type).toContain('participation-withdrawn');
      }
    }
  });

  it('withdrawal keeps the history and the open information duties: the right to be informed does not depend on cooperating', () => {
    spec
      .given(history(consent, link(), stage('prosecution'), hearing()))
      .when(withdraw)
      .then([
        {
          type: 'ParticipationWithdrawn',
          data: { caseId, withdrawnOn: '2026-11-20', recordedBy: 'anitp', withdrawnAt: now.toISOString(), lapsedDutyIds: [], informationDeclined: false },
        },
      ]);
    const withdrawn = history(consent, link(), stage('prosecution'), withdraw);
    const state = withdrawn.reduce(decider.evolve, decider.initialState());
    expect(state.criminalCases).toHaveLength(1);
    expect(state.duties.map((d) => d.status)).toEqual(['open']);
    // Stages, outcomes and an offender's release after the withdrawal still open duties, and the victim is informed.
    const after = history(consent, link('trial'), withdraw, conviction(), { type: 'RecordOffenderRelease', data: { criminalCaseId: cc, kind: 'escaped', releasedOn: '2026-11-20', dutyId: 'duty-escape' }, metadata: police });
    const s2 = after.reduce(decider.evolve, decider.initialState());
    expect(s2.duties.map((d) => [d.kind, d.status])).toEqual([['outcome', 'open'], ['offender_release', 'open']]);
    spec.given(after).when(informed(['duty-outcome', 'duty-escape'])).thenMatches(([e]) => expect(e?.type).toBe('VictimInformed'));
    // …while the victim side's own acts stop.
    spec.given(after).when(claim).thenRefuses('proceedings-conditions-unmet', ['participation-withdrawn']);
  });

  it('a victim who asked not to be informed (recorded with the withdrawal) is not: open duties lapse, no new duty arises', () => {
    const declining: ProceedingsCommand = { ...withdraw, data: { caseId, withdrawnOn: '2026-11-20', informationDeclined: true } };
    spec
      .given(history(consent, link(), stage('prosecution'), hearing()))
      .when(declining)
      .thenMatches(([e]) => {
        if (e?.type !== 'ParticipationWithdrawn') throw new Error('expected ParticipationWithdrawn');
        expect(e.data).toMatchObject({ lapsedDutyIds: ['duty-prosecution', 'duty-hearing'], informationDeclined: true });
      });
    const past = history(consent, link('trial'), stage('appeal'), declining, conviction());
    expect(past.at(-1)).toMatchObject({ type: 'OutcomeRecorded', data: { dutyArises: false } });
    const state = past.reduce(decider.evolve, decider.initialState());
    expect(state.duties.map((d) => [d.dutyId, d.status])).toEqual([['duty-appeal', 'lapsed']]);
    expect(state.criminalCases[0]!.outcomes).toHaveLength(1);
    spec.given(past).when(informed(['duty-appeal'])).thenRefuses('proceedings-conditions-unmet', ['victim-declined-information', 'duty-not-open']);
  });

  it('can be given again after a withdrawal (not dated before it), and the victim is informed again', () => {
    const declining: ProceedingsCommand = { ...withdraw, data: { caseId, withdrawnOn: '2026-11-20', informationDeclined: true } };
    const again: ProceedingsCommand = { ...consent, data: { caseId, consentedOn: '2026-11-20' } };
    spec.given(history(consent, link(), declining)).when(again).thenMatches(([e]) => expect(e?.type).toBe('ParticipationConsented'));
    const state = history(consent, link(), declining, again, stage('prosecution')).reduce(decider.evolve, decider.initialState());
    expect(state.participation).toBe('consented');
    expect(state.informationDeclined).toBe(false);
    expect(state.duties.map((d) => d.status)).toEqual(['open']);
    spec.given(history(consent, link(), declining, again)).when(claim).thenMatches(([e]) => expect(e?.type).toBe('CompensationClaimed'));
    spec.given(history(consent, withdraw)).when(consent).thenRefuses('invalid-proceedings-command', ['consented-before-withdrawal']);
  });

  it('is refused twice, in the future, and before consent for a withdrawal', () => {
    spec.given(history(consent)).when(consent).thenRefuses('proceedings-conditions-unmet', ['participation-already-consented']);
    spec.given([]).when({ ...consent, data: { caseId, consentedOn: '2026-11-21' } }).thenRefuses('invalid-proceedings-command', ['consented-on-in-future']);
    spec
      .given(history(consent))
      .when({ ...withdraw, data: { caseId, withdrawnOn: '2026-11-18' } })
      .thenRefuses('invalid-proceedings-command', ['withdrawn-before-consent']);
  });

  it('is recorded only by the victim’s side, never by law enforcement', () => {
    // A stable code of its own (issue 13, finding 4), not a mere capacity refusal.
    spec.given([]).when({ ...consent, metadata: police }).thenRefuses('law-enforcement-not-victims-side', ['recorder-not-law-enforcement']);
  });
});

describe('criminal cases and stages', () => {
  it('links a criminal case with country, authority, offence and stage, not its reference', () => {
    spec.given(history(consent)).when(link()).then([
      {
        type: 'CriminalCaseLinked',
        data: {
          caseId,
          criminalCaseId: cc,
          country: 'IT',
          authorityType: 'prosecutor',
          offence: 'trafficking_in_persons',
          stage: 'investigation',
          referenceKept: true,
          linkedBy: 'police-it',
          linkedAt: now.toISOString(),
        },
      },
    ]);
  });

  it('opens a duty to inform the victim within the policy days on every stage change', () => {
    spec.given(history(consent, link())).when(stage('prosecution')).then([
      {
        type: 'StageChanged',
        data: {
          caseId,
          criminalCaseId: cc,
          stage: 'prosecution',
          previousStage: 'investigation',
          changedOn: '2026-11-20',
          changedBy: 'police-it',
          changedAt: now.toISOString(),
          source: 'law_enforcement',
          dutyId: 'duty-prosecution',
          informDueAt: dueOn('2026-11-25'),
        },
      },
    ]);
    deciderSpec(createProceedingsDecider({ informDays: 2 }))
      .given(history(consent, link()))
      .when(stage('prosecution'))
      .thenMatches(([e]) => {
        if (e?.type !== 'StageChanged') throw new Error('expected StageChanged');
        expect(e.data.informDueAt).toBe(dueOn('2026-11-22'));
      });
  });

  it('counts the duty from the date the stage changed, not from when it was recorded: a late entry does not restart the clock', () => {
    const late = { ...police, now: later(10) };
    spec
      .given(history(consent, link()))
      .when({ ...stage('prosecution'), metadata: late })
      .thenMatches(([e]) => {
        if (e?.type !== 'StageChanged') throw new Error('expected StageChanged');
        expect(e.data.informDueAt).toBe(dueOn('2026-11-25'));
      });
    // Informed at once on entry, it is already late.
    const past = history(consent, link(), { ...stage('prosecution'), metadata: late });
    spec.given(past).when(informed(['duty-prosecution'], { ...anitp, now: later(10) })).thenMatches(([e]) => {
      if (e?.type !== 'VictimInformed') throw new Error('expected VictimInformed');
      expect(e.data.lateDutyIds).toEqual(['duty-prosecution']);
    });
  });

  it('lets the coordinator record the stages of a foreign trial, with the source recorded', () => {
    const anitpRo: CommandMetadata = { ...anitp, organisationCountry: 'RO' };
    const byLawyer: ProceedingsCommand = { ...stage('prosecution', 'd-f', anitpRo), data: { criminalCaseId: cc, stage: 'prosecution', changedOn: '2026-11-20', dutyId: 'd-f', source: 'lawyer' } };
    spec
      .given(history(consent, link()))
      .when(byLawyer)
      .thenMatches(([e]) => {
        if (e?.type !== 'StageChanged') throw new Error('expected StageChanged');
        expect(e.data).toMatchObject({ changedBy: 'anitp', source: 'lawyer', informDueAt: dueOn('2026-11-25') });
      });
    // Not a trial at home, and not without its source.
    spec.given(history(consent, link())).when({ ...byLawyer, metadata: { ...anitp, organisationCountry: 'IT' } }).thenRefuses('proceedings-conditions-unmet', ['coordinator-records-only-foreign-trial-stages']);
    spec
      .given(history(consent, link()))
      .when({ ...byLawyer, data: { criminalCaseId: cc, stage: 'prosecution', changedOn: '2026-11-20', dutyId: 'd-f' } })
      .thenRefuses('invalid-proceedings-command', ['source-required']);
    spec
      .given(history(consent, link()))
      .when({ ...byLawyer, data: { criminalCaseId: cc, stage: 'prosecution', changedOn: '2026-11-20', dutyId: 'd-f', source: 'law_enforcement' } })
      .thenRefuses('invalid-proceedings-command', ['source-must-be-lawyer-or-foreign-authority']);
  });

  it('moves stages only forward, and only for a linked criminal case', () => {
    spec.given(history(consent, link('trial'))).when(stage('prosecution')).thenRefuses('proceedings-conditions-unmet', ['stage-must-move-forward']);
    spec.given(history(consent)).when(stage('prosecution')).thenRefuses('proceedings-conditions-unmet', ['criminal-case-not-linked']);
  });

  it('reaches the final stage only after a judgment, and then closes the criminal case', () => {
    spec.given(history(consent, link('trial'))).when(stage('final')).thenRefuses('proceedings-conditions-unmet', ['final-stage-needs-judgment']);
    const closed = history(consent, link('trial'), conviction(), stage('final'));
    spec.given(closed).when(hearing('d-2')).thenRefuses('proceedings-conditions-unmet', ['criminal-case-closed']);
    spec.given([]).when(link()).thenRefuses('proceedings-conditions-unmet', ['participation-consent-missing']);
    spec
      .given(history(consent))
      .when({ ...link(), data: { ...(link().data as Extract<ProceedingsCommand, { type: 'LinkCriminalCase' }>['data']), stage: 'final' } })
      .thenRefuses('proceedings-conditions-unmet', ['final-stage-needs-judgment']);
  });

  it('lets only law enforcement record hearings and outcomes, and stages of a trial at home', () => {
    const past = history(consent, link('trial'));
    spec.given(past).when(stage('appeal', 'd', { ...anitp, organisationCountry: 'IT' })).thenRefuses('proceedings-conditions-unmet', ['coordinator-records-only-foreign-trial-stages']);
    spec.given(past).when({ ...hearing(), metadata: anitp }).thenRefuses('capacity-not-allowed');
    spec.given(past).when({ ...conviction(), metadata: anitp }).thenRefuses('capacity-not-allowed');
  });

  it('names every unmet condition at once', () => {
    const past = history(consent, link(), withdraw);
    spec
      .given(past)
      .when({ ...stage('prosecution'), data: { criminalCaseId: 'other', stage: 'prosecution', changedOn: '2026-11-20', dutyId: 'x' } })
      .thenRefuses('proceedings-conditions-unmet', ['criminal-case-not-linked']);
    spec
      .given(history(consent, link()))
      .when({ ...claim, data: { criminalCaseId: 'other', claimId: 'c', claimed: { amount: '1.00', currency: 'EUR' }, against: 'offender', claimedOn: '2026-11-20' } })
      .thenRefuses('proceedings-conditions-unmet', ['criminal-case-not-linked']);
    spec
      .given(past)
      .when({ ...claim, data: { criminalCaseId: 'other', claimId: 'c', claimed: { amount: '1.00', currency: 'EUR' }, against: 'offender', claimedOn: '2026-11-20' } })
      .thenRefuses('proceedings-conditions-unmet', ['participation-withdrawn', 'criminal-case-not-linked']);
  });
});

describe('hearings and outcomes', () => {
  it('schedules a hearing with remote testimony and opens a duty', () => {
    spec
      .given(history(consent, link('trial')))
      .when(hearing())
      .thenMatches(([e]) => {
        if (e?.type !== 'HearingScheduled') throw new Error('expected HearingScheduled');
        expect(e.data).toMatchObject({ remoteTestimonyPossible: true, country: 'IT', dutyId: 'duty-hearing', scheduledOn: '2026-11-20', informDueAt: dueOn('2026-11-25') });
      });
  });

  it('a hearing’s duty is due no later than the day before it, counted from the day it was set', () => {
    const soon: ProceedingsCommand = {
      type: 'ScheduleHearing',
      data: { criminalCaseId: cc, hearingId: 'h-2', date: '2026-11-23', country: 'IT', remoteTestimonyPossible: false, victimToTestify: true, dutyId: 'd-soon', scheduledOn: '2026-11-18' },
      metadata: police,
    };
    spec.given(history(consent, link('trial'))).when(soon).thenMatches(([e]) => {
      if (e?.type !== 'HearingScheduled') throw new Error('expected HearingScheduled');
      expect(e.data.informDueAt).toBe(dueOn('2026-11-22'));
    });
    const setEarlier = { ...soon, data: { ...(soon.data as Extract<ProceedingsCommand, { type: 'ScheduleHearing' }>['data']), date: '2027-01-15', scheduledOn: '2026-11-10' } };
    spec.given(history(consent, link('trial'))).when(setEarlier as ProceedingsCommand).thenMatches(([e]) => {
      if (e?.type !== 'HearingScheduled') throw new Error('expected HearingScheduled');
      expect(e.data.informDueAt).toBe(dueOn('2026-11-15'));
    });
  });

  it('records an offender’s release or escape and opens a duty from its date', () => {
    spec
      .given(history(consent, link('trial'), conviction()))
      .when({ type: 'RecordOffenderRelease', data: { criminalCaseId: cc, kind: 'escaped', releasedOn: '2026-11-19', dutyId: 'duty-escape' }, metadata: police })
      .then([
        {
          type: 'OffenderReleased',
          data: { caseId, criminalCaseId: cc, kind: 'escaped', releasedOn: '2026-11-19', recordedBy: 'police-it', recordedAt: now.toISOString(), dutyId: 'duty-escape', informDueAt: dueOn('2026-11-24') },
        },
      ]);
    spec
      .given(history(consent))
      .when({ type: 'RecordOffenderRelease', data: { criminalCaseId: cc, kind: 'released', releasedOn: '2026-11-21', dutyId: 'd' }, metadata: police })
      .thenRefuses('proceedings-conditions-unmet', ['criminal-case-not-linked']);
  });

  it('records a suspended sentence with its length at trial and opens a duty', () => {
    spec
      .given(history(consent, link('trial')))
      .when(conviction())
      .thenMatches(([e]) => {
        if (e?.type !== 'OutcomeRecorded') throw new Error('expected OutcomeRecorded');
        expect(e.data).toMatchObject({ stage: 'trial', outcome: { kind: 'conviction', sentence: 'suspended', lengthMonths: 24 }, dutyId: 'duty-outcome' });
      });
  });

  it('needs trial or appeal for a conviction or acquittal, and one outcome per stage', () => {
    spec.given(history(consent, link())).when(conviction()).thenRefuses('proceedings-conditions-unmet', ['judgment-needs-trial-or-appeal-stage']);
    spec.given(history(consent, link('trial'), conviction())).when(conviction('d2')).thenRefuses('proceedings-conditions-unmet', ['outcome-already-recorded-at-stage']);
  });

  it('closes the criminal case when time ran out (statute of limitations), at any stage', () => {
    const expiry: ProceedingsCommand = {
      type: 'RecordOutcome',
      data: { criminalCaseId: cc, outcomeId: 'o-2', outcome: { kind: 'statute_of_limitations_expired' }, decidedOn: '2026-11-20', dutyId: 'duty-exp' },
      metadata: police,
    };
    const past = history(consent, link(), expiry);
    expect(past.at(-1)).toMatchObject({ type: 'OutcomeRecorded', data: { stage: 'investigation', outcome: { kind: 'statute_of_limitations_expired' } } });
    spec.given(past).when(stage('prosecution')).thenRefuses('proceedings-conditions-unmet', ['criminal-case-closed']);
  });
});

describe('duty to inform', () => {
  it('is fulfilled by VictimInformed naming the duties, on time', () => {
    spec.given(history(consent, link(), stage('prosecution'))).when(informed(['duty-prosecution'])).then([
      {
        type: 'VictimInformed',
        data: { caseId, dutyIds: ['duty-prosecution'], channel: 'phone', informedBy: 'anitp', informedByCapacity: 'coordinator', informedAt: now.toISOString(), lateDutyIds: [] },
      },
    ]);
  });

  it('records as late a duty fulfilled after its deadline', () => {
    const lateMeta = { ...anitp, now: new Date(Date.parse(dueOn('2026-11-25')) + 1) };
    spec
      .given(history(consent, link(), stage('prosecution'), hearing()))
      .when(informed(['duty-prosecution', 'duty-hearing'], lateMeta))
      .thenMatches(([e]) => {
        if (e?.type !== 'VictimInformed') throw new Error('expected VictimInformed');
        expect(e.data.lateDutyIds).toEqual(['duty-prosecution', 'duty-hearing']);
      });
  });

  it('refuses unknown and already fulfilled duties', () => {
    const past = history(consent, link(), stage('prosecution'), informed(['duty-prosecution']));
    spec.given(past).when(informed(['duty-prosecution', 'nope'])).thenRefuses('proceedings-conditions-unmet', ['duty-unknown', 'duty-not-open']);
  });
});

describe('support and compensation', () => {
  it('refuses a second identical protection measure and interpreter', () => {
    const measure: ProceedingsCommand = { type: 'GrantProtectionMeasure', data: { criminalCaseId: cc, measure: 'anonymity', grantedOn: '2026-11-20' }, metadata: police };
    spec.given(history(consent, link(), measure)).when(measure).thenRefuses('proceedings-conditions-unmet', ['protection-measure-already-granted']);
    const interp: ProceedingsCommand = { type: 'AssignInterpreter', data: { criminalCaseId: cc, language: 'ro', assignedOn: '2026-11-20' }, metadata: anitp };
    spec.given(history(consent, link(), interp)).when(interp).thenRefuses('proceedings-conditions-unmet', ['interpreter-already-assigned']);
  });

  it('records a claim and its decision, paid or not, in the claim’s currency', () => {
    spec
      .given(history(consent, link(), claim))
      .when(decide())
      .thenMatches(([e]) => {
        if (e?.type !== 'CompensationDecided') throw new Error('expected CompensationDecided');
        expect(e.data).toMatchObject({ criminalCaseId: cc, decision: 'awarded', awarded: { amount: '15000.00', currency: 'EUR' }, paid: false });
      });
  });

  it('refuses inconsistent claims and decisions', () => {
    spec
      .given(history(consent, link()))
      .when({ ...claim, data: { ...(claim.data as Extract<ProceedingsCommand, { type: 'ClaimCompensation' }>['data']), claimed: { amount: '0', currency: 'EUR' } } })
      .thenRefuses('invalid-proceedings-command', ['claimed-amount-must-be-positive']);
    spec
      .given(history(consent, link(), claim))
      .when(decide({ awarded: { amount: '10.00', currency: 'RON' } }))
      .thenRefuses('invalid-proceedings-command', ['award-currency-differs-from-claim']);
    spec
      .given(history(consent, link(), claim))
      .when(decide({ decision: 'rejected', paid: true }))
      .thenRefuses('invalid-proceedings-command', ['rejected-claim-has-no-award']);
    spec.given(history(consent, link())).when(decide()).thenRefuses('proceedings-conditions-unmet', ['claim-not-found']);
    spec.given(history(consent, link(), claim, decide())).when(decide()).thenRefuses('proceedings-conditions-unmet', ['claim-already-decided']);
  });

  it('records compensation paid after an award, in its currency, never more than awarded', () => {
    const paid = (amount: string, paidOn = '2026-11-20', currency = 'EUR'): ProceedingsCommand => ({
      type: 'RecordCompensationPaid',
      data: { claimId: 'claim-1', amount: { amount, currency }, paidOn },
      metadata: anitp,
    });
    spec.given(history(consent, link(), claim, decide())).when(paid('5000.00')).then([
      {
        type: 'CompensationPaid',
        data: { caseId, criminalCaseId: cc, claimId: 'claim-1', amount: { amount: '5000.00', currency: 'EUR' }, paidOn: '2026-11-20', recordedBy: 'anitp', recordedAt: now.toISOString() },
      },
    ]);
    const state = history(consent, link(), claim, decide(), paid('5000.00')).reduce(decider.evolve, decider.initialState());
    expect(state.claims[0]!.payments).toEqual([{ amount: { amount: '5000.00', currency: 'EUR' }, paidOn: '2026-11-20' }]);
    spec.given(history(consent, link(), claim)).when(paid('1.00')).thenRefuses('proceedings-conditions-unmet', ['compensation-not-decided']);
    spec
      .given(history(consent, link(), claim, decide({ decision: 'rejected', awarded: { amount: '0', currency: 'EUR' } })))
      .when(paid('1.00'))
      .thenRefuses('proceedings-conditions-unmet', ['compensation-not-awarded']);
    spec.given(history(consent, link(), claim, decide(), paid('10000.00'))).when(paid('5000.01')).thenRefuses('invalid-proceedings-command', ['paid-exceeds-award']);
    spec.given(history(consent, link(), claim, decide())).when(paid('1.00', '2026-11-19', 'RON')).thenRefuses('invalid-proceedings-command', ['paid-before-decision', 'paid-currency-differs-from-award']);
    spec.given(history(consent, link(), claim, decide())).when(paid('1.00', '2026-11-21')).thenRefuses('invalid-proceedings-command', ['paid-on-in-future']);
  });

  it('lets only the victim’s side claim compensation and assign counsel', () => {
    spec.given(history(consent, link())).when({ ...claim, metadata: police }).thenRefuses('law-enforcement-not-victims-side');
    spec
      .given(history(consent))
      .when({ type: 'AssignLegalCounsel', data: { criminalCaseId: null, counselOrganisationId: null, freeOfCharge: true, assignedOn: '2026-11-20' }, metadata: police })
      .thenRefuses('law-enforcement-not-victims-side');
  });
});
