import { z } from 'zod';

/**
 * Value types shared by every service. The lists are closed on purpose: a value that another
 * country's system sends and we do not know is refused at the edge, not stored and miscounted.
 */

/**
 * ISO 3166-1 alpha-2, the 249 officially assigned codes. User-assigned codes (XK for Kosovo, used
 * by the EU and others) and exceptional reservations (EU, UK) are refused: statistics exchanged
 * with Eurostat and partner countries must use codes every party decodes the same way.
 */
export const COUNTRY_CODES = [
  'AD', 'AE', 'AF', 'AG', 'AI', 'AL', 'AM', 'AO', 'AQ', 'AR', 'AS', 'AT', 'AU', 'AW', 'AX', 'AZ', 'BA', 'BB', 'BD', 'BE',
  'BF', 'BG', 'BH', 'BI', 'BJ', 'BL', 'BM', 'BN', 'BO', 'BQ', 'BR', 'BS', 'BT', 'BV', 'BW', 'BY', 'BZ', 'CA', 'CC', 'CD',
  'CF', 'CG', 'CH', 'CI', 'CK', 'CL', 'CM', 'CN', 'CO', 'CR', 'CU', 'CV', 'CW', 'CX', 'CY', 'CZ', 'DE', 'DJ', 'DK', 'DM',
  'DO', 'DZ', 'EC', 'EE', 'EG', 'EH', 'ER', 'ES', 'ET', 'FI', 'FJ', 'FK', 'FM', 'FO', 'FR', 'GA', 'GB', 'GD', 'GE', 'GF',
  'GG', 'GH', 'GI', 'GL', 'GM', 'GN', 'GP', 'GQ', 'GR', 'GS', 'GT', 'GU', 'GW', 'GY', 'HK', 'HM', 'HN', 'HR', 'HT', 'HU',
  'ID', 'IE', 'IL', 'IM', 'IN', 'IO', 'IQ', 'IR', 'IS', 'IT', 'JE', 'JM', 'JO', 'JP', 'KE', 'KG', 'KH', 'KI', 'KM', 'KN',
  'KP', 'KR', 'KW', 'KY', 'KZ', 'LA', 'LB', 'LC', 'LI', 'LK', 'LR', 'LS', 'LT', 'LU', 'LV', 'LY', 'MA', 'MC', 'MD', 'ME',
  'MF', 'MG', 'MH', 'MK', 'ML', 'MM', 'MN', 'MO', 'MP', 'MQ', 'MR', 'MS', 'MT', 'MU', 'MV', 'MW', 'MX', 'MY', 'MZ', 'NA',
  'NC', 'NE', 'NF', 'NG', 'NI', 'NL', 'NO', 'NP', 'NR', 'NU', 'NZ', 'OM', 'PA', 'PE', 'PF', 'PG', 'PH', 'PK', 'PL', 'PM',
  'PN', 'PR', 'PS', 'PT', 'PW', 'PY', 'QA', 'RE', 'RO', 'RS', 'RU', 'RW', 'SA', 'SB', 'SC', 'SD', 'SE', 'SG', 'SH', 'SI',
  'SJ', 'SK', 'SL', 'SM', 'SN', 'SO', 'SR', 'SS', 'ST', 'SV', 'SX', 'SY', 'SZ', 'TC', 'TD', 'TF', 'TG', 'TH', 'TJ', 'TK',
  'TL', 'TM', 'TN', 'TO', 'TR', 'TT', 'TV', 'TW', 'TZ', 'UA', 'UG', 'UM', 'US', 'UY', 'UZ', 'VA', 'VC', 'VE', 'VG', 'VI',
  'VN', 'VU', 'WF', 'WS', 'YE', 'YT', 'ZA', 'ZM', 'ZW',
] as const;
export const CountryCode = z.enum(COUNTRY_CODES).meta({ id: 'CountryCode' });
export type CountryCode = z.infer<typeof CountryCode>;

