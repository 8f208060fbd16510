/**
 * Reading an import CSV as a stream of records with their source line
 * numbers, so files larger than memory can be imported.
 *
 * RFC 4180 via csv-parse: quoted fields may hold commas, quotes ("") and line
 * breaks; a UTF-8 byte-order mark is dropped; bytes that are not valid UTF-8
 * come through as INVALID_BYTE (the row is then rejected, not stored mangled); fields are trimmed; blank lines
 * are skipped. Line endings (CRLF, LF, or a lone CR) are normalised to LF
 * before parsing, and lines are counted here rather than with csv-parse's
 * `info` (which miscounts CRLF inside quoted fields and costs more than the
 * rest of the parse): every source line break outside quotes ends a record,
 * so a record starts one line after the previous one ended. `line` is thus
 * exact: the 1-based line of the source file where the record starts, the
 * header being line 1 when the file starts with it.
 */
import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { StockflowError } from '../errors.js';

/** Most characters one record (a row, with any quoted line breaks) may have (docs/csv-formats.md, Limits). */
export const MAX_RECORD_CHARS = 65_536;

export interface CsvRecord {
  fields: string[];
  /** The source line the record starts on (1-based). */
  line: number;
}

/**
 * Stands in for each byte that is not part of valid UTF-8 (a U+FDD0
 * noncharacter, which no text file has a reason to hold): rows holding it are
 * rejected as "not valid UTF-8" (validate.ts) instead of being stored with
 * U+FFFD replacement characters.
 */
export const INVALID_BYTE = '\uFDD0';
const INVALID_BYTE_UTF8 = Buffer.from(INVALID_BYTE, 'utf8');

/**
 * Whether any INVALID_BYTE has reached the parser so far (a byte that is not UTF-8, or a U+FDD0 the file spelled
 * itself): while it has not, no record can hold one, and a reader need not look for it field by field.
 */
export interface CsvMarks {
  invalidByte: boolean;
  /** Whether any `"` has reached the parser so far: until one has, no field can hold a line break. */
  quote?: boolean;
}

/** Length of the UTF-8 sequence a lead byte starts (0: not a lead byte). */
function seqLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** Whether bytes[i…i+n) is one valid UTF-8 sequence (no overlongs, no surrogates, ≤ U+10FFFF). */
function validSeq(bytes: Buffer, i: number, n: number): boolean {
  const b0 = bytes[i];
  for (let k = 1; k < n; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return false;
  if (n === 3) {
    const b1 = bytes[i + 1];
    if (b0 === 0xe0 && b1 < 0xa0) return false;
    if (b0 === 0xed && b1 > 0x9f) return false;
  }
  if (n === 4) {
    const b1 = bytes[i + 1];
    if (b0 === 0xf0 && b1 < 0x90) return false;
    if (b0 === 0xf4 && b1 > 0x8f) return false;
  }
  return true;
}

/** Decodes bytes that are not all valid UTF-8, one INVALID_BYTE per byte that is not. */
function decodeMarking(bytes: Buffer): string {
  let out = '';
  let from = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = seqLength(bytes[i]);
    if (n > 0 && i + n <= bytes.length && validSeq(bytes, i, n)) {
      i += n;
      continue;
    }
    out += bytes.toString('utf8', from, i) + INVALID_BYTE;
    i += 1;
    from = i;
  }
  return out + bytes.toString('utf8', from, bytes.length);
}

/** Start of an incomplete UTF-8 sequence at the end of `bytes` (bytes.length when there is none). */
function incompleteTail(bytes: Buffer): number {
  for (let k = 1; k <= 3 && k <= bytes.length; k++) {
    const b = bytes[bytes.length - k];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const n = seqLength(b);
    return n > k ? bytes.length - k : bytes.length;
  }
  return bytes.length;
}

/**
 * Bytes → bytes the parser reads: valid UTF-8 passed through as it is (no decode and re-encode: the parser
 * works on bytes), every byte that is not valid UTF-8 as INVALID_BYTE, CRLF and lone CR as LF; a UTF-8
 * sequence or a CRLF split across chunks is joined.
 */
class Utf8Lf extends Transform {
  private carry: Buffer = Buffer.alloc(0);
  private pendingCr = false;

