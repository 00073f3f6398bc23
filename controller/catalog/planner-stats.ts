// Gathering the planner's statistics on the files table as it grows, which PGlite never does by itself.
import type { SqlClient } from './sql-client.js';

/**
 * PGlite has no autovacuum, so nothing would ever gather the planner's statistics: without them
 * it guesses every filter rare and scans the whole table for a `--model` search (210 ms over 200k
 * rows instead of 6). The catalog runs ANALYZE itself once this many rows were added, and again
 * each time the table has doubled since, so it costs a handful of runs over a catalog's life.
 */
const ANALYZE_AFTER_ROWS = 1000;

/**
 * Counts the rows one catalog adds and runs ANALYZE when the table has doubled. Belongs to one
 * SqlCatalog; its counts are plain fields, as JavaScript runs one noteAdded at a time.
 */
export class PlannerStats {
  /** Rows added since the planner statistics were last gathered, and how many to wait for. */
  private addedSinceAnalyze = 0;
  private analyzeAfter = ANALYZE_AFTER_ROWS;

  constructor(private readonly db: SqlClient) {}

  /**
   * A catalog filled before the catalog gathered statistics itself has none; gathering them once
   * takes about half a second at 200k rows. Later growth is caught by noteAdded.
   */
  async analyzeIfNeverDone(): Promise<void> {
    const { rows } = await this.db.query<{ reltuples: number; filled: boolean }>(
      `SELECT reltuples, EXISTS (SELECT 1 FROM files) AS filled FROM pg_class WHERE oid = 'files'::regclass`,
    );
    const row = rows[0];
    if (row && Number(row.reltuples) < 0 && row.filled) await this.analyze();
    else if (row) this.analyzeAfter = Math.max(ANALYZE_AFTER_ROWS, Number(row.reltuples));
  }

  /** Counts added rows and gathers statistics when the table has doubled; a failure only costs speed. */
  async noteAdded(count: number): Promise<void> {
    this.addedSinceAnalyze += count;
    if (this.addedSinceAnalyze < this.analyzeAfter) return;
    await this.analyze().catch(() => {
      this.addedSinceAnalyze = 0; // try again after as many rows
    });
  }

  private async analyze(): Promise<void> {
    await this.db.exec('ANALYZE files');
    const { rows } = await this.db.query<{ reltuples: number }>(
      `SELECT reltuples FROM pg_class WHERE oid = 'files'::regclass`,
    );
    this.addedSinceAnalyze = 0;
    this.analyzeAfter = Math.max(ANALYZE_AFTER_ROWS, Number(rows[0]?.reltuples ?? 0));
  }
}