/** ISO 3166-1 English short names; `Record<CountryCode, …>` makes a missing name a compile error. */
const COUNTRY_NAMES: Readonly<Record<CountryCode, string>> = {
  AD: 'Andorra',
  AE: 'United Arab Emirates',
  AF: 'Afghanistan',
  AG: 'Antigua and Barbuda',
  AI: 'Anguilla',
  AL: 'Albania',
  AM: 'Armenia',
  AO: 'Angola',
  AQ: 'Antarctica',
  AR: 'Argentina',
  AS: 'American Samoa',
  AT: 'Austria',
  AU: 'Australia',
  AW: 'Aruba',
  AX: 'Åland Islands',
  AZ: 'Azerbaijan',
  BA: 'Bosnia and Herzegovina',
  BB: 'Barbados',
  BD: 'Bangladesh',
  BE: 'Belgium',
  BF: 'Burkina Faso',
  BG: 'Bulgaria',
  BH: 'Bahrain',
  BI: 'Burundi',
  BJ: 'Benin',
  BL: 'Saint Barthélemy',
  BM: 'Bermuda',
  BN: 'Brunei Darussalam',
  BO: 'Bolivia, Plurinational State of',
  BQ: 'Bonaire, Sint Eustatius and Saba',
  BR: 'Brazil',
  BS: 'Bahamas',
  BT: 'Bhutan',
  BV: 'Bouvet Island',
  BW: 'Botswana',
  BY: 'Belarus',
  BZ: 'Belize',
  CA: 'Canada',
  CC: 'Cocos (Keeling) Islands',
  CD: 'Congo, The Democratic Republic of the',
  CF: 'Central African Republic',
  CG: 'Congo',
  CH: 'Switzerland',
  CI: 'Côte d\'Ivoire',
  CK: 'Cook Islands',
  CL: 'Chile',
  CM: 'Cameroon',
  CN: 'China',
  CO: 'Colombia',
  CR: 'Costa Rica',
  CU: 'Cuba',
  CV: 'Cabo Verde',
  CW: 'Curaçao',
  CX: 'Christmas Island',
  CY: 'Cyprus',
  CZ: 'Czechia',
  DE: 'Germany',
  DJ: 'Djibouti',
  DK: 'Denmark',
  DM: 'Dominica',
  DO: 'Dominican Republic',
  DZ: 'Algeria',
  EC: 'Ecuador',
  EE: 'Estonia',
  EG: 'Egypt',
  EH: 'Western Sahara',
  ER: 'Eritrea',
  ES: 'Spain',
  ET: 'Ethiopia',
  FI: 'Finland',
  FJ: 'Fiji',
  FK: 'Falkland Islands (Malvinas)',
  FM: 'Micronesia, Federated States of',
  FO: 'Faroe Islands',
  FR: 'France',
  GA: 'Gabon',
  GB: 'United Kingdom',
  GD: 'Grenada',
  GE: 'Georgia',
  GF: 'French Guiana',
  GG: 'Guernsey',
  GH: 'Ghana',
  GI: 'Gibraltar',
  GL: 'Greenland',
  GM: 'Gambia',
  GN: 'Guinea',
  GP: 'Guadeloupe',
  GQ: 'Equatorial Guinea',
  GR: 'Greece',
  GS: 'South Georgia and the South Sandwich Islands',
  GT: 'Guatemala',
  GU: 'Guam',
  GW: 'Guinea-Bissau',
  GY: 'Guyana',
  HK: 'Hong Kong',
  HM: 'Heard Island and McDonald Islands',
  HN: 'Honduras',
  HR: 'Croatia',
  HT: 'Haiti',
  HU: 'Hungary',
  ID: 'Indonesia',
  IE: 'Ireland',
  IL: 'Israel',
  IM: 'Isle of Man',
  IN: 'India',
  IO: 'British Indian Ocean Territory',
  IQ: 'Iraq',
  IR: 'Iran, Islamic Republic of',
  IS: 'Iceland',
  IT: 'Italy',
  JE: 'Jersey',
  JM: 'Jamaica',
  JO: 'Jordan',
  JP: 'Japan',
  KE: 'Kenya',
  KG: 'Kyrgyzstan',
  KH: 'Cambodia',
  KI: 'Kiribati',
  KM: 'Comoros',
  KN: 'Saint Kitts and Nevis',
  KP: 'Korea, Democratic People\'s Republic of',
  KR: 'Korea, Republic of',
  KW: 'Kuwait',
  KY: 'Cayman Islands',
  KZ: 'Kazakhstan',
  LA: 'Lao People\'s Democratic Republic',
  LB: 'Lebanon',
  LC: 'Saint Lucia',
  LI: 'Liechtenstein',
  LK: 'Sri Lanka',
  LR: 'Liberia',
  LS: 'Lesotho',
  LT: 'Lithuania',
  LU: 'Luxembourg',
  LV: 'Latvia',
  LY: 'Libya',
  MA: 'Morocco',
  MC: 'Monaco',
  MD: 'Moldova, Republic of',
  ME: 'Montenegro',
  MF: 'Saint Martin (French part)',
  MG: 'Madagascar',
  MH: 'Marshall Islands',
  MK: 'North Macedonia',
  ML: 'Mali',
  MM: 'Myanmar',
  MN: 'Mongolia',
  MO: 'Macao',
  MP: 'Northern Mariana Islands',
  MQ: 'Martinique',
  MR: 'Mauritania',
  MS: 'Montserrat',
  MT: 'Malta',
  MU: 'Mauritius',
  MV: 'Maldives',
  MW: 'Malawi',
  MX: 'Mexico',
  MY: 'Malaysia',
  MZ: 'Mozambique',
  NA: 'Namibia',
  NC: 'New Caledonia',
  NE: 'Niger',
  NF: 'Norfolk Island',
  NG: 'Nigeria',
  NI: 'Nicaragua',
  NL: 'Netherlands',
  NO: 'Norway',
  NP: 'Nepal',
  NR: 'Nauru',
  NU: 'Niue',
  NZ: 'New Zealand',
  OM: 'Oman',
  PA: 'Panama',
  PE: 'Peru',
  PF: 'French Polynesia',
  PG: 'Papua New Guinea',
  PH: 'Philippines',
  PK: 'Pakistan',
  PL: 'Poland',
  PM: 'Saint Pierre and Miquelon',
  PN: 'Pitcairn',
  PR: 'Puerto Rico',
  PS: 'Palestine, State of',
  PT: 'Portugal',
  PW: 'Palau',
  PY: 'Paraguay',
  QA: 'Qatar',
  RE: 'Réunion',
  RO: 'Romania',
  RS: 'Serbia',
  RU: 'Russian Federation',
  RW: 'Rwanda',
  SA: 'Saudi Arabia',
  SB: 'Solomon Islands',
  SC: 'Seychelles',
  SD: 'Sudan',
  SE: 'Sweden',
  SG: 'Singapore',
  SH: 'Saint Helena, Ascension and Tristan da Cunha',
  SI: 'Slovenia',
  SJ: 'Svalbard and Jan Mayen',
  SK: 'Slovakia',
  SL: 'Sierra Leone',
  SM: 'San Marino',
  SN: 'Senegal',
  SO: 'Somalia',
  SR: 'Suriname',
  SS: 'South Sudan',
  ST: 'Sao Tome and Principe',
  SV: 'El Salvador',
  SX: 'Sint Maarten (Dutch part)',
  SY: 'Syrian Arab Republic',
  SZ: 'Eswatini',
  TC: 'Turks and Caicos Islands',
  TD: 'Chad',
  TF: 'French Southern Territories',
  TG: 'Togo',
  TH: 'Thailand',
  TJ: 'Tajikistan',
  TK: 'Tokelau',
  TL: 'Timor-Leste',
  TM: 'Turkmenistan',
  TN: 'Tunisia',
  TO: 'Tonga',
  TR: 'Türkiye',
  TT: 'Trinidad and Tobago',
  TV: 'Tuvalu',
  TW: 'Taiwan, Province of China',
  TZ: 'Tanzania, United Republic of',
  UA: 'Ukraine',
  UG: 'Uganda',
  UM: 'United States Minor Outlying Islands',
  US: 'United States of America',
  UY: 'Uruguay',
  UZ: 'Uzbekistan',
  VA: 'Holy See (Vatican City State)',
  VC: 'Saint Vincent and the Grenadines',
  VE: 'Venezuela, Bolivarian Republic of',
  VG: 'Virgin Islands, British',
  VI: 'Virgin Islands, U.S.',
  VN: 'Viet Nam',
  VU: 'Vanuatu',
  WF: 'Wallis and Futuna',
  WS: 'Samoa',
  YE: 'Yemen',
  YT: 'Mayotte',
  ZA: 'South Africa',
  ZM: 'Zambia',
  ZW: 'Zimbabwe',
};

