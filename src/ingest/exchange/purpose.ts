/**
 * The PURPOSE text of NSE's corporate-action list (PR `bc` member), e.g.
 * `FVSPLT FRM RS 10 TO RS 5`, `BONUS 1:1`, `RIGHTS 45:301@PRM RS 290`,
 * `INTDIV - RS 7 PER SH`, `DEMERGER`, `AGM/DIVIDEND - RS 8 PER SHARE`.
 *
 * A text is split into parts at `/` (not at `/-`, as in `RS 10/-`) and at ` AND `;
 * each part gets a kind and, for the kinds that change the price scale, a factor:
 * - split of face value a → b (a > b): factor a/b (`FVSPLT FRM RS 10 TO RS 5` → 2);
 * - consolidation (face value up, a < b): factor a/b, below 1 (`FV CONSL FRM RS 1 TO RS 10` → 0.1);
 * - bonus a:b (a new shares for every b held): factor (a+b)/b (`BONUS 1:1` → 2).
 * Dividends, interest, rights, demergers and meetings are recognised but carry no
 * factor here (a rights or demerger adjustment needs prices this text does not have).
 * A part that fits no rule is `other`: the action is then "not understood" and listed.
 */
import type { ParsedPurpose, PurposePart } from './types.js';

const MONEY = String.raw`(?:RS\.?|RE\.?|INR|₹)?\s*(\d+(?:\.\d+)?)`;

function fvChange(p: string): { from: number; to: number } | null {
  const m = new RegExp(String.raw`(?:FRM|FROM)\s*${MONEY}\s*(?:\/-)?\s*(?:PER\s+(?:EQUITY\s+)?SHARES?\s*)?(?:TO)\s*${MONEY}`).exec(p);
  if (!m) return null;
  const from = Number(m[1]);
  const to = Number(m[2]);
  return from > 0 && to > 0 ? { from, to } : null;
}

function parsePart(text: string): PurposePart {
  const p = text.toUpperCase().replace(/\s+/g, ' ').trim();

  if (/\b(FV\s*SPLT|FV\s*SPLIT|FACE VALUE SPLIT|SPLIT|SUB-?DIVISION|FV\s*CONSL|CONSOLIDATION|CONSOLDN|FV\s*CONSOLIDATION)\b/.test(p) || /^FV\b/.test(p)) {
    const fv = fvChange(p);
    if (fv && fv.from !== fv.to) {
      const factor = fv.from / fv.to;
      return { kind: factor > 1 ? 'split' : 'consolidation', text, factor };
    }
    return { kind: 'other', text };
  }
  let m = /\bBONUS\s*(\d+)\s*:\s*(\d+)\b/.exec(p);
  if (m) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (a > 0 && b > 0) return { kind: 'bonus', text, factor: (a + b) / b, ratio: [a, b] };
    return { kind: 'other', text };
  }
  if (/\bBONUS\b/.test(p)) return { kind: 'other', text };
  m = /\bRIGHTS?\s*(\d+)\s*:\s*(\d+)(?:\s*@\s*(?:PRM|PREMIUM|PREM)?\s*(?:RS\.?|RE\.?)?\s*(\d+(?:\.\d+)?))?/.exec(p);
  if (m) {
    const part: PurposePart = { kind: 'rights', text, ratio: [Number(m[1]), Number(m[2])] };
    if (m[3] !== undefined) part.amountRs = Number(m[3]);
    return part;
  }
  if (/\bRIGHTS?\b/.test(p)) return { kind: 'rights', text };
  if (/\bDEMERGER\b/.test(p)) return { kind: 'demerger', text };
  if (/\b(INT\s*PAY|INTEREST)\b/.test(p) && !/\bDIV/.test(p)) return { kind: 'interest', text };
  if (/\b(DIVIDEND|DIV|INTDIV|FINDIV|SPLDIV|INT DIV|FIN DIV|SPL DIV)\b/.test(p) || /DIV\b/.test(p)) {
    const part: PurposePart = { kind: 'dividend', text };
    const amt = /(?:RS\.?|RE\.?)\s*(\d+(?:\.\d+)?)/.exec(p);
    if (amt) part.amountRs = Number(amt[1]);
    return part;
  }
  if (/^(AGM|EGM|ANNUAL GENERAL MEETING|EXTRA ?ORDINARY GENERAL MEETING)$/.test(p)) return { kind: 'meeting', text };
  return { kind: 'other', text };
}

export function parsePurpose(purpose: string): ParsedPurpose {
  const parts = purpose
    .split(/\/(?!-)|\s+AND\s+/i)
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '-')
    .map(parsePart);
  if (parts.length === 0) parts.push({ kind: 'other', text: purpose.trim() });
  const factor = parts.reduce((f, p) => f * (p.factor ?? 1), 1);
  return { parts, understood: parts.every((p) => p.kind !== 'other'), factor };
}
