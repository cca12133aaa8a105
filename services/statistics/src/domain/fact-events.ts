import {
  AgeAssessedData,
  AttributesCorrectedData,
  InformationProvidedData,
  ArrivedData,
  AssistanceDeliveredData,
  CaseClosedData,
  ServiceReferralMadeData,
  VictimStatusDeterminedData,
  CaseNotifiedAnyVersion,
  ClosureReason,
  CompensationDecidedData,
  CompensationPaidData,
  CriminalCaseLinkedData,
  DepartedData,
  HearingScheduledData,
  IsoDate,
  LateNotificationFlaggedData,
  Money,
  NotificationAcknowledgedData,
  OffenderReleasedData,
  OutcomeRecordedData,
  ReturnCancelledData,
  ReturnRequestedData,
  ServiceType,
  StageChangedData,
  TravelPlannedData,
  UnannouncedArrivalRecordedData,
  VictimInformedData,
  VictimStatus,
} from '@trm/contracts';
import { z } from 'zod';

/**
 * Which fact rows an event changes: a pure function of the event, shared by the live consumer and
 * the offline rebuild so both fold the same way. Each service's events only touch rows that
 * service owns (cases and referrals from referrals, returns from repatriation…): the live consumer
 * and the rebuild interleave services differently, and the facts must not depend on that order.
 * Figures join the tables at query time instead.
 *
 * Only closed categories, dates, amounts and pseudonymous ids are kept: a free-text field (a
 * declined referral's reason, a point of arrival) is never read.
 */

export type FactTable =
  | 'case_facts'
  | 'referral_facts'
  | 'assistance_facts'
  | 'return_facts'
  | 'proceeding_facts'
  | 'compensation_facts'
  | 'duty_facts';

export const FACT_TABLES: readonly FactTable[] = [
  'case_facts',
  'referral_facts',
  'assistance_facts',
  'return_facts',
  'proceeding_facts',
  'compensation_facts',
  'duty_facts',
];

export const PRIMARY_KEYS: Record<FactTable, string> = {
  case_facts: 'case_id',
  referral_facts: 'referral_id',
  assistance_facts: 'event_id',
  return_facts: 'return_id',
  proceeding_facts: 'criminal_case_id',
  compensation_facts: 'claim_id',
  duty_facts: 'duty_id',
};

export type FactValue = string | number | boolean | null;
export type FactRow = Record<string, FactValue>;

export type FactChange =
  /** Insert unless the key exists (a redelivered or replayed event changes nothing). */
  | { op: 'insert'; table: FactTable; row: FactRow }
  /** Insert, or overwrite `set` on the existing row. */
  | { op: 'upsert'; table: FactTable; row: FactRow; set: FactRow }
  /** Change the row(s) matching `where`; nothing when none exists yet. */
  | { op: 'update'; table: FactTable; where: Record<string, string>; set: FactRow };

export interface FactSource {
  service: string;
  type: string;
  eventId: string;
  recordedAt: string;
  data: unknown;
}

export type FactOutcome =
  | { kind: 'changes'; changes: FactChange[] }
  /** A type statistics does not use: counted in the watermark, nothing else. */
  | { kind: 'ignored' }
  /** A type statistics uses whose data did not parse: kept visible with the failing paths. */
  | { kind: 'unparsed'; issues: string };

const yearOf = (iso: string): number => Number(iso.slice(0, 4));
const monthOf = (iso: string): number => Number(iso.slice(5, 7));
const dayMs = 86_400_000;
const daysBetween = (from: string, to: string): number => Math.floor((Date.parse(to) - Date.parse(from)) / dayMs);

interface Rule<S extends z.ZodType> {
  schema: S;
  facts(data: z.output<S>, event: FactSource): FactChange[];
}
const rule = <S extends z.ZodType>(schema: S, facts: (data: z.output<S>, event: FactSource) => FactChange[]): Rule<S> => ({ schema, facts });

