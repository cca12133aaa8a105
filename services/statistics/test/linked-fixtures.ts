import fc from 'fast-check';
import type { FigureRow, YearInput } from '../src/domain/disclosure.js';
import { FIGURES } from '../src/domain/figures.js';

/** Scripted and random cases for the linked-tables audit (tests and benchmark). */
export interface CaseSpec {
  sex: string;
  ageBand: string;
  citizenship: string;
  form: string;
  victimStatus: string;
  acknowledgement: string;
  regionalCentre: string;
}

const minorOf = (ageBand: string) => (ageBand === '0-13' || ageBand === '14-17' ? 'yes' : 'no');

/** Rows of every figure of the catalogue for scripted cases (the case figures; others empty). */
export function yearOf(cases: readonly CaseSpec[], year = 2026): YearInput {
  const base = cases.map((c, i): FigureRow => ({
    caseId: `case-${i}`,
    dims: {
      month: '11',
      sex: c.sex,
      ageBand: c.ageBand,
      minor: minorOf(c.ageBand),
      citizenship: c.citizenship,
      countryOfExploitation: 'IT',
      form: c.form,
      crossBorder: 'yes',
      situation: 'identified_by_international_ngo',
      identifyingOrgType: 'ngo',
      regionalCentre: c.regionalCentre,
      victimStatus: c.victimStatus,
      acknowledgement: c.acknowledgement,
    },
  }));
  const rows: Record<string, FigureRow[]> = Object.fromEntries(FIGURES.map((f) => [f.id, []]));
  rows['victims-notified'] = base;
  rows['victims-identified'] = base.filter((r) => r.dims.victimStatus === 'actual');
  rows['acknowledgements-overdue'] = base.filter((r) => r.dims.acknowledgement === 'late' || r.dims.acknowledgement === 'overdue');
  return { year, rows };
}

export const caseSpec = fc.record({
  sex: fc.constantFrom('female', 'female', 'male', 'unknown'),
  ageBand: fc.constantFrom('18-25', '18-25', '26-35', '14-17', '36+'),
  citizenship: fc.constantFrom('RO', 'RO', 'RO', 'MD', 'IT'),
  form: fc.constantFrom('sexual_exploitation', 'forced_labour', 'forced_labour', 'forced_begging'),
  victimStatus: fc.constantFrom('actual', 'actual', 'possible', 'undetermined'),
  acknowledgement: fc.constantFrom('on_time', 'on_time', 'late', 'overdue'),
  regionalCentre: fc.constantFrom('anitp-rc-bucharest', 'anitp-rc-iasi', 'unassigned'),
});

