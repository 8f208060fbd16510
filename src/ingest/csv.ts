/**
 * Reading an import CSV as a stream of records with their source line
 * numbers, so files larger than memory can be imported.
 *
 * RFC 4180 via csv-parse: quoted fields may hold commas, quotes ("") and line
 * breaks; a UTF-8 byte-order mark is dropped; fields are trimmed; blank lines
 * are skipped. Line endings (CRLF, LF, or a lone CR) are normalised to LF
 * before parsing, and lines are counted here rather than with csv-parse's
 * `info` (which miscounts CRLF inside quoted fields and costs more than the
 * rest of the parse): every source line break outside quotes ends a record,
 * so a record starts one line after the previous one ended. `line` is thus
 * exact: the 1-based line of the source file where the record starts, the
 * header being line 1 when the file starts with it.
 */
import { createReadStream } from 'node:fs';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { StockflowError } from '../errors.js';

export interface CsvRecord {
  fields: string[];
  /** The source line the record starts on (1-based). */
  line: number;
}

/** CRLF and lone CR → LF, across chunk boundaries. */
class CrlfToLf extends Transform {
  private pendingCr = false;

  constructor() {
    super({ decodeStrings: false, encoding: 'utf8' });
  }

  override _transform(chunk: string | Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let s = (this.pendingCr ? '\r' : '') + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    this.pendingCr = s.endsWith('\r');
    if (this.pendingCr) s = s.slice(0, -1);
    done(null, s.replace(/\r\n?/g, '\n'));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.pendingCr ? '\n' : '');
  }
}

function countNewlines(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The records of a CSV file, header included. A file that is not valid CSV
 * (an unclosed or misplaced quote) throws IMPORT_REJECTED naming the line.
 */
export async function* readCsv(file: string, label = file): AsyncGenerator<CsvRecord> {
  const parser = parse({
    bom: true,
    trim: true,
    record_delimiter: '\n',
    relax_column_count: true,
    // Blank lines come through as [''] so that they can be counted; the caller skips empty records.
    skip_empty_lines: false,
  });
  pipeline(createReadStream(file, { encoding: 'utf8' }), new CrlfToLf(), parser, () => {
    // Errors reach the consumer through the parser's iterator; early exits are fine.
  });
  let line = 1;
  try {
    for await (const fields of parser as AsyncIterable<string[]>) {
      const start = line;
      line += 1 + countNewlines(fields);
      if (fields.length === 1 && fields[0] === '') continue;
      yield { fields, line: start };
    }
  } catch (e) {
    if (e instanceof CsvError) {
      throw new StockflowError('IMPORT_REJECTED', `${label} is not valid CSV: ${e.message}; database unchanged`, { cause: e });
    }
    throw e;
  }
}
