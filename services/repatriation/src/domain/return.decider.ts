import {
  DomainError,
  type FamilyAssessmentOutcome,
  type FollowUpSituation,
  type IsoDate,
  type RepatriationEvent,
  type ReturnCancellationReason,
  type RiskFactor,
  type RiskLevel,
  type RiskMeasure,
  type RiskRecommendation,
  type RiskAssessmentSide,
  type UnannouncedArrivalSource,
  type ServiceType,
  type TravelDocumentRefusalReason,
  type TravelMode,
  type CountryCode,
  unmetConditions,
} from '@trm/contracts';
import type { Decider } from '@trm/event-store';
import {
  type CommandMetadata,
  hasPurpose,
  isCaseParticipant,
  isChildOn,
  isChildProtection,
  isDestinationPartner,
  isNationalContactPoint,
  type CaseFacts,
} from './case-facts.js';

export interface RepatriationPolicy {
  /** Days of notice the national contact point needs before a departure (DOMAIN: 10). */
  noticeDays: number;
  /** Days the national contact point has to acknowledge a return request (DOMAIN: 2). */
  acknowledgementDays: number;
  /** Follow-ups after arrival, in days (DOMAIN: 30, 90, 180). */
  followUpDays: number[];
}

export const DEFAULT_REPATRIATION_POLICY: RepatriationPolicy = { noticeDays: 10, acknowledgementDays: 2, followUpDays: [30, 90, 180] };

export type ReturnCommand =
  | {
      type: 'RequestReturn';
      data: { returnId: string; plannedDepartureDate: IsoDate; needs: ServiceType[]; escortRequired: boolean; travelDocumentNeeded: boolean };
      metadata: CommandMetadata;
    }
  | { type: 'AcknowledgeReturnRequest'; data: { keyContactId: string; alternateContactId: string }; metadata: CommandMetadata }
  | {
      type: 'RecordRiskAssessment';
      data: { assessmentId: string; assessedOn: IsoDate; level: RiskLevel; factors: RiskFactor[]; recommendation: RiskRecommendation; measures?: RiskMeasure[] };
      metadata: CommandMetadata;
    }
  | { type: 'CommentRiskAssessment'; data: { assessmentId: string; concurs: boolean; additionalFactors: RiskFactor[] }; metadata: CommandMetadata }
  | { type: 'ResolveRiskDisagreement'; data: { recommendation: RiskRecommendation; measures: RiskMeasure[] }; metadata: CommandMetadata }
  | {
      type: 'RecordUnannouncedArrival';
      data: { returnId: string; arrivedOn: IsoDate; pointOfArrival: string; deported: boolean; learntFrom: UnannouncedArrivalSource; fromCountry: CountryCode | null };
      metadata: CommandMetadata;
    }
  /** Run by the case-facts consumer when referrals records the withdrawal of consent to return. */
  | { type: 'CancelOnConsentWithdrawn'; data: { withdrawnBy: string }; metadata: CommandMetadata }
  | { type: 'RequestTravelDocument'; data: { consulateId: string }; metadata: CommandMetadata }
  | { type: 'IssueTravelDocument'; data: { validFrom: IsoDate; validUntil: IsoDate }; metadata: CommandMetadata }
  | { type: 'RefuseTravelDocument'; data: { reason: TravelDocumentRefusalReason }; metadata: CommandMetadata }
  | {
      type: 'PlanTravel';
      data: {
        departureDate: IsoDate;
        mode: TravelMode;
        departureCountry: CountryCode;
        transitCountries: CountryCode[];
        escortOrganisationId: string | null;
        pointOfArrival: string;
      };
      metadata: CommandMetadata;
    }
  | { type: 'ArrangeReception'; data: { receivingOrganisationId: string; pointOfArrival: string }; metadata: CommandMetadata }
  | { type: 'AppointGuardian'; data: { appointedOn: IsoDate }; metadata: CommandMetadata }
  | { type: 'DetermineBestInterests'; data: { determinedOn: IsoDate; returnInBestInterests: boolean }; metadata: CommandMetadata }
  | { type: 'AssessFamily'; data: { assessedOn: IsoDate; outcome: FamilyAssessmentOutcome; placementOrganisationId?: string }; metadata: CommandMetadata }
  | { type: 'Depart'; data: Record<string, never>; metadata: CommandMetadata }
  | { type: 'RecordTransit'; data: { country: CountryCode }; metadata: CommandMetadata }
  | { type: 'RecordArrival'; data: { pointOfArrival: string | null }; metadata: CommandMetadata }
  | { type: 'HandOverToAssistance'; data: { services: ServiceType[] }; metadata: CommandMetadata }
  | { type: 'RecordFollowUp'; data: { afterDays: number; situation: FollowUpSituation }; metadata: CommandMetadata }
  | { type: 'CancelReturn'; data: { reason: ReturnCancellationReason }; metadata: CommandMetadata };

export type ReturnPhase = 'none' | 'preparing' | 'in_transit' | 'arrived' | 'handed_over' | 'cancelled';

