/** Text into HTML: the five characters that could end an element or an attribute. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A number with thousands separators (10,856). */
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
/** A fraction as a percentage with one decimal (0.0133 → 1.3%). */
export const pct1 = (x: number): string => `${(100 * x).toFixed(1)}%`;
/** n as a percentage of `of` (0.0% when `of` is 0). */
export const pctOf = (n: number, of: number): string => (of > 0 ? pct1(n / of) : '0.0%');
