import {
  DomainError,
  type CountryCode,
  type InformationChannel,
  type InformationDutyKind,
  type IsoDate,
  type Money,
  type OrganisationType,
  type ProceedingsAuthorityType,
  type ProceedingsCapacity,
  type ProceedingsEvent,
  type ProceedingsOffence,
  type ProceedingsOutcome,
  type ProceedingsStage,
  type ProtectionMeasure,
} from '@trm/contracts';
import type { Decider } from '@trm/event-store';

export interface ProceedingsPolicy {
  /** Days within which the victim must be informed of a stage change, hearing or outcome (DOMAIN: 5). */
  informDays: number;
}

export const DEFAULT_PROCEEDINGS_POLICY: ProceedingsPolicy = { informDays: 5 };

/**
 * Time and identity arrive with the command so `decide` stays pure. `capacities` are the roles the
 * caller's organisation holds in this case, worked out by the handler from the case facts learnt
 * from referrals (a non-participant never reaches the decider: it gets 404).
 */
export interface CommandMetadata {
  now: Date;
  actor: string;
  organisationId: string;
  organisationType: OrganisationType;
  capacities: readonly ProceedingsCapacity[];
}

type Cmd<T extends string, D> = { type: T; data: D; metadata: CommandMetadata };

export type ProceedingsCommand =
  | Cmd<'ConsentParticipation', { caseId: string; consentedOn: IsoDate }>
  | Cmd<'WithdrawParticipation', { caseId: string; withdrawnOn: IsoDate }>
  | Cmd<
      'LinkCriminalCase',
      { caseId: string; criminalCaseId: string; country: CountryCode; authorityType: ProceedingsAuthorityType; offence: ProceedingsOffence; stage: ProceedingsStage; referenceKept: boolean }
    >
  | Cmd<'ChangeStage', { criminalCaseId: string; stage: ProceedingsStage; changedOn: IsoDate; dutyId: string }>
  | Cmd<
      'ScheduleHearing',
      { criminalCaseId: string; hearingId: string; date: IsoDate; country: CountryCode; remoteTestimonyPossible: boolean; victimToTestify: boolean; dutyId: string }
    >
  | Cmd<'RecordVictimInformed', { dutyIds: string[]; channel: InformationChannel }>
  | Cmd<'AssignLegalCounsel', { criminalCaseId: string | null; counselOrganisationId: string | null; freeOfCharge: boolean; assignedOn: IsoDate }>
  | Cmd<'GrantProtectionMeasure', { criminalCaseId: string; measure: ProtectionMeasure; grantedOn: IsoDate }>
  | Cmd<'AssignInterpreter', { criminalCaseId: string | null; language: string; assignedOn: IsoDate }>
  | Cmd<'ClaimCompensation', { criminalCaseId: string; claimId: string; claimed: Money; against: 'offender' | 'state_fund'; claimedOn: IsoDate }>
  | Cmd<'DecideCompensation', { claimId: string; decision: 'awarded' | 'rejected'; awarded: Money; paid: boolean; decidedOn: IsoDate }>
  | Cmd<'RecordOutcome', { criminalCaseId: string; outcomeId: string; outcome: ProceedingsOutcome; decidedOn: IsoDate; dutyId: string }>;

export type ProceedingsCommandType = ProceedingsCommand['type'];

export interface HearingState {
  hearingId: string;
  date: IsoDate;
  country: CountryCode;
  remoteTestimonyPossible: boolean;
  victimToTestify: boolean;
}

export interface OutcomeState {
  outcomeId: string;
  stage: ProceedingsStage;
  outcome: ProceedingsOutcome;
  decidedOn: IsoDate;
}

export interface CriminalCaseState {
  criminalCaseId: string;
  country: CountryCode;
  authorityType: ProceedingsAuthorityType;
  offence: ProceedingsOffence;
  referenceKept: boolean;
  linkedAt: string;
  stage: ProceedingsStage;
  hearings: HearingState[];
  outcomes: OutcomeState[];
  protectionMeasures: Array<{ measure: ProtectionMeasure; grantedOn: IsoDate }>;
  /** No further stage, hearing or outcome: final judgment, dismissal or limitation expiry. */
  closed: boolean;
}