// Referrals' published contracts; z.object strips fields statistics does not use.
const ServiceReferralMade = ServiceReferralMadeData;
const ReferralRef = z.object({ caseId: z.string(), referralId: z.string() });
const AssistanceDelivered = AssistanceDeliveredData;
const VictimStatusDetermined = VictimStatusDeterminedData;
const CaseClosed = CaseClosedData;
const CaseRef = z.object({ caseId: z.string() });

const RULES: Record<string, Rule<z.ZodType>> = {
  // Any schema version (version 1 read with the version 2 defaults; statistics uses none of them).
  'referrals:CaseNotified': rule(CaseNotifiedAnyVersion, (d) => [
    {
      op: 'insert',
      table: 'case_facts',
      row: {
        case_id: d.caseId,
        notified_at: d.notifiedAt,
        year: yearOf(d.notifiedAt),
        month: monthOf(d.notifiedAt),
        sex: d.sex,
        age_band: d.ageBand ?? 'unknown',
        minor: d.minor,
        citizenship: d.citizenship,
        country_of_exploitation: d.countryOfExploitation,
        country_of_identification: d.countryOfIdentification,
        cross_border: d.traffickedAcrossBorders,
        situation: d.situation,
        identifying_org_type: d.notifyingOrganisationType,
        primary_form: d.formsOfExploitation[0]!,
        acknowledgement_due_at: d.acknowledgementDueAt,
      },
    },
  ]),
  // Corrections (issue 18) and minority (issue 17): the case's row follows the corrected attributes.
  'referrals:AttributesCorrected': rule(AttributesCorrectedData, (d) => [
    { op: 'update', table: 'case_facts', where: { case_id: d.caseId }, set: correctedFacts(d) },
  ]),
  'referrals:AgeAssessed': rule(AgeAssessedData, (d) => [
    { op: 'update', table: 'case_facts', where: { case_id: d.caseId }, set: { minor: d.minor, ...(d.ageBand ? { age_band: d.ageBand } : {}) } },
  ]),
  'referrals:InformationProvided': rule(InformationProvidedData, (d) =>
    d.minor === undefined ? [] : [{ op: 'update', table: 'case_facts', where: { case_id: d.caseId }, set: { minor: d.minor, age_band: d.ageBand ?? 'unknown' } }],
  ),
  'referrals:NotificationAcknowledged': rule(NotificationAcknowledgedData, (d) => [
    {
      op: 'update',
      table: 'case_facts',
      where: { case_id: d.caseId },
      set: { regional_centre: d.regionalCentreId, acknowledged_at: d.acknowledgedAt, acknowledged_late: d.late },
    },
  ]),
  'referrals:VictimStatusDetermined': rule(VictimStatusDetermined, (d) => [
    { op: 'update', table: 'case_facts', where: { case_id: d.caseId }, set: { victim_status: d.status } },
  ]),
  'referrals:CaseClosed': rule(CaseClosed, (d) => [
    { op: 'update', table: 'case_facts', where: { case_id: d.caseId }, set: { closed_reason: d.reason } },
  ]),
  'referrals:CaseReopened': rule(CaseRef, (d) => [
    { op: 'update', table: 'case_facts', where: { case_id: d.caseId }, set: { closed_reason: null } },
  ]),
  'referrals:ServiceReferralMade': rule(ServiceReferralMade, (d, e) => [
    {
      op: 'insert',
      table: 'referral_facts',
      row: { referral_id: d.referralId, case_id: d.caseId, service: d.service, made_at: e.recordedAt, year: yearOf(e.recordedAt) },
    },
  ]),
  'referrals:ServiceReferralAccepted': rule(ReferralRef, (d) => [
    { op: 'update', table: 'referral_facts', where: { referral_id: d.referralId }, set: { outcome: 'accepted' } },
  ]),
  'referrals:ServiceReferralDeclined': rule(ReferralRef, (d) => [
    { op: 'update', table: 'referral_facts', where: { referral_id: d.referralId }, set: { outcome: 'declined' } },
  ]),
  'referrals:ServiceReferralClosed': rule(ReferralRef, (d) => [
    { op: 'update', table: 'referral_facts', where: { referral_id: d.referralId }, set: { closed: true } },
  ]),
  'referrals:AssistanceDelivered': rule(AssistanceDelivered, (d, e) => {
    // Costs count in the year the delivered period ends.
    const on = d.periodTo;
    const changes: FactChange[] = [
      {
        op: 'insert',
        table: 'assistance_facts',
        row: {
          event_id: e.eventId,
          case_id: d.caseId,
          referral_id: d.referralId,
          service: d.service,
          year: yearOf(on),
          amount: d.cost.amount,
          currency: d.cost.currency,
        },
      },
    ];
    changes.push({ op: 'update', table: 'referral_facts', where: { referral_id: d.referralId }, set: { delivered: true } });
    return changes;
  }),

  'repatriation:ReturnRequested': rule(ReturnRequestedData, (d) => [
    {
      op: 'insert',
      table: 'return_facts',
      row: {
        return_id: d.returnId,
        case_id: d.caseId,
        requested_at: d.requestedAt,
        year: yearOf(d.requestedAt),
        planned_departure_date: d.plannedDepartureDate,
        notice_days: d.noticeDays,
      },
    },
  ]),
  'repatriation:TravelPlanned': rule(TravelPlannedData, (d) => [
    {
      op: 'update',
      table: 'return_facts',
      where: { return_id: d.returnId },
      set: { planned_departure_date: d.departureDate, notice_days: d.noticeDays },
    },
  ]),
  'repatriation:LateNotificationFlagged': rule(LateNotificationFlaggedData, (d) => [
    { op: 'update', table: 'return_facts', where: { return_id: d.returnId }, set: { late_notification: true, notice_days: d.noticeDays } },
  ]),
  'repatriation:Departed': rule(DepartedData, (d) => [
    { op: 'update', table: 'return_facts', where: { return_id: d.returnId }, set: { departed: true, ...(d.lateNotification ? { late_notification: true } : {}) } },
  ]),
  'repatriation:Arrived': rule(ArrivedData, (d) => [
    {
      op: 'update',
      table: 'return_facts',
      where: { return_id: d.returnId },
      set: { arrived_at: d.arrivedAt, days_to_arrival: daysBetween(d.caseNotifiedAt, d.arrivedAt) },
    },
  ]),
  // An arrival TRM never heard of: a return without notification (no notice, counted as late).
  'repatriation:UnannouncedArrivalRecorded': rule(UnannouncedArrivalRecordedData, (d) => [
    {
      op: 'insert',
      table: 'return_facts',
      row: {
        return_id: d.returnId,
        case_id: d.caseId,
        requested_at: d.recordedAt,
        year: yearOf(d.arrivedOn),
        planned_departure_date: d.arrivedOn,
        notice_days: 0,
        late_notification: true,
        departed: true,
        arrived_at: `${d.arrivedOn}T00:00:00.000Z`,
        days_to_arrival: Math.max(0, daysBetween(d.caseNotifiedAt, `${d.arrivedOn}T00:00:00.000Z`)),
      },
    },
  ]),
  'repatriation:ReturnCancelled': rule(ReturnCancelledData, (d) => [
    { op: 'update', table: 'return_facts', where: { return_id: d.returnId }, set: { cancelled: true } },
  ]),

  'proceedings:CriminalCaseLinked': rule(CriminalCaseLinkedData, (d) => [
    {
      op: 'insert',
      table: 'proceeding_facts',
      row: { criminal_case_id: d.criminalCaseId, case_id: d.caseId, linked_at: d.linkedAt, year: yearOf(d.linkedAt), offence: d.offence },
    },
  ]),
  'proceedings:OutcomeRecorded': rule(OutcomeRecordedData, (d) => [
    {
      op: 'update',
      table: 'proceeding_facts',
      where: { criminal_case_id: d.criminalCaseId },
      set: { outcome: d.outcome.kind === 'conviction' ? `conviction_${d.outcome.sentence}` : d.outcome.kind },
    },
    ...dutiesOf(d, 'outcome'),
  ]),
  'proceedings:StageChanged': rule(StageChangedData, (d) => dutiesOf(d, 'stage_change')),
  'proceedings:HearingScheduled': rule(HearingScheduledData, (d) => dutiesOf(d, 'hearing')),
  'proceedings:OffenderReleased': rule(OffenderReleasedData, (d) => dutiesOf(d, 'offender_release')),
  'proceedings:VictimInformed': rule(VictimInformedData, (d) =>
    d.dutyIds.map(
      (dutyId): FactChange => ({
        op: 'update',
        table: 'duty_facts',
        where: { duty_id: dutyId },
        set: { fulfilled: true, fulfilled_late: d.lateDutyIds.includes(dutyId) },
      }),
    ),
  ),
  'proceedings:CompensationDecided': rule(CompensationDecidedData, (d) => {
    const row = {
      claim_id: d.claimId,
      case_id: d.caseId,
      year: yearOf(d.decidedOn),
      decision: d.decision,
      amount: d.awarded.amount,
      currency: d.awarded.currency,
      paid: d.paid,
    };
    // A later decision on the same claim (appeal, payment) replaces the earlier one.
    return [{ op: 'upsert', table: 'compensation_facts', row, set: row }];
  }),
  // Compensation paid after the award (in part or in full): the claim counts as paid.
  'proceedings:CompensationPaid': rule(CompensationPaidData, (d) => [{ op: 'update', table: 'compensation_facts', where: { claim_id: d.claimId }, set: { paid: true } }]),
};