export interface ReturnState {
  phase: ReturnPhase;
  caseId: string | null;
  returnId: string | null;
  requestedBy: string | null;
  requestedAt: string | null;
  plannedDepartureDate: IsoDate | null;
  needs: ServiceType[];
  escortRequired: boolean;
  travelDocumentNeeded: boolean;
  child: boolean;
  noticeDays: number | null;
  lateNotification: boolean;
  acknowledgementDueAt: string | null;
  acknowledgement: { acknowledgedBy: string; keyContactId: string; alternateContactId: string; acknowledgedAt: string; late: boolean } | null;
  riskAssessments: Array<{
    assessmentId: string;
    assessedBy: string;
    level: RiskLevel;
    factors: RiskFactor[];
    recommendation: RiskRecommendation;
    comment: { commentedBy: string; concurs: boolean; additionalFactors: RiskFactor[] } | null;
    /** Absent in states folded before the rule. */
    measures?: RiskMeasure[];
    /** `null` for events recorded before sides were: worked out from the case facts. */
    side?: RiskAssessmentSide | null;
    recordedAt?: string;
  }>;
  /** The origin contact point's resolution of the sides' disagreement, for the pair it settled. */
  riskResolution?: { originAssessmentId: string; destinationAssessmentId: string; recommendation: RiskRecommendation; resolvedBy: string } | null;
  /** Recorded by the origin's contact point after the fact: no request, no plan, no consent needed. */
  unannounced?: { arrivedOn: IsoDate; deported: boolean; learntFrom: UnannouncedArrivalSource } | null;
  travelDocument: {
    status: 'requested' | 'issued' | 'refused';
    consulateId: string;
    validFrom: IsoDate | null;
    validUntil: IsoDate | null;
    refusalReason: TravelDocumentRefusalReason | null;
  } | null;
  travelPlan: {
    departureDate: IsoDate;
    mode: TravelMode;
    departureCountry: CountryCode;
    transitCountries: CountryCode[];
    escortOrganisationId: string | null;
    pointOfArrival: string;
  } | null;
  reception: { receivingOrganisationId: string; pointOfArrival: string; arrangedBy?: string } | null;
  guardianAppointed: boolean;
  bestInterests: { returnInBestInterests: boolean; determinedBy: string; determinedOn: IsoDate } | null;
  familyAssessment: { outcome: FamilyAssessmentOutcome; assessedBy: string; placementOrganisationId?: string } | null;
  departedAt: string | null;
  transits: CountryCode[];
  arrival: { receivedBy: string; pointOfArrival: string; arrivedAt: string } | null;
  handedOver: { receivingOrganisationId: string; services: ServiceType[]; handedOverAt: string } | null;
  followUps: Array<{ afterDays: number; dueAt: string; recordedAt: string | null; situation: FollowUpSituation | null }>;
  cancellation: { reason: ReturnCancellationReason; cancelledBy: string; cancelledAt: string } | null;
}

export const initialReturnState = (): ReturnState => ({
  phase: 'none',
  caseId: null,
  returnId: null,
  requestedBy: null,
  requestedAt: null,
  plannedDepartureDate: null,
  needs: [],
  escortRequired: false,
  travelDocumentNeeded: false,
  child: false,
  noticeDays: null,
  lateNotification: false,
  acknowledgementDueAt: null,
  acknowledgement: null,
  riskAssessments: [],
  riskResolution: null,
  unannounced: null,
  travelDocument: null,
  travelPlan: null,
  reception: null,
  guardianAppointed: false,
  bestInterests: null,
  familyAssessment: null,
  departedAt: null,
  transits: [],
  arrival: null,
  handedOver: null,
  followUps: [],
  cancellation: null,
});

const DAY_MS = 86_400_000;

const dateOf = (d: Date): IsoDate => d.toISOString().slice(0, 10);

/** Whole calendar days from `from` to `to` (UTC dates): a request today for tomorrow gives 1. */
export function daysBetween(from: IsoDate, to: IsoDate): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** A negative best-interests determination stops the return (Convention Art. 16(7)). */
export function isStopped(state: ReturnState): boolean {
  return state.bestInterests !== null && !state.bestInterests.returnInBestInterests;
}

type Assessment = ReturnState['riskAssessments'][number];

/** Reception: the origin's contact point, child protection or the receiving organisation itself; never the destination side. */
export function mayArrangeReception(facts: CaseFacts, orgId: string, receivingOrganisationId: string): boolean {
  if (isNationalContactPoint(facts, orgId)) return true;
  if (isDestinationPartner(facts, orgId)) return false;
  return isChildProtection(facts, orgId) || receivingOrganisationId === orgId;
}

/** The country of origin's side of a return: its national contact point (or regional centre) or child protection. */
export function isOriginSide(facts: CaseFacts, orgId: string): boolean {
  return isNationalContactPoint(facts, orgId) || isChildProtection(facts, orgId);
}

function sideOf(a: Assessment, facts: CaseFacts): RiskAssessmentSide {
  return a.side ?? (isOriginSide(facts, a.assessedBy) ? 'origin' : 'destination');
}

/** The latest assessment of each side: a newer one of one side never replaces the other's. */
export function latestAssessments(state: ReturnState, facts: CaseFacts): { origin: Assessment | undefined; destination: Assessment | undefined } {
  const all = state.riskAssessments;
  return {
    origin: all.filter((a) => sideOf(a, facts) === 'origin').at(-1),
    destination: all.filter((a) => sideOf(a, facts) === 'destination').at(-1),
  };
}

/**
 * The two sides disagree when one advises against return and the other does not, or when the
 * origin commented that it does not concur with the destination's latest assessment.
 */