export interface DutyState {
  dutyId: string;
  kind: InformationDutyKind;
  criminalCaseId: string;
  arisenAt: string;
  dueAt: string;
  status: 'open' | 'fulfilled' | 'lapsed';
  informedAt: string | null;
  late: boolean;
}

export interface ClaimState {
  claimId: string;
  criminalCaseId: string;
  claimed: Money;
  against: 'offender' | 'state_fund';
  claimedOn: IsoDate;
  decision: { decision: 'awarded' | 'rejected'; awarded: Money; paid: boolean; decidedOn: IsoDate } | null;
}

export interface ProceedingsState {
  caseId: string | null;
  participation: 'none' | 'consented' | 'withdrawn';
  consentedOn: IsoDate | null;
  withdrawnOn: IsoDate | null;
  criminalCases: CriminalCaseState[];
  duties: DutyState[];
  claims: ClaimState[];
  legalCounsel: Array<{ criminalCaseId: string | null; counselOrganisationId: string | null; freeOfCharge: boolean; assignedOn: IsoDate }>;
  interpreters: Array<{ criminalCaseId: string | null; language: string; assignedOn: IsoDate }>;
}

export const initialProceedingsState = (): ProceedingsState => ({
  caseId: null,
  participation: 'none',
  consentedOn: null,
  withdrawnOn: null,
  criminalCases: [],
  duties: [],
  claims: [],
  legalCounsel: [],
  interpreters: [],
});

/**
 * Which capacity may issue which command. Stages, hearings and outcomes come from the
 * authorities, so only a law-enforcement participant records them; consent and claims are the
 * victim's, recorded by the contact point or the organisation supporting them.
 */
export const CAPACITIES_FOR: Readonly<Record<ProceedingsCommandType, readonly ProceedingsCapacity[]>> = {
  ConsentParticipation: ['coordinator'],
  WithdrawParticipation: ['coordinator'],
  LinkCriminalCase: ['coordinator', 'law_enforcement'],
  ChangeStage: ['law_enforcement'],
  ScheduleHearing: ['law_enforcement'],
  RecordOutcome: ['law_enforcement'],
  RecordVictimInformed: ['coordinator', 'law_enforcement'],
  AssignLegalCounsel: ['coordinator'],
  GrantProtectionMeasure: ['coordinator', 'law_enforcement'],
  AssignInterpreter: ['coordinator', 'law_enforcement'],
  ClaimCompensation: ['coordinator'],
  DecideCompensation: ['coordinator', 'law_enforcement'],
};

const STAGE_ORDER: readonly ProceedingsStage[] = ['investigation', 'prosecution', 'trial', 'appeal', 'final'];
const DAY_MS = 86_400_000;

/** Gate conditions, each a stable code; every unmet one is named at once (409). */
function gate(unmet: string[]): void {
  if (unmet.length > 0) {
    throw new DomainError('proceedings-conditions-unmet', 'conflict', 'The proceedings are not in a state that allows this.', unmet);
  }
}

/** The command contradicts itself or the calendar (422). */
function invalid(unmet: string[]): void {
  if (unmet.length > 0) throw new DomainError('invalid-proceedings-command', 'invalid', 'The command is not consistent.', unmet);
}

function participationUnmet(state: ProceedingsState): string[] {
  if (state.participation === 'withdrawn') return ['participation-withdrawn'];
  if (state.participation === 'none') return ['participation-consent-missing'];
  return [];
}

function criminalCase(state: ProceedingsState, id: string): CriminalCaseState | undefined {
  return state.criminalCases.find((c) => c.criminalCaseId === id);
}

function notInFuture(dates: Array<[string, IsoDate]>, now: Date): string[] {
  const today = now.toISOString().slice(0, 10);
  return dates.filter(([, d]) => d > today).map(([name]) => `${name}-in-future`);
}

function dueAt(now: Date, policy: ProceedingsPolicy): string {
  return new Date(now.getTime() + policy.informDays * DAY_MS).toISOString();
}

