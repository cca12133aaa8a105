import {
  AgeBand,
  CountryCode,
  ExploitationForm,
  InformationDutyKind,
  OrganisationType,
  ProceedingsOffence,
  ReferralSituation,
  ServiceType,
  Sex,
  VictimStatus,
} from '@trm/contracts';
import { z } from 'zod';

/**
 * The published figures (DOMAIN.md, statistics) and the dimensions each may be filtered or
 * grouped by. Nothing outside this catalogue can be asked for: fixed, pre-defined tables are half
 * of the defence against differencing (see docs/statistics.md).
 */

const yesNo = ['yes', 'no'] as const;
const MONTHS = Array.from({ length: 12 }, (_, i) => String(i + 1).padStart(2, '0'));

export interface Dimension {
  title: string;
  /** Categories always shown (zeros included); observed values are added after them. */
  fixed: readonly string[];
  /** Accepted filter values. */
  value: z.ZodType<string>;
}

const closed = (title: string, values: readonly string[]): Dimension => ({ title, fixed: values, value: z.enum(values as [string, ...string[]]) });
/** Categories from the data; `other` holds every value with fewer than k cases in the release. */
const open = (title: string, value: z.ZodType<string>): Dimension => ({ title, fixed: [], value: z.union([value, z.literal('other')]) });

export const DIMENSIONS = {
  month: closed('Month (01–12)', MONTHS),
  sex: closed('Sex', Sex.options),
  ageBand: closed('Age band', [...AgeBand.options, 'unknown']),
  minor: closed('Minor at identification', yesNo),
  citizenship: open('Citizenship (ISO 3166-1 alpha-2)', CountryCode),
  countryOfExploitation: open('Country of exploitation', CountryCode),
  form: closed('Form of exploitation (first listed)', ExploitationForm.options),
  crossBorder: closed('Trafficked across borders', yesNo),
  situation: closed('Referral situation', ReferralSituation.options),
  identifyingOrgType: closed('Type of the identifying organisation', OrganisationType.options),
  regionalCentre: open('Regional centre (organisation id)', z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/)),
  victimStatus: closed('Victim status', [...VictimStatus.options, 'undetermined']),
  acknowledgement: closed('Acknowledgement of the notification', ['on_time', 'late', 'overdue', 'pending']),
  service: closed('Service', [...ServiceType.options, 'unknown']),
  referralOutcome: closed('Referral outcome', ['pending', 'accepted', 'declined']),
  delivered: closed('Assistance delivered', yesNo),
  lateNotification: closed('Late notification of the return', yesNo),
  returnStatus: closed('Return status', ['requested', 'departed', 'arrived', 'cancelled']),
  offence: closed('Offence', ProceedingsOffence.options),
  outcome: closed('Outcome', ['pending', 'conviction_custodial', 'conviction_suspended', 'acquittal', 'dismissed', 'statute_of_limitations_expired']),
  compensationDecision: closed('Compensation decision', ['awarded', 'rejected']),
  compensationPaid: closed('Compensation paid', yesNo),
  dutyKind: closed('Information duty', InformationDutyKind.options),
  dutyStatus: closed('Information duty status', ['on_time', 'late', 'overdue', 'open']),
} satisfies Record<string, Dimension>;

export type DimensionId = keyof typeof DIMENSIONS;
export const DIMENSION_IDS = Object.keys(DIMENSIONS) as DimensionId[];

export type FactSourceId = 'cases' | 'referrals' | 'assistance' | 'returns' | 'proceedings' | 'compensation' | 'duties';

export interface FigureDef {
  id: string;
  title: string;
  /** What one counted unit is. */
  unit: 'victims' | 'referrals' | 'deliveries' | 'returns' | 'criminal_cases' | 'claims' | 'duties';
  source: FactSourceId;
  /** SQL condition on the source's rows (fixed, never from the caller). */
  population?: 'identified' | 'acknowledgement_overdue_or_late';
  dims: readonly DimensionId[];
  amounts?: boolean;
  measures?: readonly string[];
  description: string;
}

const PERSON: readonly DimensionId[] = ['sex', 'ageBand', 'minor', 'citizenship'];
const CASE: readonly DimensionId[] = [
  'month',
  ...PERSON,
  'countryOfExploitation',
  'form',
  'crossBorder',
  'situation',
  'identifyingOrgType',
  'regionalCentre',
];

