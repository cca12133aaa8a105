import { z } from 'zod';

import { OrganisationType, Role } from '@trm/contracts';

// One definition of roles and organisation types, in contracts; re-exported under the names the
// platform has always used.
export { Role };
export const ALL_ROLES: readonly Role[] = Role.options;
export const OrgType = OrganisationType;
export type OrgType = OrganisationType;

export const OrgId = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/);
export const CountryCode = z.string().regex(/^[A-Z]{2}$/);

export interface Organisation {
  id: string;
  type: OrgType;
  country: string;
  name: string;
  parentId: string | null;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** The authenticated caller, as established from a verified token and the organisation registry. */
export interface Principal {
  subject: string;
  orgId: string;
  orgType: OrgType;
  country: string;
  parentOrgId: string | null;
  roles: Role[];
  /**
   * The organisation operates the registry (policy `TRM_REGISTRY_OPERATORS`, ANITP by default):
   * only there do the `admin` and `operator` roles take effect.
   */
  registryOperator: boolean;
}

/** Organisations that operate the registry unless configured otherwise (DOMAIN.md: ANITP). */
export const DEFAULT_REGISTRY_OPERATORS: readonly string[] = ['anitp'];

export interface OrgDirectory {
  get(id: string): Promise<Organisation | undefined>;
  list(): Promise<Organisation[]>;
  /** Active national contact points of a country (the central one and its regional centres). */
  nationalContactPoints(country: string): Promise<Organisation[]>;
  /** Drops cached entries so this process sees a registry change at once. */
  invalidate?(id?: string): void;
}
