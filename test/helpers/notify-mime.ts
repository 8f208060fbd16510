/**
 * Just enough of MIME (RFC 2045/2046/2047) to read back a message the tests
 * sent: headers (unfolded, encoded words decoded), multipart bodies, and the
 * base64 / quoted-printable transfer encodings. Written for the tests, not
 * taken from nodemailer, so that it checks nodemailer's output independently.
 */

export interface MimePart {
  /** Header names in lower case; values unfolded, not decoded. */
  headers: Map<string, string>;
  /** The raw body (one char per byte, latin1), before transfer decoding. */
  rawBody: string;
  parts: MimePart[];
}

/** Parses a whole message (as bytes). Line ends are taken as CRLF. */
export function parseMime(raw: Buffer): MimePart {
  return parsePart(raw.toString('latin1').replace(/\r?\n/g, '\r\n'));
}

function parsePart(text: string): MimePart {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const rawBody = split < 0 ? '' : text.slice(split + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const part: MimePart = { headers, rawBody, parts: [] };
  const type = headers.get('content-type') ?? 'text/plain';
  if (/^multipart\//i.test(type)) {
    const boundary = param(type, 'boundary');
    if (!boundary) throw new Error(`multipart without a boundary: ${type}`);
    part.parts = splitMultipart(rawBody, boundary).map(parsePart);
  }
  return part;
}

function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const line of body.split('\r\n')) {
    const trimmed = line.replace(/[ \t]+$/, '');
    if (trimmed === `${delimiter}--`) {
      if (current) parts.push(current.join('\r\n'));
      return parts;
    }
    if (trimmed === delimiter) {
      if (current) parts.push(current.join('\r\n'));
      current = [];
      continue;
    }
    current?.push(line);
  }
  throw new Error('multipart body has no closing delimiter');
}

/** A parameter of a structured header: `boundary` of `multipart/mixed; boundary="x"`. */
export function param(headerValue: string, name: string): string | undefined {
  const re = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, 'i');
  const m = re.exec(headerValue);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/** The body's bytes after undoing its Content-Transfer-Encoding. */
export function decodeBody(part: MimePart): Buffer {
  const cte = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'base64') return Buffer.from(part.rawBody.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable') return decodeQuotedPrintable(part.rawBody);
  return Buffer.from(part.rawBody, 'latin1');
}

/** RFC 2045 §6.7: `=XX` is a byte, `=` at a line end is a soft break. */
export function decodeQuotedPrintable(s: string): Buffer {
  const text = s.replace(/[ \t]+\r\n/g, '\r\n').replace(/=\r\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`) in a header value, decoded. */
export function decodeHeader(value: string): string {
  const word = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  // whitespace between two adjacent encoded words is not part of the text
  const joined = value.replace(/(\?=)\s+(?==\?)/g, '$1');
  return joined.replace(word, (_all, charset: string, enc: string, data: string) => {
    const bytes =
      enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64')
        : decodeQuotedPrintable(data.replace(/_/g, ' '));
    if (!/^utf-?8$/i.test(charset)) throw new Error(`unexpected charset ${charset}`);
    return bytes.toString('utf8');
  });
}

/** Every leaf part, depth first. */
export function leaves(part: MimePart): MimePart[] {
  return part.parts.length === 0 ? [part] : part.parts.flatMap(leaves);
}