/**
 * A citizenship (issue 17, who can be notified): an ISO 3166-1 alpha-2 country, or `XK` (Kosovo,
 * the user-assigned code Eurostat and the EU use), or `stateless`, or `unknown`. Only citizenship
 * takes these: countries of identification and exploitation stay officially assigned codes.
 */
export const CITIZENSHIP_EXTRA = ['XK', 'stateless', 'unknown'] as const;
export const Citizenship = z.enum([...COUNTRY_CODES, ...CITIZENSHIP_EXTRA]).meta({ id: 'Citizenship' });
export type Citizenship = z.infer<typeof Citizenship>;

/** A citizenship that names no country whose contact point could coordinate (`stateless`, `unknown`). */
export function isCountrylessCitizenship(c: string): boolean {
  return c === 'stateless' || c === 'unknown';
}

export function countryName(code: CountryCode): string {
  return COUNTRY_NAMES[code];
}

/**
 * ISO 4217 active alphabetic codes (List One), including funds and special codes. Withdrawn codes
 * are left out (HRK since Croatia joined the euro, SLL, ANG replaced by XCG, ZWL replaced by ZWG)
 * so a cost cannot be recorded in a currency nobody can pay in any more.
 */
export const CURRENCY_CODES = [
  'AED', 'AFN', 'ALL', 'AMD', 'AOA', 'ARS', 'AUD', 'AWG', 'AZN', 'BAM', 'BBD', 'BDT', 'BGN', 'BHD', 'BIF', 'BMD', 'BND', 'BOB', 'BOV', 'BRL',
  'BSD', 'BTN', 'BWP', 'BYN', 'BZD', 'CAD', 'CDF', 'CHE', 'CHF', 'CHW', 'CLF', 'CLP', 'CNY', 'COP', 'COU', 'CRC', 'CUC', 'CUP', 'CVE', 'CZK',
  'DJF', 'DKK', 'DOP', 'DZD', 'EGP', 'ERN', 'ETB', 'EUR', 'FJD', 'FKP', 'GBP', 'GEL', 'GHS', 'GIP', 'GMD', 'GNF', 'GTQ', 'GYD', 'HKD', 'HNL',
  'HTG', 'HUF', 'IDR', 'ILS', 'INR', 'IQD', 'IRR', 'ISK', 'JMD', 'JOD', 'JPY', 'KES', 'KGS', 'KHR', 'KMF', 'KPW', 'KRW', 'KWD', 'KYD', 'KZT',
  'LAK', 'LBP', 'LKR', 'LRD', 'LSL', 'LYD', 'MAD', 'MDL', 'MGA', 'MKD', 'MMK', 'MNT', 'MOP', 'MRU', 'MUR', 'MVR', 'MWK', 'MXN', 'MXV', 'MYR',
  'MZN', 'NAD', 'NGN', 'NIO', 'NOK', 'NPR', 'NZD', 'OMR', 'PAB', 'PEN', 'PGK', 'PHP', 'PKR', 'PLN', 'PYG', 'QAR', 'RON', 'RSD', 'RUB', 'RWF',
  'SAR', 'SBD', 'SCR', 'SDG', 'SEK', 'SGD', 'SHP', 'SLE', 'SOS', 'SRD', 'SSP', 'STN', 'SVC', 'SYP', 'SZL', 'THB', 'TJS', 'TMT', 'TND', 'TOP',
  'TRY', 'TTD', 'TWD', 'TZS', 'UAH', 'UGX', 'USD', 'USN', 'UYI', 'UYU', 'UYW', 'UZS', 'VED', 'VES', 'VND', 'VUV', 'WST', 'XAF', 'XAG', 'XAU',
  'XBA', 'XBB', 'XBC', 'XBD', 'XCD', 'XCG', 'XDR', 'XOF', 'XPD', 'XPF', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX', 'YER', 'ZAR', 'ZMW', 'ZWG',
] as const;
export const CurrencyCode = z.enum(CURRENCY_CODES).meta({ id: 'CurrencyCode' });
export type CurrencyCode = z.infer<typeof CurrencyCode>;