export function sidesDisagree(origin: Assessment | undefined, destination: Assessment | undefined, facts: CaseFacts): boolean {
  if (!origin || !destination) return false;
  if ((origin.recommendation === 'do_not_return') !== (destination.recommendation === 'do_not_return')) return true;
  const c = destination.comment;
  return c !== null && c.concurs === false && isOriginSide(facts, c.commentedBy);
}

/** Threat or re-trafficking flags raised in referrals since the origin last assessed the risk. */
export function riskFlagsSince(facts: CaseFacts, origin: Assessment | undefined): boolean {
  const since = origin?.recordedAt ?? '';
  return (facts.riskFlags ?? []).some((f) => (f.kind === 'threat' || f.kind === 're_trafficking') && f.raisedAt > since);
}

/**
 * Every condition a departure on `today` still lacks, as stable codes, all of them at once. The
 * same function feeds the Departed gate, the return view and the contact point's board, so what
 * people see is exactly what the gate will say.
 */
export function departureUnmet(state: ReturnState, facts: CaseFacts, today: IsoDate): string[] {
  const unmet: string[] = [];
  if (facts.current === false) unmet.push('case-facts-not-current');
  if (!facts.returnConsent) unmet.push('consent-to-return-not-in-force');
  if (!state.acknowledgement) unmet.push('return-request-not-acknowledged');
  // The origin's risk assessment governs: a newer destination assessment never supersedes it.
  const { origin, destination } = latestAssessments(state, facts);
  if (!origin && !destination) unmet.push('risk-assessment-missing');
  else if (!origin) unmet.push('origin-risk-assessment-missing');
  const disagree = sidesDisagree(origin, destination, facts);
  const r = state.riskResolution ?? null;
  const resolution = disagree && r && r.originAssessmentId === origin!.assessmentId && r.destinationAssessmentId === destination!.assessmentId ? r : null;
  if (disagree && !resolution) unmet.push('risk-disagreement-unresolved');
  const governing = resolution?.recommendation ?? origin?.recommendation ?? destination?.recommendation;
  if (governing === 'do_not_return' || (!resolution && (origin?.recommendation === 'do_not_return' || destination?.recommendation === 'do_not_return'))) {
    unmet.push('risk-assessment-advises-against-return');
  }
  if (riskFlagsSince(facts, origin)) unmet.push('risk-flag-raised-since-assessment');
  if (!state.travelPlan) unmet.push('travel-not-planned');
  if (state.travelDocumentNeeded) {
    const doc = state.travelDocument;
    if (!doc || doc.status !== 'issued') unmet.push('travel-document-missing');
    else if (doc.validFrom! > today || doc.validUntil! < today) unmet.push('travel-document-not-valid-on-departure');
  }
  if (!state.reception) unmet.push('reception-not-arranged');
  else {
    const by = state.reception.arrangedBy;
    if (by !== undefined && !mayArrangeReception(facts, by, state.reception.receivingOrganisationId)) unmet.push('reception-not-arranged-by-origin');
  }
  const child = isChildOn(facts, state.travelPlan?.departureDate ?? state.plannedDepartureDate ?? today);
  if (child) {
    if (!facts.participants.some((p) => p.purpose === 'child_protection')) unmet.push('child-protection-not-participant');
    // A child's consent to return is the guardian's or a parent's (CETS 197 Art. 10(4)); one the person gave before the case turned out a child's does not count.
    if (facts.returnConsent && facts.returnConsentGivenBy === 'person') unmet.push('consent-to-return-not-by-legal-representative');
    if (!state.guardianAppointed) unmet.push('guardian-not-appointed');
    if (!state.bestInterests) unmet.push('best-interests-determination-missing');
    else if (!state.bestInterests.returnInBestInterests) unmet.push('best-interests-against-return');
    if (!state.familyAssessment) unmet.push('family-assessment-missing');
    // A family assessed not suitable stops a return to it unless child protection places the child at arrival (issue 17).
    else if (state.familyAssessment.outcome === 'not_suitable' && !state.familyAssessment.placementOrganisationId) unmet.push('family-not-suitable-without-placement');
  }
  if ((child || state.escortRequired) && !state.travelPlan?.escortOrganisationId) unmet.push('escort-missing');
  return unmet;
}

/**
 * The day a departure would be checked on: today once the planned date has come, the planned
 * date before that, so a title valid from next week is not shown as a problem today.
 */
export function gateDate(state: ReturnState, now: Date): IsoDate {
  const today = dateOf(now);
  const planned = state.travelPlan?.departureDate ?? state.plannedDepartureDate ?? today;
  return planned > today ? planned : today;
}

/** What the return waits for next, for people scanning a board; `null` once nothing is left. */
export function nextStep(state: ReturnState, facts: CaseFacts, now: Date): string | null {
  switch (state.phase) {
    case 'none':
    case 'cancelled':
      return null;
    case 'preparing': {
      if (isStopped(state)) return 'cancel-return';
      if (!state.acknowledgement) return 'acknowledge-request';
      const first = departureUnmet(state, facts, gateDate(state, now))[0];
      return first ? STEP_FOR[first] ?? first : 'depart';
    }
    case 'in_transit':
      return 'record-arrival';
    case 'arrived':
      return 'hand-over-to-assistance';
    case 'handed_over': {
      const open = state.followUps.find((f) => f.recordedAt === null);
      return open ? `follow-up-${open.afterDays}-days` : null;
    }
  }
}

