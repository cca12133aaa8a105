import { describe, expect, it } from 'vitest';
import { shapeOf } from './statements.bench.js';

describe('statement shapes', () => {
  it('keeps the opening words and the table, never a parameter value', () => {
    expect(shapeOf('insert into "referrals"."vault_fields" ("subject_id", "field") values ($1, $2)')).toBe('insert into … vault_fields');
    expect(shapeOf(' select e.stream_version, e.hash from "referrals"."events" e\n where e.stream_id = $1')).toBe('select e.stream_version … events');
    expect(shapeOf('begin')).toBe('begin');
  });
});