export const FIGURES: readonly FigureDef[] = [
  {
    id: 'victims-notified',
    title: 'Notified (registered) victims',
    unit: 'victims',
    source: 'cases',
    dims: [...CASE, 'victimStatus', 'acknowledgement'],
    description: 'Cases notified in the year (year of notification).',
  },
  {
    id: 'victims-identified',
    title: 'Identified victims',
    unit: 'victims',
    source: 'cases',
    population: 'identified',
    dims: CASE,
    description: 'Cases notified in the year whose victim status was determined as actual.',
  },
  {
    id: 'acknowledgements-overdue',
    title: 'Notifications acknowledged late or still overdue',
    unit: 'victims',
    source: 'cases',
    population: 'acknowledgement_overdue_or_late',
    dims: ['month', ...PERSON, 'situation', 'identifyingOrgType', 'regionalCentre', 'acknowledgement'],
    description: 'Cases notified in the year whose acknowledgement came after the deadline, or has not come and the deadline passed.',
  },
  {
    id: 'referrals',
    title: 'Service referrals',
    unit: 'referrals',
    source: 'referrals',
    dims: ['month', 'service', 'referralOutcome', 'delivered', ...PERSON, 'regionalCentre'],
    description: 'Service referrals made in the year, by acceptance and whether assistance was delivered.',
  },
  {
    id: 'assistance-costs',
    title: 'Assistance delivered and its cost',
    unit: 'deliveries',
    source: 'assistance',
    amounts: true,
    dims: ['service', 'regionalCentre', ...PERSON],
    description: 'Assistance delivered in the year; amounts summed per currency (never converted).',
  },
  {
    id: 'returns',
    title: 'Assisted returns',
    unit: 'returns',
    source: 'returns',
    measures: ['noticeDays', 'daysFromNotificationToArrival'],
    dims: ['month', 'lateNotification', 'returnStatus', ...PERSON, 'regionalCentre'],
    description:
      'Returns requested in the year; mean notice days (request to planned departure) and mean days from notification to arrival.',
  },
  {
    id: 'proceedings',
    title: 'Criminal proceedings and outcomes',
    unit: 'criminal_cases',
    source: 'proceedings',
    dims: ['month', 'offence', 'outcome', ...PERSON],
    description: 'Criminal cases linked in the year, by last recorded outcome (suspended and custodial convictions apart).',
  },
  {
    id: 'compensation',
    title: 'Compensation decided',
    unit: 'claims',
    source: 'compensation',
    amounts: true,
    dims: ['compensationDecision', 'compensationPaid', ...PERSON],
    description: 'Compensation claims decided in the year, amounts awarded per currency, paid or not.',
  },
  {
    id: 'information-duties',
    title: 'Duties to inform the victim',
    unit: 'duties',
    source: 'duties',
    dims: ['month', 'dutyKind', 'dutyStatus'],
    description: 'Duties to inform the victim falling due in the year: on time, late, overdue or still open.',
  },
];

/** Dimensions whose categories come from the data: only those with at least k cases in the release are shown, the rest fold into `other`. */
export const OPEN_DIMENSIONS: readonly DimensionId[] = ['citizenship', 'countryOfExploitation', 'regionalCentre'];

/**
 * The conditions that select a cell's units in the facts, as one set shared by every figure over
 * the same facts (the linked tables): a cell of victims-identified is the cell of victims-notified
 * with `victimStatus=actual` added; a cell of acknowledgements-overdue is the cell of
 * victims-notified with `acknowledgementDelayed=yes` added, unless its acknowledgement (late or
 * overdue) already implies it. Null: a structural zero, a cell that is empty by definition
 * (an on-time acknowledgement in the overdue figure; a person under 18 not a minor).
 */
export function canonicalPairs(figure: FigureDef, pairs: Record<string, string>): Record<string, string> | null {
  if (pairs.minor === 'no' && (pairs.ageBand === '0-13' || pairs.ageBand === '14-17')) return null;
  if (figure.population === 'identified') return { ...pairs, victimStatus: 'actual' };
  if (figure.population === 'acknowledgement_overdue_or_late') {
    const ack = pairs.acknowledgement;
    if (ack === 'late' || ack === 'overdue') return pairs;
    if (ack !== undefined) return null;
    return { ...pairs, acknowledgementDelayed: 'yes' };
  }
  return pairs;
}

export function figureById(id: string): FigureDef | undefined {
  return FIGURES.find((f) => f.id === id);
}

/** Fixed categories first, then any value observed in the rows (sorted). */
export function categoriesOf(dims: readonly DimensionId[], rows: ReadonlyArray<{ dims: Record<string, string> }>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of dims) {
    const fixed = DIMENSIONS[d].fixed;
    const seen = new Set<string>();
    for (const r of rows) {
      const v = r.dims[d];
      if (v !== undefined && !fixed.includes(v)) seen.add(v);
    }
    out[d] = [...fixed, ...[...seen].sort()];
  }
  return out;
}
