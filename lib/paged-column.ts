// Growable columns of numbers in fixed pages: growing never copies, so no old generation of a
// 200k-entry array waits for the garbage collector beside the new one.

const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

type NumberArray = Float64Array | Uint32Array | Uint8Array;

/** One column: entry i lives at page i >> 12, offset i & 4095; pages are added as entries are. */
export class PagedColumn<T extends NumberArray> {
  private readonly pages: (T | undefined)[] = [];

  constructor(private readonly makePage: (length: number) => T) {}

  /** Room for entries up to `index`. */
  ensure(index: number): void {
    while (this.pages.length <= index >>> PAGE_BITS) this.pages.push(this.makePage(PAGE_SIZE));
  }

  get(index: number): number {
    return this.pages[index >>> PAGE_BITS]![index & PAGE_MASK]!;
  }

  set(index: number, value: number): void {
    this.pages[index >>> PAGE_BITS]![index & PAGE_MASK] = value;
  }

  /** Lets go of every page whose entries are all below `index`; they must not be read again. */
  dropBefore(index: number): void {
    for (let page = (index >>> PAGE_BITS) - 1; page >= 0 && this.pages[page]; page--)
      this.pages[page] = undefined;
  }
}

export const float64Column = (): PagedColumn<Float64Array> =>
  new PagedColumn((length) => new Float64Array(length));
export const uint32Column = (): PagedColumn<Uint32Array> =>
  new PagedColumn((length) => new Uint32Array(length));
export const uint8Column = (): PagedColumn<Uint8Array> => new PagedColumn((length) => new Uint8Array(length));

/** A column of 16-digit lowercase hex values (an xxh64), each kept as two 32-bit halves. */
export class Hex64Column {
  private readonly high = uint32Column();
  private readonly low = uint32Column();

  ensure(index: number): void {
    this.high.ensure(index);
    this.low.ensure(index);
  }

  get(index: number): string {
    return hex8(this.high.get(index)) + hex8(this.low.get(index));
  }

  /** `hex` must be 16 hex digits. */
  set(index: number, hex: string): void {
    this.high.set(index, Number.parseInt(hex.slice(0, 8), 16));
    this.low.set(index, Number.parseInt(hex.slice(8, 16), 16));
  }
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}