export function createProceedingsDecider(
  policy: ProceedingsPolicy = DEFAULT_PROCEEDINGS_POLICY,
): Decider<ProceedingsCommand, ProceedingsEvent, ProceedingsState> {
  return {
    initialState: initialProceedingsState,
    evolve,
    decide(command, state) {
      const allowed = CAPACITIES_FOR[command.type];
      // The victim's own decisions (consent, withdrawal, counsel, claims) are never law
      // enforcement's, whatever capacity it may have been given (DOMAIN: law enforcement never
      // acts on the victim's side).
      if (command.metadata.organisationType === 'law_enforcement' && !allowed.includes('law_enforcement')) {
        throw new DomainError(
          'law-enforcement-not-victims-side',
          'conflict',
          'Law enforcement does not record the victim’s decisions in proceedings: the contact point or the organisation supporting the victim does.',
          ['recorder-not-law-enforcement'],
        );
      }
      if (!command.metadata.capacities.some((c) => allowed.includes(c))) {
        throw new DomainError(
          'capacity-not-allowed',
          'forbidden',
          `Your organisation does not take part in this case in a capacity that may do this (${allowed.join(' or ')}).`,
        );
      }
      return decideAllowed(command, state, policy);
    },
  };
}

function decideAllowed(command: ProceedingsCommand, state: ProceedingsState, policy: ProceedingsPolicy): ProceedingsEvent[] {
  const m = command.metadata;
  const at = m.now.toISOString();
  switch (command.type) {
    case 'ConsentParticipation': {
      const d = command.data;
      if (state.participation === 'consented') gate(['participation-already-consented']);
      if (state.participation === 'withdrawn') gate(['participation-withdrawn']);
      invalid(notInFuture([['consented-on', d.consentedOn]], m.now));
      return [
        {
          type: 'ParticipationConsented',
          data: { caseId: d.caseId, consentedOn: d.consentedOn, recordedBy: m.organisationId, recordedByType: m.organisationType, consentedAt: at },
        },
      ];
    }
    case 'WithdrawParticipation': {
      const d = command.data;
      gate(participationUnmet(state));
      invalid([
        ...notInFuture([['withdrawn-on', d.withdrawnOn]], m.now),
        ...(state.consentedOn && d.withdrawnOn < state.consentedOn ? ['withdrawn-before-consent'] : []),
      ]);
      return [
        {
          type: 'ParticipationWithdrawn',
          data: {
            caseId: state.caseId!,
            withdrawnOn: d.withdrawnOn,
            recordedBy: m.organisationId,
            withdrawnAt: at,
            lapsedDutyIds: state.duties.filter((x) => x.status === 'open').map((x) => x.dutyId),
          },
        },
      ];
    }
    case 'LinkCriminalCase': {
      const d = command.data;
      const unmet = participationUnmet(state);
      // A judgment cannot be final before it is recorded here.
      if (d.stage === 'final') unmet.push('final-stage-needs-judgment');
      gate(unmet);
      return [
        {
          type: 'CriminalCaseLinked',
          data: {
            caseId: state.caseId!,
            criminalCaseId: d.criminalCaseId,
            country: d.country,
            authorityType: d.authorityType,
            offence: d.offence,
            stage: d.stage,
            referenceKept: d.referenceKept,
            linkedBy: m.organisationId,
            linkedAt: at,
          },
        },
      ];
    }
    case 'ChangeStage': {
      const d = command.data;
      const cc = criminalCase(state, d.criminalCaseId);
      const unmet = participationUnmet(state);
      if (!cc) unmet.push('criminal-case-not-linked');
      else {
        if (cc.closed) unmet.push('criminal-case-closed');
        if (STAGE_ORDER.indexOf(d.stage) <= STAGE_ORDER.indexOf(cc.stage)) unmet.push('stage-must-move-forward');
        // A judgment becomes final only once there is one.
        if (d.stage === 'final' && !cc.outcomes.some((o) => o.outcome.kind === 'conviction' || o.outcome.kind === 'acquittal')) {
          unmet.push('final-stage-needs-judgment');
        }
      }
      gate(unmet);
      invalid(notInFuture([['changed-on', d.changedOn]], m.now));
      return [
        {
          type: 'StageChanged',
          data: {
            caseId: state.caseId!,
            criminalCaseId: d.criminalCaseId,
            stage: d.stage,
            previousStage: cc!.stage,
            changedOn: d.changedOn,
            changedBy: m.organisationId,
            changedAt: at,
            dutyId: d.dutyId,
            informDueAt: dueAt(m.now, policy),
          },
        },
      ];
    }
    case 'ScheduleHearing': {
      const d = command.data;
      const cc = criminalCase(state, d.criminalCaseId);
      const unmet = participationUnmet(state);
      if (!cc) unmet.push('criminal-case-not-linked');
      else if (cc.closed) unmet.push('criminal-case-closed');
      gate(unmet);
      return [
        {
          type: 'HearingScheduled',
          data: {
            caseId: state.caseId!,
            criminalCaseId: d.criminalCaseId,
            hearingId: d.hearingId,
            date: d.date,
            country: d.country,
            remoteTestimonyPossible: d.remoteTestimonyPossible,
            victimToTestify: d.victimToTestify,
            scheduledBy: m.organisationId,
            scheduledAt: at,
            dutyId: d.dutyId,
            informDueAt: dueAt(m.now, policy),
          },
        },
      ];
    }
    case 'RecordOutcome': {
      const d = command.data;
      const cc = criminalCase(state, d.criminalCaseId);
      const unmet = participationUnmet(state);
      if (!cc) unmet.push('criminal-case-not-linked');
      else {
        if (cc.closed) unmet.push('criminal-case-closed');
        const judgment = d.outcome.kind === 'conviction' || d.outcome.kind === 'acquittal';
        if (judgment && cc.stage !== 'trial' && cc.stage !== 'appeal') unmet.push('judgment-needs-trial-or-appeal-stage');
        if (cc.outcomes.some((o) => o.stage === cc.stage)) unmet.push('outcome-already-recorded-at-stage');
      }
      gate(unmet);
      invalid(notInFuture([['decided-on', d.decidedOn]], m.now));
      return [
        {
          type: 'OutcomeRecorded',
          data: {
            caseId: state.caseId!,
            criminalCaseId: d.criminalCaseId,
            outcomeId: d.outcomeId,
            stage: cc!.stage,
            outcome: d.outcome,
            decidedOn: d.decidedOn,
            recordedBy: m.organisationId,
            recordedAt: at,
            dutyId: d.dutyId,
            informDueAt: dueAt(m.now, policy),
          },
        },
      ];
    }
    case 'RecordVictimInformed': {
      const d = command.data;
      const unmet = participationUnmet(state);
      const ids = [...new Set(d.dutyIds)];
      const duties = ids.map((id) => state.duties.find((x) => x.dutyId === id));
      if (duties.some((x) => x === undefined)) unmet.push('duty-unknown');
      if (duties.some((x) => x !== undefined && x.status !== 'open')) unmet.push('duty-not-open');
      gate(unmet);
      return [
        {
          type: 'VictimInformed',
          data: {
            caseId: state.caseId!,
            dutyIds: ids,
            channel: d.channel,
            informedBy: m.organisationId,
            informedByCapacity: m.capacities.includes('coordinator') ? 'coordinator' : 'law_enforcement',
            informedAt: at,
            lateDutyIds: duties.filter((x) => x!.dueAt < at).map((x) => x!.dutyId),
          },
        },
      ];
    }
    case 'AssignLegalCounsel': {
      const d = command.data;
      const unmet = participationUnmet(state);
      if (d.criminalCaseId !== null && !criminalCase(state, d.criminalCaseId)) unmet.push('criminal-case-not-linked');
      gate(unmet);
      invalid(notInFuture([['assigned-on', d.assignedOn]], m.now));
      return [
        {
          type: 'LegalCounselAssigned',
          data: { caseId: state.caseId!, ...d, recordedBy: m.organisationId, recordedAt: at },
        },
      ];
    }
    case 'GrantProtectionMeasure': {
      const d = command.data;
      const cc = criminalCase(state, d.criminalCaseId);
      const unmet = participationUnmet(state);
      if (!cc) unmet.push('criminal-case-not-linked');
      else if (cc.protectionMeasures.some((p) => p.measure === d.measure)) unmet.push('protection-measure-already-granted');
      gate(unmet);
      invalid(notInFuture([['granted-on', d.grantedOn]], m.now));
      return [
        {
          type: 'ProtectionMeasureGranted',
          data: { caseId: state.caseId!, ...d, recordedBy: m.organisationId, recordedAt: at },
        },
      ];
    }
    case 'AssignInterpreter': {
      const d = command.data;
      const unmet = participationUnmet(state);
      if (d.criminalCaseId !== null && !criminalCase(state, d.criminalCaseId)) unmet.push('criminal-case-not-linked');
      if (state.interpreters.some((i) => i.language === d.language && i.criminalCaseId === d.criminalCaseId)) unmet.push('interpreter-already-assigned');
      gate(unmet);
      invalid(notInFuture([['assigned-on', d.assignedOn]], m.now));
      return [
        {
          type: 'InterpreterAssigned',
          data: { caseId: state.caseId!, ...d, recordedBy: m.organisationId, recordedAt: at },
        },
      ];
    }
    case 'ClaimCompensation': {
      const d = command.data;
      const unmet = participationUnmet(state);
      if (!criminalCase(state, d.criminalCaseId)) unmet.push('criminal-case-not-linked');
      gate(unmet);
      invalid([
        ...notInFuture([['claimed-on', d.claimedOn]], m.now),
        ...(Number(d.claimed.amount) <= 0 ? ['claimed-amount-must-be-positive'] : []),
      ]);
      return [
        {
          type: 'CompensationClaimed',
          data: { caseId: state.caseId!, ...d, recordedBy: m.organisationId, recordedAt: at },
        },
      ];
    }
    case 'DecideCompensation': {
      const d = command.data;
      const claim = state.claims.find((c) => c.claimId === d.claimId);
      const unmet = participationUnmet(state);
      if (!claim) unmet.push('claim-not-found');
      else if (claim.decision) unmet.push('claim-already-decided');
      gate(unmet);
      const amount = Number(d.awarded.amount);
      invalid([
        ...notInFuture([['decided-on', d.decidedOn]], m.now),
        ...(d.awarded.currency !== claim!.claimed.currency ? ['award-currency-differs-from-claim'] : []),
        ...(d.decision === 'awarded' && amount <= 0 ? ['awarded-amount-must-be-positive'] : []),
        ...(d.decision === 'rejected' && (amount !== 0 || d.paid) ? ['rejected-claim-has-no-award'] : []),
      ]);
      return [
        {
          type: 'CompensationDecided',
          data: { caseId: state.caseId!, criminalCaseId: claim!.criminalCaseId, ...d, recordedBy: m.organisationId, recordedAt: at },
        },
      ];
    }
    default: {
      const unknown: never = command;
      throw new Error(`Unknown command ${(unknown as { type: string }).type}`);
    }
  }
}

