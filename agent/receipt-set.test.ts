// The receipt set against an insertion-ordered Set: the same keys, in the same order, through adds
// (again), deletes, evictions of the oldest and sweeps, including when its entries are numbered again.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECEIPT_KEY_LENGTH, ReceiptSet } from './receipt-set.js';

const key = (n: number): string =>
  createHash('sha256').update(String(n)).digest('base64url').slice(0, RECEIPT_KEY_LENGTH);

type Op =
  | { kind: 'add'; n: number }
  | { kind: 'delete'; n: number }
  | { kind: 'shift' }
  | { kind: 'sweep'; keep: number[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(40).map((n): Op => ({ kind: 'add', n })) },
  { weight: 3, arbitrary: fc.nat(40).map((n): Op => ({ kind: 'delete', n })) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'shift' }) },
  {
    weight: 1,
    arbitrary: fc.array(fc.nat(40), { maxLength: 20 }).map((keep): Op => ({ kind: 'sweep', keep })),
  },
);

/** What an insertion-ordered Set does for each operation. */
function applyToModel(model: Set<string>, op: Op): unknown {
  if (op.kind === 'add') {
    model.delete(key(op.n));
    model.add(key(op.n));
  } else if (op.kind === 'delete') {
    return model.delete(key(op.n));
  } else if (op.kind === 'shift') {
    const oldest = model.values().next().value;
    if (oldest !== undefined) model.delete(oldest);
    return oldest;
  } else {
    const keep = new Set(op.keep.map(key));
    const gone = [...model].filter((k) => !keep.has(k));
    for (const k of gone) model.delete(k);
    return gone;
  }
  return undefined;
}

function applyToSet(set: ReceiptSet, op: Op): unknown {
  if (op.kind === 'add') set.add(key(op.n));
  else if (op.kind === 'delete') return set.delete(key(op.n));
  else if (op.kind === 'shift') return set.shift();
  else {
    set.beginSweep();
    for (const n of op.keep) set.mark(key(n));
    return set.deleteUnmarked();
  }
  return undefined;
}

describe('ReceiptSet', () => {
  it('holds the keys an insertion-ordered Set holds, in its order, with the same answers', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const set = new ReceiptSet();
        const model = new Set<string>();
        for (const op of ops) {
          expect(applyToSet(set, op)).toEqual(applyToModel(model, op));
          expect(set.size).toBe(model.size);
        }
        expect([...set.keys()]).toEqual([...model]);
        for (let n = 0; n <= 40; n++) expect(set.has(key(n))).toBe(model.has(key(n)));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps order and answers after many gaps make it number its entries again', () => {
    const set = new ReceiptSet();
    const model = new Set<string>();
    for (let n = 0; n < 30_000; n++) {
      set.add(key(n));
      model.add(key(n));
      // Most go again soon (purged), some are added again (streamed and acknowledged once more).
      if (n % 10 !== 0) {
        set.delete(key(n - 5 < 0 ? n : n - 5));
        model.delete(key(n - 5 < 0 ? n : n - 5));
      }
      if (n % 97 === 0) {
        set.add(key(n >> 1));
        model.delete(key(n >> 1));
        model.add(key(n >> 1));
      }
    }
    expect(set.size).toBe(model.size);
    expect([...set.keys()]).toEqual([...model]);
    const missing = [...model].filter((k) => !set.has(k));
    expect(missing).toEqual([]);
  });

  it('evicts the oldest first, as a bounded ledger does', () => {
    const set = new ReceiptSet();
    for (let n = 0; n < 10_000; n++) {
      set.add(key(n));
      while (set.size > 1000) set.shift();
    }
    expect([...set.keys()]).toEqual(Array.from({ length: 1000 }, (_, i) => key(9000 + i)));
  });

  it('lists every key present throughout a reading while keys are added and deleted during it, once', () => {
    const set = new ReceiptSet();
    for (let n = 0; n < 20_000; n++) set.add(key(n));
    const touched = new Set<string>();
    const listed: string[] = [];
    let next = 20_000;
    for (const k of set.keys()) {
      const i = listed.push(k) - 1;
      // Keys well ahead of the reading go, three at a time: enough gaps to number the entries again,
      // were they not being read. Some are added, and now and then the oldest goes.
      if (i < 4900) {
        for (const n of [19_999 - 3 * i, 19_998 - 3 * i, 19_997 - 3 * i]) {
          set.delete(key(n));
          touched.add(key(n));
        }
      }
      if (next < 22_000) set.add(key(next++));
      if (i % 50 === 0) touched.add(set.shift()!);
      if (listed.length > 40_000) throw new Error('the reading does not end');
    }
    expect(new Set(listed).size).toBe(listed.length);
    const seen = new Set(listed);
    const throughout = Array.from({ length: 20_000 }, (_, n) => key(n)).filter((k) => !touched.has(k));
    expect(throughout.length).toBeGreaterThan(1000);
    expect(throughout.filter((k) => !seen.has(k))).toEqual([]);
    // Once the reading is over, the gaps go.
    set.add(key(next));
    expect([...set.keys()].length).toBe(set.size);
  });

  it('refuses a key of another length', () => {
    expect(() => new ReceiptSet().add('short')).toThrow(/22 characters/);
  });
});