const STEP_FOR: Record<string, string> = {
  'case-facts-not-current': 'retry-shortly',
  'consent-to-return-not-in-force': 'record-consent-to-return',
  'return-request-not-acknowledged': 'acknowledge-request',
  'risk-assessment-missing': 'assess-risk',
  'origin-risk-assessment-missing': 'origin-assesses-risk',
  'risk-disagreement-unresolved': 'origin-resolves-risk-disagreement',
  'risk-flag-raised-since-assessment': 'origin-reassesses-risk',
  'reception-not-arranged-by-origin': 'arrange-reception',
  'risk-assessment-advises-against-return': 'reassess-risk-or-cancel',
  'travel-not-planned': 'plan-travel',
  'travel-document-missing': 'issue-travel-document',
  'travel-document-not-valid-on-departure': 'issue-travel-document',
  'reception-not-arranged': 'arrange-reception',
  'child-protection-not-participant': 'add-child-protection',
  'consent-to-return-not-by-legal-representative': 'record-consent-of-legal-representative',
  'guardian-not-appointed': 'appoint-guardian',
  'best-interests-determination-missing': 'determine-best-interests',
  'family-assessment-missing': 'assess-family',
  'family-not-suitable-without-placement': 'assess-family',
  'escort-missing': 'plan-escort',
};

function notYourStep(message: string): DomainError {
  return new DomainError('not-your-step', 'forbidden', message);
}

function requireReturn(state: ReturnState): void {
  if (state.phase === 'none') throw new DomainError('return-not-found', 'not_found', 'No such return.');
}

/** The preparation steps: only before departure, never once stopped or cancelled. */
function requirePreparing(state: ReturnState, opts: { allowStopped?: boolean } = {}): void {
  requireReturn(state);
  if (state.phase === 'cancelled') throw new DomainError('return-cancelled', 'conflict', 'The return was cancelled.');
  if (state.phase !== 'preparing') throw new DomainError('return-already-departed', 'conflict', 'The person has already departed.');
  if (!opts.allowStopped && isStopped(state)) {
    throw new DomainError('return-stopped', 'conflict', 'A best-interests determination found that return is not in the child\'s interests: the return can only be cancelled.');
  }
}

function invalid(code: string, unmet: string[]): DomainError {
  return new DomainError(code, 'invalid', 'The command is not consistent.', unmet);
}