function updateCase(state: ProceedingsState, id: string, f: (c: CriminalCaseState) => CriminalCaseState): ProceedingsState {
  return { ...state, criminalCases: state.criminalCases.map((c) => (c.criminalCaseId === id ? f(c) : c)) };
}

function addDuty(state: ProceedingsState, kind: InformationDutyKind, d: { dutyId: string; informDueAt: string; criminalCaseId: string }, arisenAt: string): ProceedingsState {
  return {
    ...state,
    duties: [
      ...state.duties,
      { dutyId: d.dutyId, kind, criminalCaseId: d.criminalCaseId, arisenAt, dueAt: d.informDueAt, status: 'open', informedAt: null, late: false },
    ],
  };
}

export function evolve(state: ProceedingsState, event: ProceedingsEvent): ProceedingsState {
  switch (event.type) {
    case 'ParticipationConsented':
      return { ...state, caseId: event.data.caseId, participation: 'consented', consentedOn: event.data.consentedOn };
    case 'ParticipationWithdrawn': {
      const lapsed = new Set(event.data.lapsedDutyIds);
      return {
        ...state,
        participation: 'withdrawn',
        withdrawnOn: event.data.withdrawnOn,
        duties: state.duties.map((x) => (lapsed.has(x.dutyId) ? { ...x, status: 'lapsed' } : x)),
      };
    }
    case 'CriminalCaseLinked': {
      const d = event.data;
      return {
        ...state,
        criminalCases: [
          ...state.criminalCases,
          {
            criminalCaseId: d.criminalCaseId,
            country: d.country,
            authorityType: d.authorityType,
            offence: d.offence,
            referenceKept: d.referenceKept,
            linkedAt: d.linkedAt,
            stage: d.stage,
            hearings: [],
            outcomes: [],
            protectionMeasures: [],
            closed: false,
          },
        ],
      };
    }
    case 'StageChanged': {
      const d = event.data;
      const next = updateCase(state, d.criminalCaseId, (c) => ({ ...c, stage: d.stage, closed: c.closed || d.stage === 'final' }));
      return addDuty(next, 'stage_change', d, d.changedAt);
    }
    case 'HearingScheduled': {
      const d = event.data;
      const hearing: HearingState = {
        hearingId: d.hearingId,
        date: d.date,
        country: d.country,
        remoteTestimonyPossible: d.remoteTestimonyPossible,
        victimToTestify: d.victimToTestify,
      };
      return addDuty(updateCase(state, d.criminalCaseId, (c) => ({ ...c, hearings: [...c.hearings, hearing] })), 'hearing', d, d.scheduledAt);
    }
    case 'OutcomeRecorded': {
      const d = event.data;
      // Dismissal and limitation expiry end the criminal case at whatever stage it is.
      const ends = d.outcome.kind === 'dismissed' || d.outcome.kind === 'statute_of_limitations_expired';
      const next = updateCase(state, d.criminalCaseId, (c) => ({
        ...c,
        outcomes: [...c.outcomes, { outcomeId: d.outcomeId, stage: d.stage, outcome: d.outcome, decidedOn: d.decidedOn }],
        closed: c.closed || ends,
      }));
      return addDuty(next, 'outcome', d, d.recordedAt);
    }
    case 'VictimInformed': {
      const d = event.data;
      const ids = new Set(d.dutyIds);
      const late = new Set(d.lateDutyIds);
      return {
        ...state,
        duties: state.duties.map((x) => (ids.has(x.dutyId) ? { ...x, status: 'fulfilled', informedAt: d.informedAt, late: late.has(x.dutyId) } : x)),
      };
    }
    case 'LegalCounselAssigned': {
      const { criminalCaseId, counselOrganisationId, freeOfCharge, assignedOn } = event.data;
      return { ...state, legalCounsel: [...state.legalCounsel, { criminalCaseId, counselOrganisationId, freeOfCharge, assignedOn }] };
    }
    case 'ProtectionMeasureGranted': {
      const { criminalCaseId, measure, grantedOn } = event.data;
      return updateCase(state, criminalCaseId, (c) => ({ ...c, protectionMeasures: [...c.protectionMeasures, { measure, grantedOn }] }));
    }
    case 'InterpreterAssigned': {
      const { criminalCaseId, language, assignedOn } = event.data;
      return { ...state, interpreters: [...state.interpreters, { criminalCaseId, language, assignedOn }] };
    }
    case 'CompensationClaimed': {
      const { criminalCaseId, claimId, claimed, against, claimedOn } = event.data;
      return { ...state, claims: [...state.claims, { claimId, criminalCaseId, claimed, against, claimedOn, decision: null }] };
    }
    case 'CompensationDecided': {
      const { claimId, decision, awarded, paid, decidedOn } = event.data;
      return { ...state, claims: state.claims.map((c) => (c.claimId === claimId ? { ...c, decision: { decision, awarded, paid, decidedOn } } : c)) };
    }
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}
