// A JSON parser that keeps integers beyond 2^53 exact, so ComfyUI seeds (up to 2^64) keep every digit.

/** A JSON value where integers that a double cannot hold exactly are bigints. */
export type ExactJson =
  null | boolean | number | bigint | string | ExactJson[] | { [key: string]: ExactJson };

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const MAX_DEPTH = 2000;

/**
 * Parses JSON like JSON.parse, except that an integer literal beyond Number.MAX_SAFE_INTEGER becomes a
 * bigint. Throws SyntaxError on invalid JSON; run JSON.parse first for its better messages.
 */
export function parseJsonExact(text: string): ExactJson {
  let at = 0;

  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${at}`);
  };
  const skipSpace = () => {
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      at++;
    }
  };
  const parseString = (): string => {
    let end = at + 1;
    while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    if (end >= text.length) fail('Unterminated string');
    const value = JSON.parse(text.slice(at, end + 1)) as string;
    at = end + 1;
    return value;
  };
  const parseValue = (depth: number): ExactJson => {
    if (depth > MAX_DEPTH) fail('JSON nested too deeply');
    skipSpace();
    const c = text[at];
    if (c === '"') return parseString();
    if (c === '{') {
      at++;
      const object: { [key: string]: ExactJson } = {};
      skipSpace();
      if (text[at] === '}') {
        at++;
        return object;
      }
      for (;;) {
        skipSpace();
        if (text[at] !== '"') fail('Expected a property name');
        const key = parseString();
        skipSpace();
        if (text[at++] !== ':') fail('Expected ":"');
        // defineProperty, so that a "__proto__" key is data like in JSON.parse
        Object.defineProperty(object, key, {
          value: parseValue(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        skipSpace();
        const next = text[at++];
        if (next === '}') return object;
        if (next !== ',') fail('Expected "," or "}"');
      }
    }
    if (c === '[') {
      at++;
      const array: ExactJson[] = [];
      skipSpace();
      if (text[at] === ']') {
        at++;
        return array;
      }
      for (;;) {
        array.push(parseValue(depth + 1));
        skipSpace();
        const next = text[at++];
        if (next === ']') return array;
        if (next !== ',') fail('Expected "," or "]"');
      }
    }
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = at;
    const match = NUMBER.exec(text);
    if (!match) return fail('Unexpected token');
    at += match[0].length;
    const number = Number(match[0]);
    if (match[1] === undefined && match[2] === undefined && !Number.isSafeInteger(number)) {
      return BigInt(match[0]);
    }
    return number;
  };

  const value = parseValue(0);
  skipSpace();
  if (at < text.length) fail('Unexpected text after JSON');
  return value;
}
