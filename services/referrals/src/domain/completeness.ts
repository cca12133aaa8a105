import { InformationItem } from '@trm/contracts';

/**
 * Items a case file needs before partners can act on it: who the person is, how to reach them,
 * their documents (for return) and what happened. Incomplete data is the most common failure
 * between countries, so the gap is named, not just scored.
 */
export const REQUIRED_ITEMS: readonly InformationItem[] = ['givenName', 'familyName', 'birthDate', 'contacts', 'documents', 'narrative'];

export function completenessOf(items: readonly string[]): { present: InformationItem[]; missing: InformationItem[]; score: number } {
  const present = [...new Set(items.filter((i): i is InformationItem => InformationItem.safeParse(i).success))].sort();
  const missing = REQUIRED_ITEMS.filter((i) => !present.includes(i));
  const score = Math.round((100 * (REQUIRED_ITEMS.length - missing.length)) / REQUIRED_ITEMS.length);
  return { present, missing: [...missing], score };
}