/** Forms of exploitation, aligned with the HTCDS v2 (Human Trafficking Case Data Standard). */
export const ExploitationForm = z.enum([
  'sexual_exploitation',
  'forced_labour',
  'forced_begging',
  'forced_criminality',
  'child_labour',
  'forced_marriage',
  'servitude',
  'slavery',
  'organ_removal',
  'illegal_adoption',
  'surrogacy',
  'other',
]);
export type ExploitationForm = z.infer<typeof ExploitationForm>;

/** The seven national referral situations of the Romanian national referral mechanism. */
export const ReferralSituation = z.enum([
  'identified_by_law_enforcement',
  'referred_and_returned_by_iom',
  'identified_by_international_ngo',
  'identified_by_consulate',
  'foreign_victim',
  'child_victim',
  'indefinite_case',
]);
export type ReferralSituation = z.infer<typeof ReferralSituation>;

export const OrganisationType = z.enum([
  'national_contact_point',
  'consulate',
  'law_enforcement',
  'international_organisation',
  'ngo',
  'child_protection',
  'service_provider',
  'auditor',
  'statistics_consumer',
]);
export type OrganisationType = z.infer<typeof OrganisationType>;

export const Role = z.enum([
  'notifier',
  'case_officer',
  'consular_officer',
  'service_provider',
  'child_protection_officer',
  'proceedings_coordinator',
  'auditor',
  'statistics_reader',
  /** The organisation registry; effective only in a registry operator's organisation (ANITP by default). */
  'admin',
  /** Metrics and bus repair; effective only in a registry operator's organisation. */
  'operator',
]);
export type Role = z.infer<typeof Role>;