/** The duty to inform an event opens, unless the victim asked not to be informed (`dutyArises: false`). */
function dutiesOf(d: { dutyId: string; caseId: string; informDueAt: string; dutyArises?: false | undefined }, kind: string): FactChange[] {
  return d.dutyArises === false ? [] : [dutyOf(d.dutyId, d.caseId, kind, d.informDueAt)];
}

/** The columns of `case_facts` an `AttributesCorrected` changes (closed categories only). */
function correctedFacts(d: z.output<typeof AttributesCorrectedData>): FactRow {
  const set: FactRow = { minor: d.minor, age_band: d.ageBand ?? 'unknown' };
  for (const c of d.changes) {
    const to = c.to;
    if (c.attribute === 'sex') set.sex = String(to);
    else if (c.attribute === 'citizenship') set.citizenship = Array.isArray(to) ? String(to[0]) : String(to);
    else if (c.attribute === 'countryOfExploitation') set.country_of_exploitation = String(to);
    else if (c.attribute === 'countryOfIdentification') set.country_of_identification = String(to);
    else if (c.attribute === 'traffickedAcrossBorders') set.cross_border = Boolean(to);
    else if (c.attribute === 'situation') set.situation = String(to);
    else if (c.attribute === 'identifyingOrganisationType') set.identifying_org_type = String(to);
    else if (c.attribute === 'formsOfExploitation' && Array.isArray(to) && to.length > 0) set.primary_form = String(to[0]);
  }
  return set;
}

function dutyOf(dutyId: string, caseId: string, kind: string, dueAt: string): FactChange {
  return {
    op: 'insert',
    table: 'duty_facts',
    row: { duty_id: dutyId, case_id: caseId, service: 'proceedings', kind, year: yearOf(dueAt), due_at: dueAt },
  };
}

/** Event types statistics reads, as `service:Type`. */
export const CONSUMED_TYPES: readonly string[] = Object.keys(RULES);

export function factsOf(event: FactSource): FactOutcome {
  const r = RULES[`${event.service}:${event.type}`];
  if (!r) return { kind: 'ignored' };
  const parsed = r.schema.safeParse(event.data);
  // Paths only: the values could be anything a producer put there.
  if (!parsed.success) return { kind: 'unparsed', issues: parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ') };
  return { kind: 'changes', changes: r.facts(parsed.data, event) };
}
