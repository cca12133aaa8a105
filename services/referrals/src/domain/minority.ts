import type { CaseNotifiedData, MinorBasis } from '@trm/contracts';

/**
 * Presumption of minority (CETS 197 Art. 10(3), issue 17): when the age is unknown or uncertain
 * the person is treated as a child until child protection's age assessment says otherwise.
 * Pure functions of the non-personal age facts of a case, shared by notification, answers,
 * corrections and assessments.
 */

export interface AgeFacts {
  ageAtIdentification: number | null;
  /** The age was given as approximate. */
  ageApproximate: boolean;
  birthYear: number | null;
  identificationDate: string;
}

export interface Minority {
  minor: boolean;
  /** Null when not a child. */
  basis: MinorBasis | null;
  /** The age used for the band: the lower bound of what the facts allow (null: unknown). */
  age: number | null;
  ageBand: CaseNotifiedData['ageBand'];
}

export function ageBandOf(age: number): NonNullable<CaseNotifiedData['ageBand']> {
  if (age <= 13) return '0-13';
  if (age <= 17) return '14-17';
  if (age <= 25) return '18-25';
  if (age <= 35) return '26-35';
  return '36+';
}

/**
 * What the facts alone say. Each known fact is read on the younger side: an exact age under 18
 * declares a child; a birth year declares one when even its upper bound is under 18 and leaves
 * the age uncertain (presumed child) when only its lower bound is; an approximate age is
 * uncertain, so a child is presumed. No age and no birth year: presumed child. Facts that
 * disagree (one says child, another adult) are uncertain: presumed child.
 */
export function minorityFromFacts(f: AgeFacts): Minority {
  const idYear = Number(f.identificationDate.slice(0, 4));
  const readings: Array<'child' | 'uncertain' | 'adult'> = [];
  const lowers: number[] = [];
  if (f.ageAtIdentification !== null) {
    lowers.push(f.ageAtIdentification);
    readings.push(f.ageApproximate ? 'uncertain' : f.ageAtIdentification < 18 ? 'child' : 'adult');
  }
  if (f.birthYear !== null) {
    const upper = idYear - f.birthYear;
    const lower = Math.max(0, upper - 1);
    lowers.push(lower);
    readings.push(upper < 18 ? 'child' : lower < 18 ? 'uncertain' : 'adult');
  }
  const age = lowers.length > 0 ? Math.min(...lowers) : null;
  const ageBand = age === null ? null : ageBandOf(age);
  if (readings.length === 0) return { minor: true, basis: 'presumed', age, ageBand };
  if (readings.every((r) => r === 'adult')) return { minor: false, basis: null, age, ageBand };
  if (readings.every((r) => r === 'child')) return { minor: true, basis: 'declared', age, ageBand };
  return { minor: true, basis: 'presumed', age, ageBand };
}

/**
 * Minority after new facts (an answer, a correction): they can make the person a child, never an
 * adult. Only an age assessment (`minorityAfterAssessment`) ends a child's status; after an
 * assessment that found an adult, new facts that declare a child make it a child's case again
 * (facts that only leave the age uncertain do not: the assessment settled that).
 */
export function minorityAfterFacts(before: { minor: boolean; basis: MinorBasis | null; assessedAdult: boolean }, facts: AgeFacts): Minority {
  const computed = minorityFromFacts(facts);
  // An assessment that found an adult settles an uncertain age; only facts that declare a child reopen it.
  if (before.assessedAdult && !before.minor && computed.basis === 'presumed') return { ...computed, minor: false, basis: null };
  if (computed.minor || !before.minor) return computed;
  // The facts now say adult, but a child stays a child until child protection assesses the age.
  return { ...computed, minor: true, basis: before.basis === 'declared' ? 'presumed' : before.basis };
}

export function minorityAfterAssessment(result: 'child' | 'adult', estimatedAge: number | null): Minority {
  return {
    minor: result === 'child',
    basis: result === 'child' ? 'assessed' : null,
    age: estimatedAge,
    ageBand: estimatedAge === null ? null : ageBandOf(estimatedAge),
  };
}
