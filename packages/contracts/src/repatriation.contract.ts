import { z } from 'zod';
import { ServiceType } from './values.js';

/**
 * Contract between repatriation and referrals: when a returned person is handed over to
 * assistance at the point of arrival, referrals turns `services` into service referrals in the
 * country of origin. Published by repatriation as `trm.repatriation.handed-over-to-assistance`.
 */
export const HandedOverToAssistanceData = z.object({
  caseId: z.string(),
  returnId: z.string(),
  /** Organisation that received the person and takes over assistance. */
  receivingOrganisationId: z.string(),
  /** Services the person needs; each becomes a service referral (to be assigned a provider). */
  services: z.array(ServiceType).min(1),
  handedOverAt: z.string(),
});
export type HandedOverToAssistanceData = z.infer<typeof HandedOverToAssistanceData>;