export function createReturnDecider(policy: RepatriationPolicy = DEFAULT_REPATRIATION_POLICY): Decider<ReturnCommand, RepatriationEvent, ReturnState> {
  return {
    initialState: initialReturnState,
    evolve,
    decide(command, state) {
      const m = command.metadata;
      const org = m.organisationId;
      const facts = m.case;
      const at = m.now.toISOString();
      const today = dateOf(m.now);
      const ids = () => ({ caseId: state.caseId!, returnId: state.returnId! });
      switch (command.type) {
        case 'RequestReturn': {
          if (state.phase !== 'none') throw new DomainError('return-already-exists', 'conflict', 'This return already exists.');
          if (!isDestinationPartner(facts, org)) throw notYourStep('Only the destination partner (the notifier, or an organisation taking part for the return) requests a return.');
          if (!facts.returnConsent) throw unmetConditions('consent-to-return-required', 'A return exists only with the victim\'s recorded consent to return.', ['consent-to-return-not-in-force']);
          const d = command.data;
          if (d.plannedDepartureDate < today) throw invalid('invalid-return-request', ['planned-departure-in-past']);
          const noticeDays = daysBetween(today, d.plannedDepartureDate);
          const ret = { caseId: facts.caseId, returnId: d.returnId };
          const events: RepatriationEvent[] = [
            {
              type: 'ReturnRequested',
              data: {
                ...ret,
                requestedBy: org,
                requestedAt: at,
                plannedDepartureDate: d.plannedDepartureDate,
                needs: d.needs,
                escortRequired: d.escortRequired,
                travelDocumentNeeded: d.travelDocumentNeeded,
                child: isChildOn(facts, d.plannedDepartureDate),
                noticeDays,
                acknowledgementDueAt: new Date(m.now.getTime() + policy.acknowledgementDays * DAY_MS).toISOString(),
              },
            },
          ];
          if (noticeDays < policy.noticeDays) events.push(lateFlag(ret, d.plannedDepartureDate, noticeDays, policy, at));
          return events;
        }
        case 'AcknowledgeReturnRequest': {
          requirePreparing(state, { allowStopped: true });
          if (!isNationalContactPoint(facts, org)) throw notYourStep('Only the national contact point of the case acknowledges a return request.');
          if (state.acknowledgement) throw new DomainError('return-request-already-acknowledged', 'conflict', 'The return request was already acknowledged.');
          if (command.data.keyContactId === command.data.alternateContactId) throw invalid('invalid-return-acknowledgement', ['alternate-contact-must-differ']);
          return [
            {
              type: 'ReturnRequestAcknowledged',
              data: { ...ids(), acknowledgedBy: org, ...command.data, acknowledgedAt: at, late: at > state.acknowledgementDueAt! },
            },
          ];
        }
        case 'RecordRiskAssessment': {
          requirePreparing(state);
          if (!isDestinationPartner(facts, org) && !isNationalContactPoint(facts, org) && !isChildProtection(facts, org)) {
            throw notYourStep('Risk is assessed by the destination partner, the national contact point or child protection.');
          }
          const d = command.data;
          const unmet: string[] = [];
          if (d.assessedOn > today) unmet.push('assessed-on-in-future');
          if (new Set(d.factors).size !== d.factors.length) unmet.push('factors-repeat');
          if (state.riskAssessments.some((a) => a.assessmentId === d.assessmentId)) unmet.push('assessment-id-in-use');
          unmet.push(...measuresUnmet(d.level, d.recommendation, d.measures ?? []));
          if (unmet.length > 0) throw invalid('invalid-risk-assessment', unmet);
          const side: RiskAssessmentSide = isOriginSide(facts, org) ? 'origin' : 'destination';
          return [
            {
              type: 'RiskAssessmentRecorded',
              data: { ...ids(), ...d, measures: d.measures ?? [], side, assessedBy: org, recordedAt: at },
            },
          ];
        }
        case 'ResolveRiskDisagreement': {
          requirePreparing(state);
          // Only the origin's national contact point settles it: never the destination, not child protection alone.
          if (!isNationalContactPoint(facts, org)) throw notYourStep('Only the national contact point of the country of origin resolves a disagreement between the risk assessments.');
          const { origin, destination } = latestAssessments(state, facts);
          if (!sidesDisagree(origin, destination, facts)) {
            throw unmetConditions('no-risk-disagreement', 'The two sides\' latest risk assessments do not disagree: there is nothing to resolve.', ['risk-disagreement-missing']);
          }
          const d = command.data;
          const level = [origin!.level, destination!.level].includes('high') ? 'high' : 'medium';
          const unmet = measuresUnmet(level, d.recommendation, d.measures);
          if (unmet.length > 0) throw invalid('invalid-risk-resolution', unmet);
          return [
            {
              type: 'RiskDisagreementResolved',
              data: {
                ...ids(),
                resolvedBy: org,
                originAssessmentId: origin!.assessmentId,
                destinationAssessmentId: destination!.assessmentId,
                recommendation: d.recommendation,
                measures: d.measures,
                resolvedAt: at,
              },
            },
          ];
        }
        case 'CommentRiskAssessment': {
          requirePreparing(state);
          if (!isNationalContactPoint(facts, org) && !isChildProtection(facts, org)) {
            throw notYourStep('The country of origin (national contact point or child protection) comments on a risk assessment.');
          }
          const target = state.riskAssessments.find((a) => a.assessmentId === command.data.assessmentId);
          if (!target) throw invalid('invalid-risk-comment', ['assessment-not-found']);
          return [{ type: 'RiskAssessmentCommented', data: { ...ids(), ...command.data, commentedBy: org, commentedAt: at } }];
        }
        case 'RequestTravelDocument': {
          requirePreparing(state);
          if (!isDestinationPartner(facts, org) && !hasPurpose(facts, org, 'travel_documents')) {
            throw notYourStep('The destination partner or the consulate taking part requests a travel document.');
          }
          if (!hasPurpose(facts, command.data.consulateId, 'travel_documents')) throw invalid('invalid-travel-document-request', ['consulate-not-participant']);
          if (state.travelDocument && state.travelDocument.status !== 'refused') {
            throw new DomainError('travel-document-already-requested', 'conflict', 'A travel document was already requested or issued for this return.');
          }
          return [{ type: 'TravelDocumentRequested', data: { ...ids(), consulateId: command.data.consulateId, requestedBy: org, requestedAt: at } }];
        }
        case 'IssueTravelDocument':
        case 'RefuseTravelDocument': {
          requirePreparing(state);
          const doc = state.travelDocument;
          if (!doc || doc.status !== 'requested') throw new DomainError('no-pending-travel-document-request', 'conflict', 'No travel document request is waiting for an answer.');
          if (org !== doc.consulateId || !hasPurpose(facts, org, 'travel_documents')) throw notYourStep('Only the consulate the travel document was requested from answers.');
          if (command.type === 'RefuseTravelDocument') {
            return [{ type: 'TravelDocumentRefused', data: { ...ids(), consulateId: org, reason: command.data.reason, refusedAt: at } }];
          }
          const { validFrom, validUntil } = command.data;
          const unmet: string[] = [];
          if (validUntil < validFrom) unmet.push('valid-until-before-valid-from');
          if (validUntil < today) unmet.push('valid-until-in-past');
          if (unmet.length > 0) throw invalid('invalid-travel-document', unmet);
          return [
            { type: 'TravelDocumentIssued', data: { ...ids(), consulateId: org, documentType: 'single_trip_travel_title', validFrom, validUntil, issuedAt: at } },
          ];
        }
        case 'PlanTravel': {
          requirePreparing(state);
          if (!isDestinationPartner(facts, org)) throw notYourStep('The destination partner plans the travel.');
          const d = command.data;
          const unmet: string[] = [];
          if (d.departureDate < today) unmet.push('departure-date-in-past');
          if (new Set(d.transitCountries).size !== d.transitCountries.length) unmet.push('transit-countries-repeat');
          if (unmet.length > 0) throw invalid('invalid-travel-plan', unmet);
          // Notice counts from when the request reached the contact point, however late the plan comes.
          const noticeDays = daysBetween(state.requestedAt!.slice(0, 10), d.departureDate);
          const events: RepatriationEvent[] = [
            { type: 'TravelPlanned', data: { ...ids(), plannedBy: org, ...d, child: isChildOn(facts, d.departureDate), noticeDays, plannedAt: at } },
          ];
          if (noticeDays < policy.noticeDays && !state.lateNotification) events.push(lateFlag(ids(), d.departureDate, noticeDays, policy, at));
          return events;
        }
        case 'ArrangeReception': {
          requirePreparing(state);
          // The origin side receives: its contact point (or child protection, for a child), or the
          // receiving organisation itself; never the destination side.
          if (!mayArrangeReception(facts, org, command.data.receivingOrganisationId)) {
            throw notYourStep('Reception is arranged by the country of origin (its national contact point, or child protection) or by the receiving organisation itself, never by the destination side.');
          }
          if (!isCaseParticipant(facts, command.data.receivingOrganisationId)) throw invalid('invalid-reception', ['receiving-organisation-not-participant']);
          return [{ type: 'ReceptionArranged', data: { ...ids(), arrangedBy: org, ...command.data, arrangedAt: at } }];
        }
        case 'AppointGuardian':
        case 'DetermineBestInterests':
        case 'AssessFamily': {
          requirePreparing(state);
          if (!isChildProtection(facts, org)) throw notYourStep('Only child protection taking part in the case records the child\'s safeguards.');
          if (command.type === 'AppointGuardian') {
            if (command.data.appointedOn > today) throw invalid('invalid-guardian-appointment', ['appointed-on-in-future']);
            return [{ type: 'GuardianAppointed', data: { ...ids(), appointedBy: org, appointedOn: command.data.appointedOn, recordedAt: at } }];
          }
          if (command.type === 'DetermineBestInterests') {
            if (command.data.determinedOn > today) throw invalid('invalid-best-interests-determination', ['determined-on-in-future']);
            return [{ type: 'BestInterestsDetermined', data: { ...ids(), determinedBy: org, ...command.data, recordedAt: at } }];
          }
          const placement = command.data.placementOrganisationId;
          const familyUnmet: string[] = [];
          if (command.data.assessedOn > today) familyUnmet.push('assessed-on-in-future');
          if (placement !== undefined && command.data.outcome !== 'not_suitable') familyUnmet.push('placement-only-for-a-family-not-suitable');
          if (placement !== undefined && !isChildProtection(facts, placement)) familyUnmet.push('placement-by-child-protection-participant');
          if (familyUnmet.length > 0) throw invalid('invalid-family-assessment', familyUnmet);
          return [{ type: 'FamilyAssessed', data: { ...ids(), assessedBy: org, ...command.data, recordedAt: at } }];
        }
        case 'Depart': {
          requirePreparing(state, { allowStopped: true });
          if (!isDestinationPartner(facts, org)) throw notYourStep('The destination partner records the departure.');
          const unmet = departureUnmet(state, facts, today);
          if (unmet.length > 0) throw unmetConditions('departure-conditions-unmet', 'The person cannot depart yet.', unmet);
          const departureDate = state.travelPlan!.departureDate;
          return [
            {
              type: 'Departed',
              data: {
                ...ids(),
                recordedBy: org,
                departedAt: at,
                child: isChildOn(facts, departureDate),
                escortOrganisationId: state.travelPlan!.escortOrganisationId,
                lateNotification: state.lateNotification,
              },
            },
          ];
        }
        case 'RecordTransit': {
          requireReturn(state);
          if (state.phase !== 'in_transit') throw new DomainError('not-in-transit', 'conflict', 'The person is not travelling.');
          if (!isDestinationPartner(facts, org) && state.travelPlan?.escortOrganisationId !== org) throw notYourStep('The destination partner or the escort records transit.');
          return [{ type: 'TransitRecorded', data: { ...ids(), recordedBy: org, country: command.data.country, recordedAt: at } }];
        }
        case 'RecordArrival': {
          requireReturn(state);
          if (state.phase !== 'in_transit') throw new DomainError('not-in-transit', 'conflict', 'The person is not travelling.');
          if (!isNationalContactPoint(facts, org) && state.reception?.receivingOrganisationId !== org && !isChildProtection(facts, org)) {
            throw notYourStep('The national contact point or the receiving organisation records the arrival.');
          }
          return [
            {
              type: 'Arrived',
              data: {
                ...ids(),
                receivedBy: org,
                pointOfArrival: command.data.pointOfArrival ?? state.reception!.pointOfArrival,
                arrivedAt: at,
                caseNotifiedAt: facts.notifiedAt,
                followUpsDue: followUpsFrom(m.now, policy),
              },
            },
          ];
        }
        case 'HandOverToAssistance': {
          requireReturn(state);
          if (state.phase === 'handed_over') throw new DomainError('already-handed-over', 'conflict', 'The person was already handed over to assistance.');
          if (state.phase !== 'arrived') throw new DomainError('not-arrived', 'conflict', 'The person has not arrived yet.');
          const receiving = state.reception!.receivingOrganisationId;
          if (!isNationalContactPoint(facts, org) && receiving !== org && state.arrival?.receivedBy !== org) {
            throw notYourStep('The national contact point or the receiving organisation hands the person over to assistance.');
          }
          if (new Set(command.data.services).size !== command.data.services.length) throw invalid('invalid-handover', ['services-repeat']);
          return [{ type: 'HandedOverToAssistance', data: { ...ids(), receivingOrganisationId: receiving, services: command.data.services, handedOverAt: at } }];
        }
        case 'RecordFollowUp': {
          requireReturn(state);
          if (state.phase !== 'arrived' && state.phase !== 'handed_over') throw new DomainError('not-arrived', 'conflict', 'Follow-ups start after arrival.');
          if (!isNationalContactPoint(facts, org) && state.reception?.receivingOrganisationId !== org && !isChildProtection(facts, org)) {
            throw notYourStep('The national contact point, the receiving organisation or child protection records follow-ups.');
          }
          const due = state.followUps.find((f) => f.afterDays === command.data.afterDays);
          if (!due) throw invalid('invalid-follow-up', ['not-a-scheduled-follow-up']);
          if (due.recordedAt !== null) throw new DomainError('follow-up-already-recorded', 'conflict', 'This follow-up was already recorded.');
          return [
            {
              type: 'FollowUpRecorded',
              data: { ...ids(), afterDays: due.afterDays, recordedBy: org, situation: command.data.situation, recordedAt: at, dueAt: due.dueAt, late: at > due.dueAt },
            },
          ];
        }
        case 'RecordUnannouncedArrival': {
          if (state.phase !== 'none') throw new DomainError('return-already-exists', 'conflict', 'This return already exists.');
          // A fact learnt after the event, by the origin's contact point; it needs no consent to return.
          if (!isNationalContactPoint(facts, org)) throw notYourStep('The national contact point of the country of origin records an unannounced arrival.');
          const d = command.data;
          if (d.arrivedOn > today) throw invalid('invalid-unannounced-arrival', ['arrived-on-in-future']);
          return [
            {
              type: 'UnannouncedArrivalRecorded',
              data: {
                caseId: facts.caseId,
                returnId: d.returnId,
                recordedBy: org,
                arrivedOn: d.arrivedOn,
                pointOfArrival: d.pointOfArrival,
                deported: d.deported,
                learntFrom: d.learntFrom,
                fromCountry: d.fromCountry,
                child: isChildOn(facts, d.arrivedOn),
                caseNotifiedAt: facts.notifiedAt,
                followUpsDue: followUpsFrom(m.now, policy),
                recordedAt: at,
              },
            },
          ];
        }
        case 'CancelOnConsentWithdrawn': {
          requireReturn(state);
          // Only a return still being prepared is cancelled; the consumer checks the phase before.
          if (state.phase !== 'preparing') throw new DomainError('return-not-cancellable', 'conflict', 'Only a return not yet departed is cancelled.');
          if (facts.returnConsent) throw new DomainError('consent-to-return-in-force', 'conflict', 'Consent to return is in force.');
          return [{ type: 'ReturnCancelled', data: { ...ids(), cancelledBy: command.data.withdrawnBy, reason: 'consent_withdrawn', cancelledAt: at } }];
        }
        case 'CancelReturn': {
          requireReturn(state);
          if (state.phase === 'cancelled') throw new DomainError('return-cancelled', 'conflict', 'The return was already cancelled.');
          if (state.phase !== 'preparing') throw new DomainError('return-already-departed', 'conflict', 'A return can be cancelled only before departure.');
          if (!isDestinationPartner(facts, org) && !isNationalContactPoint(facts, org) && !isChildProtection(facts, org)) {
            throw notYourStep('The destination partner, the national contact point or child protection cancels a return.');
          }
          return [{ type: 'ReturnCancelled', data: { ...ids(), cancelledBy: org, reason: command.data.reason, cancelledAt: at } }];
        }
        default: {
          const unknown: never = command;
          throw new Error(`Unknown command ${(unknown as { type: string }).type}`);
        }
      }
    },
  };
}

