export const REFERRALS_SCHEMA = 'referrals';
export const REFERRALS_SERVICE = 'referrals' as const;
