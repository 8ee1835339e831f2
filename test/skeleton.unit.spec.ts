import { describe, expect, it } from 'vitest';
import { median } from '../bench/report.ts';

describe('bench report', () => {
  it('takes the median of an even and an odd number of runs', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
