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
  type OffenderReleaseKind,
  type StageSource,
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
  /** Country of the caller's organisation (registry): a criminal case elsewhere is a foreign trial. */
  organisationCountry?: string;
}

type Cmd<T extends string, D> = { type: T; data: D; metadata: CommandMetadata };

export type ProceedingsCommand =
  | Cmd<'ConsentParticipation', { caseId: string; consentedOn: IsoDate }>
  | Cmd<'WithdrawParticipation', { caseId: string; withdrawnOn: IsoDate; informationDeclined?: boolean }>
  | Cmd<
      'LinkCriminalCase',
      { caseId: string; criminalCaseId: string; country: CountryCode; authorityType: ProceedingsAuthorityType; offence: ProceedingsOffence; stage: ProceedingsStage; referenceKept: boolean }
    >
  | Cmd<'ChangeStage', { criminalCaseId: string; stage: ProceedingsStage; changedOn: IsoDate; dutyId: string; source?: StageSource }>
  | Cmd<
      'ScheduleHearing',
      {
        criminalCaseId: string;
        hearingId: string;
        date: IsoDate;
        country: CountryCode;
        remoteTestimonyPossible: boolean;
        victimToTestify: boolean;
        dutyId: string;
        /** The day the hearing was set; the duty to inform counts from it (default: the day recorded). */
        scheduledOn?: IsoDate;
      }
    >
  | Cmd<'RecordVictimInformed', { dutyIds: string[]; channel: InformationChannel }>
  | Cmd<'AssignLegalCounsel', { criminalCaseId: string | null; counselOrganisationId: string | null; freeOfCharge: boolean; assignedOn: IsoDate }>
  | Cmd<'GrantProtectionMeasure', { criminalCaseId: string; measure: ProtectionMeasure; grantedOn: IsoDate }>
  | Cmd<'AssignInterpreter', { criminalCaseId: string | null; language: string; assignedOn: IsoDate }>
  | Cmd<'ClaimCompensation', { criminalCaseId: string; claimId: string; claimed: Money; against: 'offender' | 'state_fund'; claimedOn: IsoDate }>
  | Cmd<'DecideCompensation', { claimId: string; decision: 'awarded' | 'rejected'; awarded: Money; paid: boolean; decidedOn: IsoDate }>
  | Cmd<'RecordOutcome', { criminalCaseId: string; outcomeId: string; outcome: ProceedingsOutcome; decidedOn: IsoDate; dutyId: string }>
  | Cmd<'RecordOffenderRelease', { criminalCaseId: string; kind: OffenderReleaseKind; releasedOn: IsoDate; dutyId: string }>
  | Cmd<'RecordCompensationPaid', { claimId: string; amount: Money; paidOn: IsoDate }>;

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
  /** Payments recorded after the decision (CompensationPaid). */
  payments: Array<{ amount: Money; paidOn: IsoDate }>;
}