export const Sex = z.enum(['female', 'male', 'other', 'unknown']);
export type Sex = z.infer<typeof Sex>;

export const RecruiterRelation = z.enum([
  'intimate_partner',
  'family_member',
  'friend_or_acquaintance',
  'employer',
  'stranger',
  'other',
  'unknown',
]);
export type RecruiterRelation = z.infer<typeof RecruiterRelation>;

export const ServiceType = z.enum([
  'shelter',
  'basic_needs',
  'medical',
  'psychological',
  'legal',
  'financial_material',
  'vocational',
  'educational',
  'interpretation',
]);
export type ServiceType = z.infer<typeof ServiceType>;

export const ConsentPurpose = z.enum(['assistance', 'sharing', 'return', 'research', 'proceedings']);
export type ConsentPurpose = z.infer<typeof ConsentPurpose>;

export const VictimStatus = z.enum(['possible', 'actual', 'not_a_victim']);
export type VictimStatus = z.infer<typeof VictimStatus>;

export const DeciderBodyType = z.enum([
  'law_enforcement',
  'prosecutor',
  'court',
  'ngo',
  'national_contact_point',
  'labour_inspectorate',
  'other',
]);
export type DeciderBodyType = z.infer<typeof DeciderBodyType>;

export const ClosureReason = z.enum(['reintegrated', 'referred_on', 'lost_contact', 'declined_assistance', 'not_a_victim']);
export type ClosureReason = z.infer<typeof ClosureReason>;

export const RiskFlagKind = z.enum(['re_trafficking', 'lost_contact', 'threat']);
export type RiskFlagKind = z.infer<typeof RiskFlagKind>;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= daysInMonth;
}

/** A calendar date without time zone (`YYYY-MM-DD`); 2026-02-30 is refused, not rolled over. */
export const IsoDate = z.string().regex(ISO_DATE, 'expected YYYY-MM-DD').refine(isCalendarDate, 'not a calendar date');
export type IsoDate = z.infer<typeof IsoDate>;

/**
 * A non-negative amount as a decimal string, never a float: costs are summed across countries and
 * reported, and 0.1 + 0.2 must stay 0.30. At most 15 integer digits so it fits numeric(17,2).
 */
export const Money = z.object({
  amount: z.string().regex(/^(0|[1-9]\d{0,14})(\.\d{1,2})?$/, 'expected a non-negative decimal with at most 2 decimals'),
  currency: CurrencyCode,
});
export type Money = z.infer<typeof Money>;

export const AgeBand = z.enum(['0-13', '14-17', '18-25', '26-35', '36+']);
export type AgeBand = z.infer<typeof AgeBand>;

export function ageBand(age: number): AgeBand {
  if (!Number.isInteger(age) || age < 0) throw new RangeError('age must be a non-negative integer');
  if (age <= 13) return '0-13';
  if (age <= 17) return '14-17';
  if (age <= 25) return '18-25';
  if (age <= 35) return '26-35';
  return '36+';
}

function yearOf(date: IsoDate | Date): number {
  if (date instanceof Date) return date.getUTCFullYear();
  if (!isCalendarDate(date)) throw new RangeError('date must be YYYY-MM-DD');
  return Number(date.slice(0, 4));
}

/**
 * With only a birth year the age at a date is `year − birthYear` (birthday passed) or one less.
 * Both bounds, for callers that must show the uncertainty.
 */
export function ageRangeAt(birthYear: number, date: IsoDate | Date): { min: number; max: number } {
  const year = yearOf(date);
  if (!Number.isInteger(birthYear) || birthYear > year) throw new RangeError('birth year must be an integer not after the date');
  const max = year - birthYear;
  return { min: Math.max(0, max - 1), max };
}

/**
 * The age used for decisions and statistics: the lower bound. A possible child must be treated as
 * a child (Council of Europe Convention Art. 10(3): presumption of minority), so the uncertain
 * year counts on the younger side; `ageBand(ageAt(…))` then never puts a possible minor among adults.
 */
export function ageAt(birthYear: number, date: IsoDate | Date): number {
  return ageRangeAt(birthYear, date).min;
}

/**
 * True when the person may still be under 18 at the date: born in 2008, they are 17 or 18 during
 * 2026, so they may be a minor; born in 2007, they are at least 18.
 */
export function mayBeMinor(birthYear: number, date: IsoDate | Date): boolean {
  return ageAt(birthYear, date) < 18;
}
