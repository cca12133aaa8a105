import { describe, expect, it } from 'vitest';
import {
  AgeBand,
  ageAt,
  ageBand,
  ageRangeAt,
  COUNTRY_CODES,
  CountryCode,
  countryName,
  CURRENCY_CODES,
  CurrencyCode,
  ExploitationForm,
  IsoDate,
  mayBeMinor,
  Money,
  ReferralSituation,
  Role,
} from './values.js';

describe('CountryCode', () => {
  it('holds the 249 officially assigned ISO 3166-1 alpha-2 codes, each once', () => {
    expect(COUNTRY_CODES).toHaveLength(249);
    expect(new Set(COUNTRY_CODES).size).toBe(249);
    expect([...COUNTRY_CODES].sort()).toEqual([...COUNTRY_CODES]);
    for (const code of COUNTRY_CODES) expect(code).toMatch(/^[A-Z]{2}$/);
  });

  it.each(['RO', 'IT', 'MD', 'GB', 'DE', 'ES', 'UA', 'SS', 'BQ', 'CW', 'SX', 'AX', 'AQ'])('accepts %s', (code) => {
    expect(CountryCode.parse(code)).toBe(code);
  });

  it.each(['XK', 'EU', 'UK', 'EL', 'AN', 'CS', 'YU', 'ro', 'ROU', ''])('refuses %j (not officially assigned or malformed)', (code) => {
    expect(CountryCode.safeParse(code).success).toBe(false);
  });

  it('names every code in English', () => {
    expect(countryName('RO')).toBe('Romania');
    expect(countryName('IT')).toBe('Italy');
    expect(countryName('MD')).toBe('Moldova, Republic of');
    expect(countryName('GB')).toBe('United Kingdom');
    expect(countryName('CI')).toBe("Côte d'Ivoire");
    for (const code of COUNTRY_CODES) expect(countryName(code).length).toBeGreaterThan(2);
  });
});

describe('CurrencyCode', () => {
  it('holds the active ISO 4217 alphabetic codes, each once', () => {
    expect(CURRENCY_CODES.length).toBe(179);
    expect(new Set(CURRENCY_CODES).size).toBe(CURRENCY_CODES.length);
    for (const code of CURRENCY_CODES) expect(code).toMatch(/^[A-Z]{3}$/);
  });

  it.each(['EUR', 'RON', 'USD', 'GBP', 'MDL', 'UAH', 'CHF', 'TRY', 'XOF', 'XCG', 'ZWG', 'SLE'])('accepts %s', (code) => {
    expect(CurrencyCode.parse(code)).toBe(code);
  });

  it.each(['HRK', 'ROL', 'DEM', 'SLL', 'ZWL', 'eur', 'EURO', 'BTC'])('refuses %j (withdrawn or not a currency code)', (code) => {
    expect(CurrencyCode.safeParse(code).success).toBe(false);
  });
});

describe('enumerations', () => {
  it('align exploitation forms with HTCDS v2', () => {
    expect(ExploitationForm.options).toContain('organ_removal');
    expect(ExploitationForm.options).toHaveLength(12);
    expect(ExploitationForm.safeParse('sexual-exploitation').success).toBe(false);
  });

  it('list the seven referral situations and ten roles', () => {
    expect(ReferralSituation.options).toHaveLength(7);
    expect(Role.options).toHaveLength(10);
    expect(Role.options).toContain('operator');
  });
});

describe('IsoDate', () => {
  it.each(['2026-01-31', '2024-02-29', '2000-02-29', '1999-12-31'])('accepts %s', (d) => {
    expect(IsoDate.parse(d)).toBe(d);
  });

  it.each(['2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-1-01', '2026-01-01T00:00:00Z', '20260101', ''])(
    'refuses %j',
    (d) => {
      expect(IsoDate.safeParse(d).success).toBe(false);
    },
  );
});

describe('Money', () => {
  it.each(['0', '0.5', '10.50', '1234567.89', '999999999999999.99'])('accepts amount %s', (amount) => {
    expect(Money.parse({ amount, currency: 'EUR' })).toEqual({ amount, currency: 'EUR' });
  });

  it.each(['-1', '1.234', '01', '.5', '5.', '1e3', '1,50', ' 1', 'NaN', '1000000000000000'])('refuses amount %j', (amount) => {
    expect(Money.safeParse({ amount, currency: 'EUR' }).success).toBe(false);
  });

  it('refuses a number amount and an unknown currency', () => {
    expect(Money.safeParse({ amount: 10, currency: 'EUR' }).success).toBe(false);
    expect(Money.safeParse({ amount: '10', currency: 'XYZ' }).success).toBe(false);
  });
});

describe('age', () => {
  it('bands ages at their boundaries', () => {
    const cases: [number, AgeBand][] = [
      [0, '0-13'],
      [13, '0-13'],
      [14, '14-17'],
      [17, '14-17'],
      [18, '18-25'],
      [25, '18-25'],
      [26, '26-35'],
      [35, '26-35'],
      [36, '36+'],
      [90, '36+'],
    ];
    for (const [age, band] of cases) expect(ageBand(age)).toBe(band);
    expect(() => ageBand(-1)).toThrow(RangeError);
    expect(() => ageBand(17.5)).toThrow(RangeError);
  });

  it('takes the younger bound when only the birth year is known', () => {
    expect(ageRangeAt(2008, '2026-06-01')).toEqual({ min: 17, max: 18 });
    expect(ageAt(2008, '2026-12-31')).toBe(17);
    expect(ageAt(2026, '2026-03-01')).toBe(0);
    expect(ageAt(1990, new Date('2026-01-01T00:00:00Z'))).toBe(35);
    expect(() => ageAt(2027, '2026-01-01')).toThrow(RangeError);
    expect(() => ageAt(2000, '2026-02-30')).toThrow(RangeError);
  });

  it('treats someone who may still be 17 as a possible minor', () => {
    expect(mayBeMinor(2008, '2026-01-01')).toBe(true);
    expect(mayBeMinor(2008, '2026-12-31')).toBe(true);
    expect(mayBeMinor(2007, '2026-01-01')).toBe(false);
    expect(mayBeMinor(2009, '2026-06-15')).toBe(true);
    expect(ageBand(ageAt(2008, '2026-06-15'))).toBe('14-17');
  });
});
