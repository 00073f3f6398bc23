// Ends a stream whose sender went silent: a peer that died without closing the connection must not hang a sync.
import { type Readable, Transform, pipeline } from 'node:stream';

/**
 * Passes `source` through, and fails the result with `error()` when no data has arrived for `ms`
 * while nothing is waiting to be read. A reader that is merely slow (data buffered) is left alone.
 */
export function watchIdle(source: Readable, ms: number, error: () => Error): Readable {
  let timer: NodeJS.Timeout | undefined;
  const watched = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
  });
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (watched.readableLength > 0 || watched.writableLength > 0) arm();
      else watched.destroy(error());
    }, ms);
    timer.unref();
  };
  watched.once('close', () => clearTimeout(timer));
  pipeline(source, watched, () => undefined);
  arm();
  return watched;
}