function followUpsFrom(now: Date, policy: RepatriationPolicy): Array<{ afterDays: number; dueAt: string }> {
  return [...policy.followUpDays].sort((a, b) => a - b).map((afterDays) => ({ afterDays, dueAt: new Date(now.getTime() + afterDays * DAY_MS).toISOString() }));
}

/** High risk never proceeds as if nothing were wrong; proceeding with measures names them. */
function measuresUnmet(level: RiskLevel, recommendation: RiskRecommendation, measures: RiskMeasure[]): string[] {
  const unmet: string[] = [];
  if (level === 'high' && recommendation === 'proceed') unmet.push('high-risk-cannot-proceed-without-measures');
  if (recommendation === 'proceed_with_measures' && measures.length === 0) unmet.push('measures-required');
  if (recommendation !== 'proceed_with_measures' && measures.length > 0) unmet.push('measures-only-with-proceed-with-measures');
  if (new Set(measures).size !== measures.length) unmet.push('measures-repeat');
  return unmet;
}

function lateFlag(
  ret: { caseId: string; returnId: string },
  plannedDepartureDate: IsoDate,
  noticeDays: number,
  policy: RepatriationPolicy,
  at: string,
): RepatriationEvent {
  return { type: 'LateNotificationFlagged', data: { ...ret, plannedDepartureDate, noticeDays, requiredNoticeDays: policy.noticeDays, flaggedAt: at } };
}