  constructor(private readonly marks: CsvMarks) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = incompleteTail(bytes);
    this.carry = Buffer.from(bytes.subarray(cut));
    done(null, this.note(this.lf(bytes.subarray(0, cut))));
  }

  override _flush(done: TransformCallback): void {
    const tail = this.carry.length > 0 ? this.lf(this.carry) : Buffer.alloc(0);
    done(null, this.note(this.pendingCr ? Buffer.concat([tail, Buffer.from('\n')]) : tail));
  }

  /** Notes an INVALID_BYTE on its way to the parser (before the parser can make a record of it). */
  private note(out: Buffer): Buffer {
    if (!this.marks.invalidByte && out.includes(INVALID_BYTE_UTF8)) this.marks.invalidByte = true;
    if (this.marks.quote !== true && out.includes(0x22)) this.marks.quote = true;
    return out;
  }

  /** Valid or marked UTF-8 with LF line ends; a CR at the very end waits for the next chunk. */
  private lf(body: Buffer): Buffer {
    let b = isUtf8(body) ? body : Buffer.from(decodeMarking(body), 'utf8');
    const pending = this.pendingCr;
    if (!pending && b.indexOf(13) === -1) return b;
    if (pending) b = Buffer.concat([Buffer.from('\r'), b]);
    this.pendingCr = b.length > 0 && b[b.length - 1] === 13;
    const end = this.pendingCr ? b.length - 1 : b.length;
    const out = Buffer.allocUnsafe(end);
    let n = 0;
    for (let i = 0; i < end; i++) {
      const c = b[i];
      if (c !== 13) out[n++] = c;
      else {
        out[n++] = 10;
        if (i + 1 < end && b[i + 1] === 10) i++;
      }
    }
    return out.subarray(0, n);
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
export function readCsv(file: string, label = file): AsyncGenerator<CsvRecord> {
  return readCsvStream(createReadStream(file), label);
}

/** The records of CSV bytes from any stream (a file, a zip member), as `readCsv`; `label` names the source in errors. */
export async function* readCsvStream(input: Readable, label: string): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvBatches(input, label)) yield* batch;
}

/** Records handed over at most this many at a time (one await per batch, not per record). */
const BATCH = 512;

/**
 * The records of CSV bytes from any stream, in batches (as many as the parser has ready, up to BATCH): the
 * same records, lines and errors as `readCsvStream`, with one await per batch instead of one per record.
 */
export async function* readCsvBatches(input: Readable, label: string, marks: CsvMarks = { invalidByte: false }): AsyncGenerator<CsvRecord[]> {
  const parser = parse({
    bom: true,
    trim: true,
    record_delimiter: '\n',
    relax_column_count: true,
    // Blank lines come through as [''] so that they can be counted; the caller skips empty records.
    skip_empty_lines: false,
    // Memory bound: one record (one row, quoted line breaks included) may not exceed this.
    max_record_size: MAX_RECORD_CHARS,
  });
  pipeline(input, new Utf8Lf(marks), parser, () => {
    // Errors reach the consumer through the parser's 'error' event; early exits are fine.
  });
  let queue: string[][] = [];
  let ended = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  parser.on('data', (fields: string[]) => {
    queue.push(fields);
    if (queue.length >= BATCH) parser.pause();
    signal();
  });
  parser.on('end', () => {
    ended = true;
    signal();
  });
  parser.on('error', (e: unknown) => {
    failure ??= e;
    ended = true;
    signal();
  });
  let line = 1;
  let finished = false;
  try {
    for (;;) {
      if (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
      if (queue.length > 0) {
        const got = queue;
        queue = [];
        const out: CsvRecord[] = [];
        for (const fields of got) {
          const start = line;
          line += marks.quote === true ? 1 + countNewlines(fields) : 1;
          if (fields.length === 1 && fields[0] === '') continue;
          out.push({ fields, line: start });
        }
        if (!ended) parser.resume();
        if (out.length > 0) yield out;
        continue;
      }
      if (failure !== null) throw failure;
      finished = true;
      return;
    }
  } catch (e) {
    if (e instanceof CsvError && e.code === 'CSV_MAX_RECORD_SIZE') {
      throw new StockflowError('IMPORT_REJECTED', `${label}: the record starting on line ${line} is longer than ${MAX_RECORD_CHARS} characters (an unclosed quote?); database unchanged`, { cause: e });
    }
    if (e instanceof CsvError) {
      throw new StockflowError('IMPORT_REJECTED', `${label} is not valid CSV: ${e.message}; database unchanged`, { cause: e });
    }
    throw e;
  } finally {
    // The consumer stopped early (or failed): stop reading the source.
    if (!finished) parser.destroy();
  }
}