export interface ProceedingsState {
  caseId: string | null;
  participation: 'none' | 'consented' | 'withdrawn';
  consentedOn: IsoDate | null;
  withdrawnOn: IsoDate | null;
  /** The victim asked not to be informed (recorded with a withdrawal): no duty to inform arises. */
  informationDeclined: boolean;
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
  informationDeclined: false,
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
  // A coordinator records stages only of a foreign trial, naming its source (lawyer or foreign authority).
  ChangeStage: ['law_enforcement', 'coordinator'],
  ScheduleHearing: ['law_enforcement'],
  RecordOutcome: ['law_enforcement'],
  RecordVictimInformed: ['coordinator', 'law_enforcement'],
  AssignLegalCounsel: ['coordinator'],
  GrantProtectionMeasure: ['coordinator', 'law_enforcement'],
  AssignInterpreter: ['coordinator', 'law_enforcement'],
  ClaimCompensation: ['coordinator'],
  DecideCompensation: ['coordinator', 'law_enforcement'],
  RecordOffenderRelease: ['law_enforcement', 'coordinator'],
  RecordCompensationPaid: ['coordinator', 'law_enforcement'],
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

/**
 * The right to be informed does not depend on cooperating (Directive 2012/29/EU Art. 6): once the
 * victim consented, stages, hearings, outcomes, an offender's release and informing the victim
 * stay recordable after a withdrawal; only the victim's side's own acts stop.
 */
function informationUnmet(state: ProceedingsState): string[] {
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

const endOfDay = (date: IsoDate, plusDays: number): string => new Date(Date.parse(`${date}T23:59:59.999Z`) + plusDays * DAY_MS).toISOString();

/**
 * When the victim must be informed: the end of the day the event happened plus the policy days,
 * however late it is recorded (a late entry does not restart the clock); for a hearing no later
 * than the end of the day before it.
 */
export function informDueAt(eventDate: IsoDate, policy: ProceedingsPolicy, hearingDate?: IsoDate): string {
  const due = endOfDay(eventDate, policy.informDays);
  if (hearingDate === undefined) return due;
  const dayBefore = endOfDay(hearingDate, -1);
  return dayBefore < due ? dayBefore : due;
}

/** Marks an event that opens no duty because the victim asked not to be informed. */
const noDutyIfDeclined = (state: ProceedingsState): { dutyArises?: false } => (state.informationDeclined ? { dutyArises: false } : {});

const sumOf = (amounts: Money[]): number => amounts.reduce((t, a) => t + Number(a.amount), 0);

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
      // Consent can be given again after a withdrawal.
      invalid([
        ...notInFuture([['consented-on', d.consentedOn]], m.now),
        ...(state.withdrawnOn && d.consentedOn < state.withdrawnOn ? ['consented-before-withdrawal'] : []),
      ]);
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
            // Duties lapse only when the victim asked not to be informed.
            lapsedDutyIds: d.informationDeclined ? state.duties.filter((x) => x.status === 'open').map((x) => x.dutyId) : [],
            informationDeclined: d.informationDeclined === true,
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
      const unmet = informationUnmet(state);
      const byAuthority = m.capacities.includes('law_enforcement');
      if (!cc) unmet.push('criminal-case-not-linked');
      else {
        // The coordinator records only the stages of a trial abroad, as learnt from the lawyer or the foreign authority.
        if (!byAuthority && (m.organisationCountry === undefined || cc.country === m.organisationCountry)) unmet.push('coordinator-records-only-foreign-trial-stages');
        if (cc.closed) unmet.push('criminal-case-closed');
        if (STAGE_ORDER.indexOf(d.stage) <= STAGE_ORDER.indexOf(cc.stage)) unmet.push('stage-must-move-forward');
        // A judgment becomes final only once there is one.
        if (d.stage === 'final' && !cc.outcomes.some((o) => o.outcome.kind === 'conviction' || o.outcome.kind === 'acquittal')) {
          unmet.push('final-stage-needs-judgment');
        }
      }
      gate(unmet);
      const source: StageSource = d.source ?? (byAuthority ? 'law_enforcement' : 'foreign_authority');
      invalid([
        ...notInFuture([['changed-on', d.changedOn]], m.now),
        ...(!byAuthority && d.source === undefined ? ['source-required'] : []),
        ...(!byAuthority && source === 'law_enforcement' ? ['source-must-be-lawyer-or-foreign-authority'] : []),
      ]);
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
            source,
            dutyId: d.dutyId,
            informDueAt: informDueAt(d.changedOn, policy),
            ...noDutyIfDeclined(state),
          },
        },
      ];
    }
    case 'ScheduleHearing': {
      const d = command.data;
      const cc = criminalCase(state, d.criminalCaseId);
      const unmet = informationUnmet(state);
      if (!cc) unmet.push('criminal-case-not-linked');
      else if (cc.closed) unmet.push('criminal-case-closed');
      gate(unmet);
      const scheduledOn = d.scheduledOn ?? m.now.toISOString().slice(0, 10);
      invalid(notInFuture([['scheduled-on', scheduledOn]], m.now));
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
            scheduledOn,
            dutyId: d.dutyId,
            informDueAt: informDueAt(scheduledOn, policy, d.date),
            ...noDutyIfDeclined(state),
          },
        },
      ];
    }
    case 'RecordOutcome': {
      const d = command.data;
      const cc = criminalCase(state, d.criminalCaseId);
      const unmet = informationUnmet(state);
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
            informDueAt: informDueAt(d.decidedOn, policy),
            ...noDutyIfDeclined(state),
          },
        },
      ];
    }
    case 'RecordOffenderRelease': {
      const d = command.data;
      const cc = criminalCase(state, d.criminalCaseId);
      const unmet = informationUnmet(state);
      if (!cc) unmet.push('criminal-case-not-linked');
      gate(unmet);
      invalid(notInFuture([['released-on', d.releasedOn]], m.now));
      return [
        {
          type: 'OffenderReleased',
          data: {
            caseId: state.caseId!,
            criminalCaseId: d.criminalCaseId,
            kind: d.kind,
            releasedOn: d.releasedOn,
            recordedBy: m.organisationId,
            recordedAt: at,
            dutyId: d.dutyId,
            informDueAt: informDueAt(d.releasedOn, policy),
            ...noDutyIfDeclined(state),
          },
        },
      ];
    }
    case 'RecordVictimInformed': {
      const d = command.data;
      const unmet = informationUnmet(state);
      if (state.informationDeclined) unmet.push('victim-declined-information');
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
    case 'RecordCompensationPaid': {
      const d = command.data;
      const claim = state.claims.find((c) => c.claimId === d.claimId);
      const unmet = informationUnmet(state);
      if (!claim) unmet.push('claim-not-found');
      else if (!claim.decision) unmet.push('compensation-not-decided');
      else if (claim.decision.decision !== 'awarded') unmet.push('compensation-not-awarded');
      gate(unmet);
      const decision = claim!.decision!;
      const amount = Number(d.amount.amount);
      invalid([
        ...notInFuture([['paid-on', d.paidOn]], m.now),
        ...(d.paidOn < decision.decidedOn ? ['paid-before-decision'] : []),
        ...(d.amount.currency !== decision.awarded.currency ? ['paid-currency-differs-from-award'] : []),
        ...(amount <= 0 ? ['paid-amount-must-be-positive'] : []),
        ...(sumOf([...claim!.payments.map((p) => p.amount), d.amount]) > Number(decision.awarded.amount) + 1e-9 ? ['paid-exceeds-award'] : []),
      ]);
      return [
        {
          type: 'CompensationPaid',
          data: { caseId: state.caseId!, criminalCaseId: claim!.criminalCaseId, claimId: d.claimId, amount: d.amount, paidOn: d.paidOn, recordedBy: m.organisationId, recordedAt: at },
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
  // The victim asked not to be informed: the event is recorded, no duty arises.
  if (state.informationDeclined) return state;
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
      // Consent given again after a withdrawal: the victim takes part (and is informed) again.
      return { ...state, caseId: event.data.caseId, participation: 'consented', consentedOn: event.data.consentedOn, informationDeclined: false };
    case 'ParticipationWithdrawn': {
      const lapsed = new Set(event.data.lapsedDutyIds);
      return {
        ...state,
        participation: 'withdrawn',
        withdrawnOn: event.data.withdrawnOn,
        informationDeclined: event.data.informationDeclined === true,
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
      return { ...state, claims: [...state.claims, { claimId, criminalCaseId, claimed, against, claimedOn, decision: null, payments: [] }] };
    }
    case 'CompensationDecided': {
      const { claimId, decision, awarded, paid, decidedOn } = event.data;
      return { ...state, claims: state.claims.map((c) => (c.claimId === claimId ? { ...c, decision: { decision, awarded, paid, decidedOn } } : c)) };
    }
    case 'CompensationPaid': {
      const { claimId, amount, paidOn } = event.data;
      return { ...state, claims: state.claims.map((c) => (c.claimId === claimId ? { ...c, payments: [...c.payments, { amount, paidOn }] } : c)) };
    }
    case 'OffenderReleased': {
      const d = event.data;
      return addDuty(state, 'offender_release', d, d.recordedAt);
    }
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}
