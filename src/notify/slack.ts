/**
 * The Slack incoming-webhook message for a run, and one delivery attempt.
 *
 * The message has a plain `text` (what Slack shows in notifications and
 * clients without blocks) and `blocks`: a header, a failure section when the
 * run failed or exceeded its error budget, the date / model / counts, the
 * top HIGH-confidence upper-circuit candidates, and the run id.
 */
import {
  SLACK_TOP_N,
  describeModel,
  failureText,
  formatCount,
  formatFraction,
  formatProbability,
  driftText,
  headline,
  oneLine,
  scorecardText,
  type RunNotice,
} from './types.js';
import { formatDuration } from '../util/format.js';

export interface SlackText {
  type: 'plain_text' | 'mrkdwn';
  text: string;
}

export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/** Slack's mrkdwn control characters, escaped as its docs ask. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const md = (text: string): SlackText => ({ type: 'mrkdwn', text });

/** "1. *RELIANCE* Reliance Industries Ltd (BSE 500325) - 0.912" */
function candidateLine(c: RunNotice['topHighConfidence'][number]): string {
  const symbol = c.nse_symbol ? `*${escapeMrkdwn(c.nse_symbol)}* ` : '';
  return `${c.rank}. ${symbol}${escapeMrkdwn(oneLine(c.company_name, 80))} (BSE ${escapeMrkdwn(c.bse_code)}) - ${formatProbability(c.probability)}`;
}

export function renderSlack(n: RunNotice): SlackMessage {
  const c = n.counts;
  const blocks: SlackBlock[] = [];
  const title =
    n.status === 'succeeded'
      ? `stockflow predictions for ${n.predictionDate}`
      : n.status === 'budget_exceeded'
        ? `stockflow ${n.predictionDate}: error budget exceeded`
        : `stockflow ${n.predictionDate}: run FAILED`;
  blocks.push({ type: 'header', text: { type: 'plain_text', text: oneLine(title, 150) } });

  if (n.status === 'failed') {
    blocks.push({ type: 'section', text: md(`:rotating_light: *The batch run failed:* ${escapeMrkdwn(oneLine(failureText(n), 1500))}`) });
  } else if (n.status === 'budget_exceeded') {
    blocks.push({
      type: 'section',
      text: md(
        `:warning: *The run exceeded its error budget:* ${escapeMrkdwn(oneLine(failureText(n), 1500))}\n` +
          'Predictions were written, but too many stocks were skipped; treat them with care.',
      ),
    });
  }

  if (n.dataWarning) blocks.push({ type: 'section', text: md(`:warning: *Input data:* ${escapeMrkdwn(oneLine(n.dataWarning, 1500))}`) });

  const asOf = n.asOfSession && n.asOfSession !== n.predictionDate ? ` (data as of ${n.asOfSession})` : '';
  blocks.push({
    type: 'section',
    fields: [
      md(`*Date*\n${escapeMrkdwn(n.predictionDate)}${escapeMrkdwn(asOf)}`),
      md(`*Model*\n${escapeMrkdwn(describeModel(n.model))}`),
      md(`*Scored*\n${formatCount(c.processed)} of ${formatCount(c.universe)}`),
      md(`*Skipped*\n${formatCount(c.skipped)} (${formatFraction(c.skippedPct)})`),
      md(`*Predicted upper circuit*\n${formatCount(c.predictedUc)}`),
      md(`*Confidence*\nHIGH ${formatCount(c.high)} · MEDIUM ${formatCount(c.medium)} · LOW ${formatCount(c.low)}`),
    ],
  });

  const top = n.topHighConfidence.slice(0, SLACK_TOP_N);
  if (n.status !== 'failed' || top.length > 0) {
    const heading = `*Top ${SLACK_TOP_N} HIGH-confidence upper-circuit candidates*`;
    const body = top.length > 0 ? top.map(candidateLine).join('\n') : 'none';
    blocks.push({ type: 'section', text: md(`${heading}\n${body}`) });
  }

  const card = scorecardText(n);
  if (card) blocks.push({ type: 'section', text: md(`*Scorecard*\n${escapeMrkdwn(card)}`) });
  const drift = driftText(n);
  if (drift) blocks.push({ type: 'section', text: md(`:warning: *Drift*\n${escapeMrkdwn(drift)}`) });

  blocks.push({ type: 'context', elements: [md(`run ${escapeMrkdwn(n.runId)} · took ${formatDuration(n.durationMs)}`)] });
  return { text: headline(n), blocks };
}

/** Thrown for a non-2xx answer; the body is cut short (it may echo the request). */
export class WebhookHttpError extends Error {
  constructor(
    readonly status: number,
    statusText: string,
    body: string,
  ) {
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ''}${body ? `: ${oneLine(body, 200)}` : ''}`);
    this.name = 'WebhookHttpError';
  }
}

/**
 * One POST of `message` to the webhook. Resolves on a 2xx answer; throws on
 * any other answer, a network error, or no complete answer within `timeoutMs`.
 */
export async function postSlack(url: string, message: SlackMessage, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw timeoutOr(e, timeoutMs);
  }
  let body: string;
  try {
    body = await res.text();
  } catch (e) {
    throw timeoutOr(e, timeoutMs);
  }
  if (!res.ok) throw new WebhookHttpError(res.status, res.statusText, body);
}

function timeoutOr(e: unknown, timeoutMs: number): unknown {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return new Error(`no answer from the webhook within ${timeoutMs} ms (timed out)`);
  }
  return e;
}
