import { z } from 'zod';
import {
  AccessPurpose,
  CountryCode,
  RETURN_FIELDS,
  unionSchemaFor,
  FamilyAssessmentOutcome,
  FollowUpSituation,
  IsoDate,
  ReturnCancellationReason,
  RiskFactor,
  RiskAssessmentSide,
  RiskLevel,
  RiskMeasure,
  RiskRecommendation,
  ServiceType,
  UnannouncedArrivalSource,
  TravelDocumentRefusalReason,
  TravelMode,
} from '@trm/contracts';

const OrgId = z.string().min(1).max(63);
const uniqueList = <T extends z.ZodType>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .refine((a) => new Set(a).size === a.length, 'items must not repeat');

/** A public place (airport, border crossing, station): free text is short and never an address. */
const PointOfArrival = z
  .string()
  .min(2)
  .max(120)
  .regex(/^[\p{L}\p{N} .,'()/-]+$/u, 'letters, digits and simple punctuation only')
  .describe('A public place of arrival (airport, border crossing, station), never a private address.');

export const RequestReturnBody = z
  .strictObject({
    caseId: z.uuid(),
    plannedDepartureDate: IsoDate,
    needs: uniqueList(ServiceType, 9).describe('Services the person will need on arrival.'),
    escortRequired: z.boolean(),
    travelDocumentNeeded: z.boolean().describe('False when the person holds a valid passport or identity card.'),
  })
  .meta({
    examples: [
      {
        caseId: '019a6f4e-8c1b-7d2a-9e3f-0a1b2c3d4e5f',
        plannedDepartureDate: '2026-12-10',
        needs: ['shelter', 'medical', 'psychological'],
        escortRequired: false,
        travelDocumentNeeded: true,
      },
    ],
  });

export const AcknowledgeReturnBody = z
  .strictObject({
    keyContactId: z.string().min(1).max(200).describe('User id (token subject) of the key contact at the contact point.'),
    alternateContactId: z.string().min(1).max(200),
  })
  .meta({ examples: [{ keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa' }] });

export const RiskAssessmentBody = z
  .strictObject({
    assessedOn: IsoDate,
    level: RiskLevel,
    factors: uniqueList(RiskFactor, 10),
    recommendation: RiskRecommendation.describe('`high` risk never goes with `proceed`: `proceed_with_measures` (naming the measures) or `do_not_return`.'),
    measures: uniqueList(RiskMeasure, 10).default([]).describe('What `proceed_with_measures` requires (at least one); none with another recommendation.'),
  })
  .meta({
    examples: [
      { assessedOn: '2026-11-20', level: 'medium', factors: ['stigma', 'no_income'], recommendation: 'proceed_with_measures', measures: ['shelter_on_arrival', 'psychological_support'] },
    ],
  });

export const RiskResolutionBody = z
  .strictObject({
    recommendation: RiskRecommendation,
    measures: uniqueList(RiskMeasure, 10).default([]).describe('Required with `proceed_with_measures`.'),
  })
  .describe('The origin national contact point\'s decision when the two sides\' latest assessments disagree.')
  .meta({ examples: [{ recommendation: 'proceed_with_measures', measures: ['escort', 'shelter_on_arrival'] }] });

export const UnannouncedArrivalBody = z
  .strictObject({
    caseId: z.uuid().describe('The case, notified in referrals (by the contact point itself when nobody had).'),
    arrivedOn: IsoDate,
    pointOfArrival: PointOfArrival,
    deported: z.boolean().describe('Sent back by the authorities of the destination country rather than an assisted return.'),
    learntFrom: UnannouncedArrivalSource.describe('How the contact point learnt of the arrival.'),
    fromCountry: CountryCode.nullable().default(null),
  })
  .meta({
    examples: [
      { caseId: '019a6f4e-8c1b-7d2a-9e3f-0a1b2c3d4e5f', arrivedOn: '2026-11-19', pointOfArrival: 'Nadlac border crossing', deported: true, learntFrom: 'border_police', fromCountry: 'HU' },
    ],
  });

export const RiskCommentBody = z
  .strictObject({ concurs: z.boolean(), additionalFactors: uniqueList(RiskFactor, 10) })
  .meta({ examples: [{ concurs: true, additionalFactors: ['pending_proceedings'] }] });

export const TravelDocumentRequestBody = z
  .strictObject({ consulateId: OrgId.describe('A consulate taking part in the case for travel documents.') })
  .meta({ examples: [{ consulateId: 'consulate-ro-it' }] });

export const IssueTravelDocumentBody = z
  .strictObject({
    documentType: z.literal('single_trip_travel_title'),
    validFrom: IsoDate,
    validUntil: IsoDate,
  })
  .describe('The document number stays in the consulate\'s own register; TRM records that a valid title exists.')
  .meta({ examples: [{ documentType: 'single_trip_travel_title', validFrom: '2026-11-25', validUntil: '2026-12-25' }] });

export const RefuseTravelDocumentBody = z
  .strictObject({ reason: TravelDocumentRefusalReason })
  .meta({ examples: [{ reason: 'identity_not_established' }] });

export const TravelPlanBody = z
  .strictObject({
    departureDate: IsoDate,
    mode: TravelMode,
    departureCountry: CountryCode,
    transitCountries: uniqueList(CountryCode, 10),
    escortOrganisationId: OrgId.nullable(),
    pointOfArrival: PointOfArrival,
  })
  .meta({
    examples: [
      { departureDate: '2026-12-10', mode: 'air', departureCountry: 'IT', transitCountries: [], escortOrganisationId: 'iom-it', pointOfArrival: 'Bucharest Henri Coanda airport (OTP)' },
    ],
  });

export const ReceptionBody = z
  .strictObject({ receivingOrganisationId: OrgId, pointOfArrival: PointOfArrival })
  .meta({ examples: [{ receivingOrganisationId: 'anitp-rc-bucharest', pointOfArrival: 'Bucharest Henri Coanda airport (OTP)' }] });

export const GuardianBody = z
  .strictObject({ appointedOn: IsoDate })
  .describe('The guardian\'s identity stays with the child protection authority.')
  .meta({ examples: [{ appointedOn: '2026-11-19' }] });

export const BestInterestsBody = z
  .strictObject({ determinedOn: IsoDate, returnInBestInterests: z.boolean() })
  .meta({ examples: [{ determinedOn: '2026-11-20', returnInBestInterests: true }] });

export const FamilyAssessmentBody = z
  .strictObject({
    assessedOn: IsoDate,
    outcome: FamilyAssessmentOutcome,
    placementOrganisationId: z
      .string()
      .min(1)
      .max(63)
      .optional()
      .describe('Only with `not_suitable`: child protection taking part that places the child at arrival. Without it, a return to a family not suitable does not depart (`family-not-suitable-without-placement`).'),
  })
  .meta({ examples: [{ assessedOn: '2026-11-20', outcome: 'suitable_with_support' }] });

export const DepartureBody = z.strictObject({}).meta({ examples: [{}] });

export const TransitBody = z.strictObject({ country: CountryCode }).meta({ examples: [{ country: 'AT' }] });

export const ArrivalBody = z
  .strictObject({ pointOfArrival: PointOfArrival.optional().describe('Defaults to the point of arrival of the reception arranged.') })
  .meta({ examples: [{ pointOfArrival: 'Bucharest Henri Coanda airport (OTP)' }] });

export const HandOverBody = z
  .strictObject({ services: uniqueList(ServiceType, 9).min(1).describe('Each becomes a service referral in referrals.') })
  .meta({ examples: [{ services: ['shelter', 'psychological', 'vocational'] }] });

export const FollowUpBody = z
  .strictObject({ afterDays: z.number().int().positive().max(3650), situation: FollowUpSituation })
  .meta({ examples: [{ afterDays: 30, situation: 'reintegrating' }] });

export const CancelBody = z.strictObject({ reason: ReturnCancellationReason }).meta({ examples: [{ reason: 'victim_changed_mind' }] });

export const ReturnIdParams = z.strictObject({ returnId: z.uuid() });
export const AssessmentParams = z.strictObject({ returnId: z.uuid(), assessmentId: z.uuid() });

const Deadline = z.object({ kind: z.string(), dueAt: z.string(), metAt: z.string().nullable(), overdue: z.boolean() });

/**
 * The whole return, as the coordinating contact point sees it. Every other party gets the fields
 * the access matrix gives its purposes (RETURN_FIELDS in packages/contracts/src/access-matrix.ts):
 * the response schemas below are cut from this one by the matrix.
 */
export const FullReturnView = z.object({
  returnId: z.uuid(),
  caseId: z.uuid(),
  version: z.number().int(),
  stage: z.enum(['planned', 'arrived', 'cancelled']).describe('Planned until the person arrived (also while travelling), then arrived; or cancelled.'),
  phase: z.enum(['preparing', 'in_transit', 'arrived', 'handed_over', 'cancelled']),
  child: z.boolean(),
  stopped: z.boolean().describe('A best-interests determination against return stopped it.'),
  requestedBy: z.string(),
  requestedAt: z.string(),
  plannedDepartureDate: IsoDate,
  needs: z.array(ServiceType),
  escortRequired: z.boolean(),
  travelDocumentNeeded: z.boolean(),
  noticeDays: z.number().int(),
  lateNotification: z.boolean(),
  acknowledgementDueAt: z.string().nullable().describe('Null for an unannounced arrival: there was no request.'),
  acknowledgementOverdue: z.boolean(),
  acknowledgement: z
    .object({ acknowledgedBy: z.string(), keyContactId: z.string(), alternateContactId: z.string(), acknowledgedAt: z.string(), late: z.boolean() })
    .nullable(),
  riskAssessments: z.array(
    z.object({
      assessmentId: z.string(),
      assessedBy: z.string(),
      level: RiskLevel,
      factors: z.array(RiskFactor),
      recommendation: RiskRecommendation,
      measures: z.array(RiskMeasure),
      side: RiskAssessmentSide.describe('origin (its contact point or child protection) or destination: the origin\'s latest assessment governs departure.'),
      comment: z.object({ commentedBy: z.string(), concurs: z.boolean(), additionalFactors: z.array(RiskFactor) }).nullable(),
    }),
  ),
  riskResolution: z
    .object({ originAssessmentId: z.string(), destinationAssessmentId: z.string(), recommendation: RiskRecommendation, resolvedBy: z.string() })
    .nullable()
    .describe('The origin contact point\'s resolution of the two sides\' disagreement (for the pair of assessments it settled).'),
  unannounced: z
    .object({ arrivedOn: IsoDate, deported: z.boolean(), learntFrom: UnannouncedArrivalSource })
    .nullable()
    .describe('An arrival TRM had not heard of, recorded by the origin\'s contact point.'),
  travelDocument: z
    .object({
      status: z.enum(['requested', 'issued', 'refused']),
      consulateId: z.string(),
      validFrom: IsoDate.nullable(),
      validUntil: IsoDate.nullable(),
      refusalReason: TravelDocumentRefusalReason.nullable(),
    })
    .nullable(),
  travelPlan: z
    .object({
      departureDate: IsoDate,
      mode: TravelMode,
      departureCountry: CountryCode,
      transitCountries: z.array(CountryCode),
      escortOrganisationId: z.string().nullable(),
      pointOfArrival: z.string(),
    })
    .nullable(),
  reception: z.object({ receivingOrganisationId: z.string(), pointOfArrival: z.string(), arrangedBy: z.string().optional() }).nullable(),
  childSafeguards: z.object({
    guardianAppointed: z.boolean(),
    bestInterests: z.object({ returnInBestInterests: z.boolean(), determinedBy: z.string(), determinedOn: IsoDate }).nullable(),
    familyAssessment: z.object({ outcome: FamilyAssessmentOutcome, assessedBy: z.string(), placementOrganisationId: z.string().optional() }).nullable(),
  }),
  departedAt: z.string().nullable(),
  transits: z.array(CountryCode),
  arrival: z.object({ receivedBy: z.string(), pointOfArrival: z.string(), arrivedAt: z.string() }).nullable(),
  handedOver: z.object({ receivingOrganisationId: z.string(), services: z.array(ServiceType), handedOverAt: z.string() }).nullable(),
  followUps: z.array(z.object({ afterDays: z.number().int(), dueAt: z.string(), recordedAt: z.string().nullable(), situation: FollowUpSituation.nullable() })),
  cancellation: z.object({ reason: ReturnCancellationReason, cancelledBy: z.string(), cancelledAt: z.string() }).nullable(),
  departureUnmet: z.array(z.string()).describe('What the Departed gate would refuse with now (empty once departed or cancelled).'),
  nextStep: z.string().nullable(),
  deadlines: z.array(Deadline),
});
export type FullReturnView = z.infer<typeof FullReturnView>;

export const ReturnTimelineEntry = z.object({ version: z.number().int(), type: z.string(), organisationId: z.string(), recordedAt: z.string() });
export const FullReturnDetailView = FullReturnView.extend({
  timeline: z.array(ReturnTimelineEntry).describe('The events of the return whose field you see.'),
});

/** A return as one caller sees it: the fields its purposes see (any field but the ids may be absent). */
export const ReturnView = unionSchemaFor(FullReturnView, RETURN_FIELDS, AccessPurpose.options).meta({
  id: 'ReturnView',
  description: 'A return, with the fields your purposes in the case let you see (docs/ACCESS.md, repatriation): a field outside them is absent.',
});
export type ReturnView = z.infer<typeof ReturnView>;
export const ReturnDetailView = unionSchemaFor(FullReturnDetailView, RETURN_FIELDS, AccessPurpose.options).meta({
  id: 'ReturnDetailView',
  description: 'A return with its timeline, with the fields and entries your purposes in the case let you see (docs/ACCESS.md, repatriation).',
});

export const ReturnListQuery = z.strictObject({
  caseId: z.uuid().optional(),
  phase: z.enum(['preparing', 'in_transit', 'arrived', 'handed_over', 'cancelled']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(200).optional(),
});

export const ReturnList = z.object({ items: z.array(ReturnView), nextCursor: z.string().nullable() });

export const BoardQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(200).optional(),
});

export const Board = z.object({
  summary: z.object({
    inPreparation: z.number().int(),
    inTransit: z.number().int(),
    lateNotifications: z.number().int(),
    overdueDeadlines: z.number().int(),
  }),
  items: z.array(
    z.object({
      returnId: z.uuid(),
      caseId: z.uuid(),
      phase: FullReturnView.shape.phase,
      child: z.boolean(),
      stopped: z.boolean(),
      plannedDepartureDate: IsoDate,
      lateNotification: z.boolean(),
      noticeDays: z.number().int(),
      nextStep: z.string().nullable(),
      unmet: z.array(z.string()),
      deadlines: z.array(Deadline),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const DeadlineQuery = z.strictObject({
  overdue: z.enum(['true', 'false']).optional(),
  open: z.enum(['true', 'false']).optional().describe('true: not met yet; false: met.'),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(300).optional(),
});

export const DeadlineList = z.object({
  items: z.array(z.object({ returnId: z.uuid(), caseId: z.uuid(), kind: z.string(), dueAt: z.string(), metAt: z.string().nullable(), overdue: z.boolean() })),
  nextCursor: z.string().nullable(),
});