export function evolve(state: ReturnState, event: RepatriationEvent): ReturnState {
  switch (event.type) {
    case 'ReturnRequested': {
      const d = event.data;
      return {
        ...state,
        phase: 'preparing',
        caseId: d.caseId,
        returnId: d.returnId,
        requestedBy: d.requestedBy,
        requestedAt: d.requestedAt,
        plannedDepartureDate: d.plannedDepartureDate,
        needs: d.needs,
        escortRequired: d.escortRequired,
        travelDocumentNeeded: d.travelDocumentNeeded,
        child: d.child,
        noticeDays: d.noticeDays,
        acknowledgementDueAt: d.acknowledgementDueAt,
      };
    }
    case 'LateNotificationFlagged':
      return { ...state, lateNotification: true };
    case 'ReturnRequestAcknowledged': {
      const { acknowledgedBy, keyContactId, alternateContactId, acknowledgedAt, late } = event.data;
      return { ...state, acknowledgement: { acknowledgedBy, keyContactId, alternateContactId, acknowledgedAt, late } };
    }
    case 'RiskAssessmentRecorded': {
      const { assessmentId, assessedBy, level, factors, recommendation, recordedAt } = event.data;
      return {
        ...state,
        riskAssessments: [
          ...state.riskAssessments,
          { assessmentId, assessedBy, level, factors, recommendation, comment: null, measures: event.data.measures ?? [], side: event.data.side ?? null, recordedAt },
        ],
      };
    }
    case 'RiskDisagreementResolved': {
      const { originAssessmentId, destinationAssessmentId, recommendation, resolvedBy } = event.data;
      return { ...state, riskResolution: { originAssessmentId, destinationAssessmentId, recommendation, resolvedBy } };
    }
    case 'UnannouncedArrivalRecorded': {
      const d = event.data;
      return {
        ...state,
        phase: 'arrived',
        caseId: d.caseId,
        returnId: d.returnId,
        requestedBy: d.recordedBy,
        requestedAt: d.recordedAt,
        plannedDepartureDate: d.arrivedOn,
        child: d.child,
        reception: { receivingOrganisationId: d.recordedBy, pointOfArrival: d.pointOfArrival, arrangedBy: d.recordedBy },
        arrival: { receivedBy: d.recordedBy, pointOfArrival: d.pointOfArrival, arrivedAt: d.recordedAt },
        followUps: d.followUpsDue.map((f) => ({ ...f, recordedAt: null, situation: null })),
        unannounced: { arrivedOn: d.arrivedOn, deported: d.deported, learntFrom: d.learntFrom },
      };
    }
    case 'RiskAssessmentCommented': {
      const { assessmentId, commentedBy, concurs, additionalFactors } = event.data;
      return {
        ...state,
        riskAssessments: state.riskAssessments.map((a) => (a.assessmentId === assessmentId ? { ...a, comment: { commentedBy, concurs, additionalFactors } } : a)),
      };
    }
    case 'TravelDocumentRequested':
      return {
        ...state,
        travelDocumentNeeded: true,
        travelDocument: { status: 'requested', consulateId: event.data.consulateId, validFrom: null, validUntil: null, refusalReason: null },
      };
    case 'TravelDocumentIssued':
      return {
        ...state,
        travelDocument: { status: 'issued', consulateId: event.data.consulateId, validFrom: event.data.validFrom, validUntil: event.data.validUntil, refusalReason: null },
      };
    case 'TravelDocumentRefused':
      return {
        ...state,
        travelDocument: { status: 'refused', consulateId: event.data.consulateId, validFrom: null, validUntil: null, refusalReason: event.data.reason },
      };
    case 'TravelPlanned': {
      const { departureDate, mode, departureCountry, transitCountries, escortOrganisationId, pointOfArrival, child, noticeDays } = event.data;
      return {
        ...state,
        plannedDepartureDate: departureDate,
        child,
        noticeDays,
        travelPlan: { departureDate, mode, departureCountry, transitCountries, escortOrganisationId, pointOfArrival },
      };
    }
    case 'ReceptionArranged':
      return {
        ...state,
        reception: { receivingOrganisationId: event.data.receivingOrganisationId, pointOfArrival: event.data.pointOfArrival, arrangedBy: event.data.arrangedBy },
      };
    case 'GuardianAppointed':
      return { ...state, guardianAppointed: true };
    case 'BestInterestsDetermined': {
      const { returnInBestInterests, determinedBy, determinedOn } = event.data;
      return { ...state, bestInterests: { returnInBestInterests, determinedBy, determinedOn } };
    }
    case 'FamilyAssessed':
      return {
        ...state,
        familyAssessment: {
          outcome: event.data.outcome,
          assessedBy: event.data.assessedBy,
          ...(event.data.placementOrganisationId ? { placementOrganisationId: event.data.placementOrganisationId } : {}),
        },
      };
    case 'Departed':
      return { ...state, phase: 'in_transit', departedAt: event.data.departedAt, child: event.data.child };
    case 'TransitRecorded':
      return { ...state, transits: [...state.transits, event.data.country] };
    case 'Arrived': {
      const { receivedBy, pointOfArrival, arrivedAt, followUpsDue } = event.data;
      return {
        ...state,
        phase: 'arrived',
        arrival: { receivedBy, pointOfArrival, arrivedAt },
        followUps: followUpsDue.map((f) => ({ ...f, recordedAt: null, situation: null })),
      };
    }
    case 'HandedOverToAssistance': {
      const { receivingOrganisationId, services, handedOverAt } = event.data;
      return { ...state, phase: 'handed_over', handedOver: { receivingOrganisationId, services, handedOverAt } };
    }
    case 'FollowUpRecorded': {
      const { afterDays, recordedAt, situation } = event.data;
      return { ...state, followUps: state.followUps.map((f) => (f.afterDays === afterDays ? { ...f, recordedAt, situation } : f)) };
    }
    case 'ReturnCancelled': {
      const { reason, cancelledBy, cancelledAt } = event.data;
      return { ...state, phase: 'cancelled', cancellation: { reason, cancelledBy, cancelledAt } };
    }
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}
